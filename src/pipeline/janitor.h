// Janitor: the periodic repairs and reports of DESIGN.md section 5, over the ports only.
//
// One RunOnce() pass:
//   0. dead letters of running jobs (dead_letter_stages): a message that reached the DLQ
//      without its worker failing the job (the worker died during the last allowed delivery, so
//      the queue moved it on a later receive) fails its job with the stage and "dead-lettered
//      after N deliveries". Only jobs past `created` whose current attempt started before the
//      message was sent count, so a dead letter of an earlier attempt never fails a retry.
//   1. chunking_complete jobs whose completions are all present: re-runs the trigger
//      (trigger.h). When the trigger already exists and is older than recovery_grace (its creator
//      crashed before moving the job or sending the message), finishes it with ResumeTrigger.
//   2. reassembling jobs whose lease is free (never taken: the message was lost) or expired (the
//      reassembler died) for longer than recovery_grace: re-sends the reassembly message, at
//      most once per recovery_grace per job for a long-lived Janitor.
//   3. non-terminal jobs with no progress (status change, field update, segment completion, or a
//      live reassembly lease) for stalled_after: one ERROR line each ("job stalled", job_id,
//      status, idle_seconds, stalled=true) and an entry in the findings. Jobs still waiting for
//      their upload (created, never uploaded) are not the pipeline's to report.
//   4. completed, failed and cancelled jobs last updated more than `retention` ago: deletes their
//      intermediate objects (segments/{job}/ and jobs/{job}/segments/); final outputs and sources
//      stay. The job's status is read again just before deleting, so a job retried meanwhile
//      keeps its new segments.
// Every step is idempotent and safe beside live workers and other janitors (conditional writes
// and create-once triggers arbitrate); a duplicate reassembly message is harmless.
//
// Errors: RunOnce fails only when jobs cannot be listed; a failure on one job is logged, kept in
// findings.errors, and the pass goes on.
//
// Threading: RunOnce calls are serialised by the janitor; the stores must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "pipeline/metrics.h"
#include "ports/job_store.h"
#include "ports/object_store.h"
#include "ports/work_queue.h"

namespace stereospot::pipeline {

struct JanitorOptions {
  // How long a trigger, or a reassembling job without a live lease, may wait for its next step
  // before the janitor redoes that step. Longer than a normal trigger takes; shorter than users
  // would wait. Default: 2 min.
  std::chrono::milliseconds recovery_grace{std::chrono::minutes(2)};
  // A non-terminal job without progress for this long is reported as stalled. Default: 30 min.
  std::chrono::milliseconds stalled_after{std::chrono::minutes(30)};
  // Intermediate objects of a terminal job are deleted this long after its last update.
  // Default: 24 h.
  std::chrono::milliseconds retention{std::chrono::hours(24)};
  // Jobs per List call (1..500). Default: 200.
  int page_size = 200;
  // Where to publish findings (stereospot_janitor_*); may be null. Default: null.
  MetricsRegistry* metrics = nullptr;
  // The clock (Unix ms) the janitor judges ages by; empty: the system clock. Tests only.
  std::function<std::int64_t()> clock_for_testing;
  // Queues whose dead letters fail their job, with the stage named in the job's error
  // ({segments queue, "conversion"}, ...). Default: none.
  std::vector<std::pair<WorkQueue*, std::string>> dead_letter_stages;
};

struct StalledJob {
  std::string job_id;
  JobStatus status = JobStatus::kCreated;
  std::int64_t idle_ms = 0;  // since the last progress
};

struct JanitorFindings {
  std::vector<std::string> triggers_rerun;     // jobs the janitor moved to reassembling
  std::vector<std::string> reassembly_resent;  // jobs whose reassembly message was re-sent
  std::vector<StalledJob> stalled;
  std::vector<std::string> failed_from_dead_letters;  // running jobs whose message died
  std::vector<std::string> intermediates_deleted;     // jobs whose intermediates were removed
  std::uint64_t objects_deleted = 0;
  std::vector<std::string> errors;  // "job <id>: <status>" per job that could not be handled
};

class Janitor {
 public:
  Janitor(JobStore& jobs, WorkQueue& reassembly_queue, ObjectStore& objects,
          JanitorOptions options);
  Janitor(const Janitor&) = delete;
  Janitor& operator=(const Janitor&) = delete;

  // One pass over every job (see the file comment).
  Result<JanitorFindings> RunOnce();

 private:
  std::int64_t Now() const;
  Status ForEachJob(JobStatus status, const std::function<void(const Job&)>& visit);
  void FailFromDeadLetters(JanitorFindings& findings);
  void RecoverTrigger(const Job& job, JanitorFindings& findings);
  void RecoverReassembly(const Job& job, JanitorFindings& findings);
  void CheckStalled(const Job& job, JanitorFindings& findings);
  void DeleteIntermediates(const Job& job, JanitorFindings& findings);
  void NoteError(const std::string& job_id, const Status& status, JanitorFindings& findings);
  void Publish(const JanitorFindings& findings);

  JobStore& jobs_;
  WorkQueue& reassembly_queue_;
  ObjectStore& objects_;
  const JanitorOptions options_;

  std::mutex mutex_;                                 // serialises RunOnce; guards the members below
  std::map<std::string, std::int64_t> last_resend_;  // job id -> when this janitor re-sent
  std::set<std::string> cleaned_;                    // jobs whose intermediates are gone
};

}  // namespace stereospot::pipeline
