#include "pipeline/trigger.h"

#include <string>

#include "core/log.h"
#include "core/messages.h"

namespace stereospot::pipeline {
namespace {

const Logger& TriggerLogger() {
  static const Logger logger("stereospot.trigger");
  return logger;
}

void CountTrigger(MetricsRegistry* metrics) {
  if (metrics == nullptr) return;
  auto counter = metrics->GetCounter(kReassemblyTriggersTotal,
                                     "Reassembly triggers fired (jobs moved to reassembling).");
  if (counter.ok()) (*counter)->Increment();
}

}  // namespace

std::string_view TriggerOutcomeName(TriggerOutcome outcome) {
  switch (outcome) {
    case TriggerOutcome::kNotReady:
      return "not_ready";
    case TriggerOutcome::kAlreadyTriggered:
      return "already_triggered";
    case TriggerOutcome::kTriggered:
      return "triggered";
  }
  return "unknown";
}

Status SendReassemblyMessage(WorkQueue& reassembly_queue, std::string_view job_id) {
  return reassembly_queue.Send(EncodeJobMessage(JobMessage{std::string(job_id)})).status();
}

Result<TriggerOutcome> MaybeTriggerReassembly(JobStore& jobs, WorkQueue& reassembly_queue,
                                              std::string_view job_id, MetricsRegistry* metrics) {
  STEREOSPOT_ASSIGN_OR_RETURN(Job job, jobs.Get(job_id));
  if (job.status != JobStatus::kChunkingComplete) {
    return job.status == JobStatus::kReassembling || job.status == JobStatus::kCompleted
               ? TriggerOutcome::kAlreadyTriggered
               : TriggerOutcome::kNotReady;
  }
  STEREOSPOT_ASSIGN_OR_RETURN(int completions, jobs.CountCompletions(job_id));
  if (job.total_segments <= 0 || completions < job.total_segments) return TriggerOutcome::kNotReady;
  if (completions > job.total_segments) {
    return Status::Internal("job " + job.job_id + " has " + std::to_string(completions) +
                            " completions for " + std::to_string(job.total_segments) + " segments");
  }
  STEREOSPOT_ASSIGN_OR_RETURN(bool created, jobs.CreateTriggerOnce(job_id));
  if (!created) return TriggerOutcome::kAlreadyTriggered;
  return ResumeTrigger(jobs, reassembly_queue, job_id, metrics);
}

Result<TriggerOutcome> ResumeTrigger(JobStore& jobs, WorkQueue& reassembly_queue,
                                     std::string_view job_id, MetricsRegistry* metrics) {
  Status moved =
      jobs.TransitionStatus(job_id, JobStatus::kChunkingComplete, JobStatus::kReassembling);
  if (moved.IsConflict()) return TriggerOutcome::kAlreadyTriggered;
  STEREOSPOT_RETURN_IF_ERROR(moved.WithContext("moving job to reassembling"));
  // From here a lost message is recovered by the janitor's re-send for reassembling jobs whose
  // lease was never taken.
  Status sent = SendReassemblyMessage(reassembly_queue, job_id);
  if (!sent.ok()) {
    TriggerLogger().Error(
        "job is reassembling but its reassembly message was not sent; the "
        "janitor will re-send it",
        {{"job_id", std::string(job_id)}, {"reason", sent.ToString()}});
    return sent.WithContext("sending the reassembly message");
  }
  TriggerLogger().Info("reassembly triggered", {{"job_id", std::string(job_id)}});
  CountTrigger(metrics);
  return TriggerOutcome::kTriggered;
}

}  // namespace stereospot::pipeline
