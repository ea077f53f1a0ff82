#include "pipeline/janitor.h"

#include <algorithm>

#include "core/log.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "pipeline/trigger.h"

namespace stereospot::pipeline {
namespace {

const Logger& JanitorLogger() {
  static const Logger logger("stereospot.janitor");
  return logger;
}

constexpr JobStatus kActiveStatuses[] = {JobStatus::kCreated, JobStatus::kChunkingInProgress,
                                         JobStatus::kChunkingComplete, JobStatus::kReassembling};
constexpr JobStatus kFinishedStatuses[] = {JobStatus::kCompleted, JobStatus::kFailed,
                                           JobStatus::kCancelled};

bool LeaseLive(const ReassemblyTrigger& trigger, std::int64_t now) {
  return !trigger.lease_owner.empty() && trigger.lease_expires_at > now;
}

}  // namespace

Janitor::Janitor(JobStore& jobs, WorkQueue& reassembly_queue, ObjectStore& objects,
                 JanitorOptions options)
    : jobs_(jobs),
      reassembly_queue_(reassembly_queue),
      objects_(objects),
      options_(std::move(options)) {}

std::int64_t Janitor::Now() const {
  return options_.clock_for_testing ? options_.clock_for_testing() : NowMillis();
}

Status Janitor::ForEachJob(JobStatus status, const std::function<void(const Job&)>& visit) {
  JobListQuery query;
  query.status = status;
  query.limit = std::clamp(options_.page_size, 1, 500);
  do {
    STEREOSPOT_ASSIGN_OR_RETURN(JobPage page, jobs_.List(query));
    for (const Job& job : page.jobs) visit(job);
    query.cursor = page.next_cursor;
  } while (!query.cursor.empty());
  return Status::OK();
}

Result<JanitorFindings> Janitor::RunOnce() {
  std::lock_guard<std::mutex> lock(mutex_);
  JanitorFindings findings;
  FailFromDeadLetters(findings);
  std::set<std::string> reassembling_seen;
  std::set<std::string> triggered;
  for (JobStatus status : kActiveStatuses) {
    STEREOSPOT_RETURN_IF_ERROR(ForEachJob(status, [&](const Job& job) {
      // A job this pass just moved to reassembling has its message; it is neither late nor
      // stalled.
      if (triggered.contains(job.job_id)) return;
      if (status == JobStatus::kChunkingComplete) {
        RecoverTrigger(job, findings);
        if (!findings.triggers_rerun.empty() && findings.triggers_rerun.back() == job.job_id) {
          triggered.insert(job.job_id);
          return;
        }
      }
      if (status == JobStatus::kReassembling) {
        reassembling_seen.insert(job.job_id);
        RecoverReassembly(job, findings);
      }
      CheckStalled(job, findings);
    }));
  }
  std::erase_if(last_resend_,
                [&](const auto& entry) { return !reassembling_seen.contains(entry.first); });

  std::set<std::string> finished_seen;
  for (JobStatus status : kFinishedStatuses) {
    STEREOSPOT_RETURN_IF_ERROR(ForEachJob(status, [&](const Job& job) {
      finished_seen.insert(job.job_id);
      DeleteIntermediates(job, findings);
    }));
  }
  std::erase_if(cleaned_, [&](const std::string& id) { return !finished_seen.contains(id); });
  Publish(findings);
  return findings;
}

void Janitor::FailFromDeadLetters(JanitorFindings& findings) {
  for (const auto& [queue, stage] : options_.dead_letter_stages) {
    auto dead = queue->ListDeadLetters(1000);
    if (!dead.ok()) {
      NoteError("?", dead.status().WithContext("listing " + queue->name() + " dead letters"),
                findings);
      continue;
    }
    for (const QueueMessage& message : *dead) {
      auto decoded = DecodeJobMessage(message.body);  // segment bodies carry job_id too
      if (!decoded.ok()) continue;
      const std::string& job_id = decoded->job_id;
      auto job = jobs_.Get(job_id);
      if (!job.ok()) continue;  // deleted jobs' dead letters are for the operator to purge
      const bool running = job->status == JobStatus::kChunkingInProgress ||
                           job->status == JobStatus::kChunkingComplete ||
                           job->status == JobStatus::kReassembling;
      if (!running || message.sent_at < job->started_at) continue;
      JobUpdate update;
      update.error = JobError{stage, "the " + queue->name() +
                                         " message was moved to the dead-letter queue "
                                         "after " +
                                         std::to_string(message.receive_count) + " deliveries (" +
                                         message.dead_letter_reason + ")"};
      Status failed = jobs_.TransitionStatus(job_id, job->status, JobStatus::kFailed, update);
      if (failed.IsConflict()) continue;  // it moved on; the next pass looks again
      if (!failed.ok()) {
        NoteError(job_id, failed, findings);
        continue;
      }
      findings.failed_from_dead_letters.push_back(job_id);
      JanitorLogger().Error("job failed: its message is in the dead-letter queue",
                            {{"job_id", job_id},
                             {"queue", queue->name()},
                             {"stage", stage},
                             {"receive_count", message.receive_count}});
    }
  }
}

void Janitor::RecoverTrigger(const Job& job, JanitorFindings& findings) {
  Result<TriggerOutcome> outcome =
      MaybeTriggerReassembly(jobs_, reassembly_queue_, job.job_id, options_.metrics);
  if (!outcome.ok()) return NoteError(job.job_id, outcome.status(), findings);
  if (*outcome == TriggerOutcome::kAlreadyTriggered) {
    // The trigger exists while the job is still chunking_complete: its creator is either on its
    // way (within the grace) or crashed before moving the job and sending the message.
    Result<ReassemblyTrigger> trigger = jobs_.GetTrigger(job.job_id);
    if (!trigger.ok()) return NoteError(job.job_id, trigger.status(), findings);
    if (Now() - trigger->created_at < options_.recovery_grace.count()) return;
    outcome = ResumeTrigger(jobs_, reassembly_queue_, job.job_id, options_.metrics);
    if (!outcome.ok()) return NoteError(job.job_id, outcome.status(), findings);
  }
  if (*outcome == TriggerOutcome::kTriggered) {
    JanitorLogger().Warn("re-ran a missed reassembly trigger",
                         {{"job_id", job.job_id}, {"total_segments", job.total_segments}});
    findings.triggers_rerun.push_back(job.job_id);
  }
}

void Janitor::RecoverReassembly(const Job& job, JanitorFindings& findings) {
  const std::int64_t now = Now();
  Result<ReassemblyTrigger> trigger = jobs_.GetTrigger(job.job_id);
  if (!trigger.ok() && trigger.status().IsNotFound()) {
    // A reassembling job needs a trigger row to hold the lease (an operator may have moved it).
    Result<bool> created = jobs_.CreateTriggerOnce(job.job_id);
    if (!created.ok()) return NoteError(job.job_id, created.status(), findings);
    trigger = jobs_.GetTrigger(job.job_id);
  }
  if (!trigger.ok()) return NoteError(job.job_id, trigger.status(), findings);
  if (LeaseLive(*trigger, now)) return;
  // Waiting since the job became reassembling or the last lease ran out, whichever is later.
  const std::int64_t waiting_since = std::max(job.updated_at, trigger->lease_expires_at);
  if (now - waiting_since < options_.recovery_grace.count()) return;
  auto last = last_resend_.find(job.job_id);
  if (last != last_resend_.end() && now - last->second < options_.recovery_grace.count()) return;

  Status sent = SendReassemblyMessage(reassembly_queue_, job.job_id);
  if (!sent.ok()) return NoteError(job.job_id, sent, findings);
  last_resend_[job.job_id] = now;
  JanitorLogger().Warn("re-sent the reassembly message",
                       {{"job_id", job.job_id},
                        {"reason", std::string(trigger->lease_owner.empty() ? "lease never taken"
                                                                            : "lease expired")},
                        {"lease_owner", trigger->lease_owner}});
  findings.reassembly_resent.push_back(job.job_id);
}

void Janitor::CheckStalled(const Job& job, JanitorFindings& findings) {
  if (job.status == JobStatus::kCreated && job.uploaded_at == 0) return;
  const std::int64_t now = Now();
  std::int64_t last_progress = job.updated_at;
  if (now - last_progress < options_.stalled_after.count()) return;
  // Completions and lease renewals are progress that does not touch the job row.
  if (job.status == JobStatus::kChunkingInProgress || job.status == JobStatus::kChunkingComplete) {
    Result<std::vector<SegmentCompletion>> completions = jobs_.ListCompletions(job.job_id);
    if (!completions.ok()) return NoteError(job.job_id, completions.status(), findings);
    for (const SegmentCompletion& c : *completions) {
      last_progress = std::max(last_progress, c.completed_at);
    }
  } else if (job.status == JobStatus::kReassembling) {
    Result<ReassemblyTrigger> trigger = jobs_.GetTrigger(job.job_id);
    if (trigger.ok() && LeaseLive(*trigger, now)) return;
  }
  const std::int64_t idle_ms = now - last_progress;
  if (idle_ms < options_.stalled_after.count()) return;
  JanitorLogger().Error("job stalled: no progress",
                        {{"job_id", job.job_id},
                         {"status", std::string(JobStatusName(job.status))},
                         {"idle_seconds", idle_ms / 1000},
                         {"stalled", true}});
  findings.stalled.push_back({job.job_id, job.status, idle_ms});
}

void Janitor::DeleteIntermediates(const Job& job, JanitorFindings& findings) {
  if (cleaned_.contains(job.job_id)) return;
  if (Now() - job.updated_at < options_.retention.count()) return;
  // Read again: a retry may have moved the job back to created since the listing.
  Result<Job> current = jobs_.Get(job.job_id);
  if (!current.ok()) return NoteError(job.job_id, current.status(), findings);
  if (current->status != job.status || current->updated_at != job.updated_at) return;

  Result<std::string> segments = SegmentsPrefix(job.job_id);
  Result<std::string> outputs = JobOutputPrefix(job.job_id);
  if (!segments.ok()) return NoteError(job.job_id, segments.status(), findings);
  if (!outputs.ok()) return NoteError(job.job_id, outputs.status(), findings);
  std::uint64_t removed = 0;
  for (const std::string& prefix : {*segments, *outputs + "segments/"}) {
    Result<std::uint64_t> count = objects_.DeletePrefix(prefix);
    if (!count.ok()) return NoteError(job.job_id, count.status(), findings);
    removed += *count;
  }
  cleaned_.insert(job.job_id);
  if (removed == 0) return;
  JanitorLogger().Info("deleted expired intermediate objects",
                       {{"job_id", job.job_id},
                        {"status", std::string(JobStatusName(job.status))},
                        {"objects", removed}});
  findings.intermediates_deleted.push_back(job.job_id);
  findings.objects_deleted += removed;
}

void Janitor::NoteError(const std::string& job_id, const Status& status,
                        JanitorFindings& findings) {
  JanitorLogger().Warn("janitor could not handle a job; will try again next pass",
                       {{"job_id", job_id}, {"reason", status.ToString()}});
  findings.errors.push_back("job " + job_id + ": " + status.ToString());
}

void Janitor::Publish(const JanitorFindings& findings) {
  MetricsRegistry* metrics = options_.metrics;
  if (metrics == nullptr) return;
  auto stalled = metrics->GetGauge(kStalledJobs, "Jobs the last janitor pass found stalled.");
  if (stalled.ok()) (*stalled)->Set(static_cast<double>(findings.stalled.size()));
  auto count = [&](const char* action, std::size_t n) {
    auto counter = metrics->GetCounter(kJanitorActionsTotal, "Repairs made by the janitor.",
                                       {{"action", action}});
    if (counter.ok()) (*counter)->Increment(static_cast<double>(n));
  };
  count("trigger_rerun", findings.triggers_rerun.size());
  count("reassembly_resent", findings.reassembly_resent.size());
  count("objects_deleted", static_cast<std::size_t>(findings.objects_deleted));
}

}  // namespace stereospot::pipeline
