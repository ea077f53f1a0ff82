// JobStore: durable records of jobs, segment completions and reassembly triggers (DESIGN.md
// section 4). The single source of truth for a job's progress.
//
// Every status change is a conditional write: it names the status the caller believes the job
// has, and fails with kConflict when the job has moved on, so a late or duplicate event can never
// move a job backwards. Status changes are also checked against core/job_status.h's table
// (kInvalidArgument for a forbidden transition).
//
// Errors: kNotFound for an unknown job id; kConflict for a failed condition; kAlreadyExists for
// a create of an existing id; kUnavailable for transient failures (busy database, lost
// connection) that are worth retrying; kInvalidArgument for malformed ids or arguments.
// Implementations never throw.
//
// Thread safety: safe for concurrent use by many threads and, for the real backends, by many
// processes and machines sharing one database.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/job.h"
#include "core/result.h"

namespace stereospot {

// Optional field changes applied together with a status change or on their own. Unset fields
// are left as they are.
struct JobUpdate {
  std::optional<std::string> title;
  std::optional<std::string> source_key;
  std::optional<std::int64_t> source_bytes;
  std::optional<int> total_segments;
  std::optional<std::int64_t> uploaded_at;
  std::optional<std::int64_t> started_at;
  std::optional<std::int64_t> completed_at;
  std::optional<std::optional<JobError>> error;  // set to nullopt inside to clear
  std::optional<int> attempts;
};

enum class JobOrder {
  kCreatedDesc,    // newest first; stable under inserts of new jobs
  kCompletedDesc,  // most recently completed first; jobs never completed are left out
};

struct JobListQuery {
  std::optional<JobStatus> status;  // unset: every status but deleted
  JobOrder order = JobOrder::kCreatedDesc;
  std::string cursor;  // empty: first page; else a previous page's next_cursor
  int limit = 50;      // 1..500
};

struct JobPage {
  std::vector<Job> jobs;
  std::string next_cursor;  // empty on the last page
};

class JobStore {
 public:
  JobStore() = default;
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;
  virtual ~JobStore() = default;

  // Creates `job` (status must be created; job_id a valid UUIDv4; created_at set when 0).
  // kAlreadyExists if the id is taken; nothing is changed then.
  virtual Status Create(const Job& job) = 0;

  virtual Result<Job> Get(std::string_view job_id) = 0;

  // Moves the job from `expected` to `next` and applies `update`, atomically, only if its
  // current status is `expected` (else kConflict, nothing changed) and the transition is
  // allowed (else kInvalidArgument). updated_at is set to now.
  virtual Status TransitionStatus(std::string_view job_id, JobStatus expected, JobStatus next,
                                  const JobUpdate& update = {}) = 0;

  // Applies `update` without a status change. With `expected`, only while the job has that
  // status (else kConflict). Atomic.
  virtual Status UpdateFields(std::string_view job_id, const JobUpdate& update,
                              std::optional<JobStatus> expected = std::nullopt) = 0;

  // One page of jobs in the query's order. The cursor is opaque; a malformed one is
  // kInvalidArgument. Paging is stable under inserts: a job present throughout paging is
  // returned exactly once.
  virtual Result<JobPage> List(const JobListQuery& query) = 0;

  // Records that a segment's output is written and verified. Idempotent: the first completion
  // for (job_id, segment_index) is kept and later puts return OK without changing it.
  // kNotFound if the job does not exist.
  virtual Status PutCompletion(const SegmentCompletion& completion) = 0;

  virtual Result<int> CountCompletions(std::string_view job_id) = 0;

  // How many jobs are in each status, `deleted` included (statuses without jobs are absent).
  // One aggregate query, not a scan: /metrics and `stats` call it on every scrape.
  virtual Result<std::map<JobStatus, std::int64_t>> CountByStatus() = 0;

  // All completions of the job, by segment index.
  virtual Result<std::vector<SegmentCompletion>> ListCompletions(std::string_view job_id) = 0;

  // Creates the job's reassembly trigger if none exists. Returns true for the one caller that
  // created it (first writer wins, also across processes), false for everyone else.
  virtual Result<bool> CreateTriggerOnce(std::string_view job_id) = 0;

  // kNotFound when the job has no trigger.
  virtual Result<ReassemblyTrigger> GetTrigger(std::string_view job_id) = 0;

  // Takes the trigger's lease for `owner` until now + ttl if it is free, expired, or already
  // held by `owner` (then it is renewed). Returns false when someone else holds an unexpired
  // lease. kNotFound when the job has no trigger.
  virtual Result<bool> AcquireLease(std::string_view job_id, std::string_view owner,
                                    std::chrono::milliseconds ttl) = 0;

  // Extends a lease `owner` holds to now + ttl. kConflict if `owner` no longer holds it (it
  // expired and was taken over, or was released): the caller must stop its work.
  virtual Status RenewLease(std::string_view job_id, std::string_view owner,
                            std::chrono::milliseconds ttl) = 0;

  // Frees the lease if `owner` holds it; OK (and no change) otherwise. Idempotent.
  virtual Status ReleaseLease(std::string_view job_id, std::string_view owner) = 0;

  // Removes the job's completions and trigger (before a retry re-runs it from chunking).
  // Idempotent.
  virtual Status ResetProgress(std::string_view job_id) = 0;
};

}  // namespace stereospot
