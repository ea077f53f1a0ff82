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

Status PublishJobCounts(MetricsRegistry& registry, JobStore& jobs) {
  STEREOSPOT_ASSIGN_OR_RETURN(auto counts, jobs.CountByStatus());
  for (JobStatus status : kAllJobStatuses) {
    if (status == JobStatus::kDeleted) continue;
    STEREOSPOT_ASSIGN_OR_RETURN(
        Gauge * gauge, registry.GetGauge(std::string(kJobsByStatus), "Jobs by status.",
                                         {{"status", std::string(JobStatusName(status))}}));
    auto it = counts.find(status);
    gauge->Set(it == counts.end() ? 0.0 : static_cast<double>(it->second));
  }
  return Status::OK();
}

}  // namespace stereospot::pipeline
