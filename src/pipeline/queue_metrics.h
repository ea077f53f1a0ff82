// Queue depth gauges (DESIGN.md section 9): stereospot_queue_depth{queue, state} with state one
// of visible, in_flight, delayed, dead_letter, refreshed from WorkQueue::Depth on demand (for
// example just before /metrics renders); and the jobs-by-status gauge stereospot_jobs{status}.
#pragma once

#include <span>

#include "core/status.h"
#include "pipeline/metrics.h"
#include "ports/job_store.h"
#include "ports/work_queue.h"

namespace stereospot::pipeline {

inline constexpr std::string_view kQueueDepth = "stereospot_queue_depth";

// Sets the four gauges of every queue in `queues` (non-null). A queue whose Depth fails keeps its
// previous values; the first such error is returned after the others were still refreshed.
// Thread-safe as the registry and queues are.
Status PublishQueueDepths(MetricsRegistry& registry, std::span<WorkQueue* const> queues);

inline constexpr std::string_view kJobsByStatus = "stereospot_jobs";

// Sets stereospot_jobs{status} for every status but deleted (0 where there is none) from one
// JobStore::CountByStatus. On error the gauges keep their previous values.
Status PublishJobCounts(MetricsRegistry& registry, JobStore& jobs);

}  // namespace stereospot::pipeline
