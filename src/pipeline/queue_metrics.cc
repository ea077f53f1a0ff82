#include "pipeline/queue_metrics.h"

#include <string>
#include <utility>

namespace stereospot::pipeline {

Status PublishQueueDepths(MetricsRegistry& registry, std::span<WorkQueue* const> queues) {
  Status first_error;
  for (WorkQueue* queue : queues) {
    Result<QueueDepth> depth = queue->Depth();
    if (!depth.ok()) {
      if (first_error.ok()) first_error = depth.status().WithContext("depth of " + queue->name());
      continue;
    }
    const std::pair<const char*, std::int64_t> states[] = {{"visible", depth->visible},
                                                           {"in_flight", depth->in_flight},
                                                           {"delayed", depth->delayed},
                                                           {"dead_letter", depth->dead_letter}};
    for (const auto& [state, value] : states) {
      auto gauge = registry.GetGauge(kQueueDepth, "Messages in a queue, by state.",
                                     {{"queue", queue->name()}, {"state", state}});
      if (!gauge.ok()) return gauge.status();
      (*gauge)->Set(static_cast<double>(value));
    }
  }
  return first_error;
}

}  // namespace stereospot::pipeline
