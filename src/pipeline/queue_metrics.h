// Queue depth gauges (DESIGN.md section 9): stereospot_queue_depth{queue, state} with state one
// of visible, in_flight, delayed, dead_letter, refreshed from WorkQueue::Depth on demand (for
// example just before /metrics renders).
#pragma once

#include <span>

#include "core/status.h"
#include "pipeline/metrics.h"
#include "ports/work_queue.h"

namespace stereospot::pipeline {

inline constexpr std::string_view kQueueDepth = "stereospot_queue_depth";

// Sets the four gauges of every queue in `queues` (non-null). A queue whose Depth fails keeps its
// previous values; the first such error is returned after the others were still refreshed.
// Thread-safe as the registry and queues are.
Status PublishQueueDepths(MetricsRegistry& registry, std::span<WorkQueue* const> queues);

}  // namespace stereospot::pipeline
