// JobService: the user-facing job operations of DESIGN.md sections 4 and 8 (create, upload a
// source, cancel, retry, delete, progress), over the ports only. The HTTP API and the `convert`
// command both go through it, so the rules live in one place:
//
//   Create        -> a new UUIDv4 job in `created`, its source key chosen from the file name.
//   SubmitSource  -> probes the local file (a non-video is refused and nothing changes), stores
//                    it under the source key, records size and upload time, and sends
//                    {"job_id"} to the chunking queue.
//   AcceptStoredSource -> the same for a source a client PUT straight into the object store
//                    through a signed URL: probed where it lies (ranged reads), deleted if it
//                    is refused.
//   Cancel        -> non-terminal -> cancelled, then {"job_id"} to the deletion queue (the
//                    deletion worker removes the job's intermediates).
//   Retry         -> failed | cancelled -> created (error cleared, attempts + 1, completions and
//                    trigger reset); the uploaded source is kept and chunking starts again.
//   Delete        -> completed | failed | cancelled -> deleted, then a deletion message.
//   Progress      -> the job with segments done / total, stage, percent, ETA, per-segment state
//                    and the stalled flag.
//
// Every status write is conditional on the status just read; a lost race (kConflict from the
// store) is re-read and retried a few times, so a cancel racing a worker's progress still lands.
//
// Errors: kInvalidArgument for a malformed job id, file name or a source that is not a video;
// kNotFound for an unknown job; kConflict when the job's status does not allow the operation
// (the message names the status and what is allowed); the stores' codes otherwise (kUnavailable
// is worth retrying).
//
// Threading: safe for concurrent use; all state is in the stores, which must outlive the
// service.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/conversion_params.h"
#include "core/job.h"
#include "core/result.h"
#include "ports/job_store.h"
#include "ports/object_store.h"
#include "ports/work_queue.h"

namespace stereospot::media {
struct MediaInfo;
}  // namespace stereospot::media

namespace stereospot::pipeline {

struct JobServiceOptions {
  // A non-terminal job without progress for this long is reported as stalled (the janitor's
  // notion, janitor.h). Default: 30 min.
  std::chrono::milliseconds stalled_after{std::chrono::minutes(30)};
  // The clock (Unix ms) that ages and ETAs are computed with; empty: the system clock. Tests
  // only.
  std::function<std::int64_t()> clock_for_testing;
};

enum class SegmentState { kPending, kDone };
std::string_view SegmentStateName(SegmentState state);

// Where a job stands, for people: one of "waiting_for_upload", "queued" (uploaded, chunking not
// started), "chunking", "converting", "reassembling", "completed", "failed", "cancelled",
// "deleted".
std::string_view JobStage(const Job& job);

struct JobProgress {
  Job job;
  std::string stage;  // JobStage(job)
  int segments_completed = 0;
  int total_segments = 0;  // 0 while the cut is not planned yet
  double percent = 0;      // 0..100; 100 only when completed
  // Seconds until the segments are converted, from the completion rate so far; absent when
  // there is no rate yet or the job is not converting.
  std::optional<double> eta_seconds;
  // One entry per planned segment, by index (empty while total_segments is 0).
  std::vector<SegmentState> segments;
  bool stalled = false;      // no progress for JobServiceOptions::stalled_after
  std::int64_t idle_ms = 0;  // since the last progress (non-terminal jobs only)
};

// The API's view of a progress: the job's JSON (core/job.h JobToJson) plus a "progress" object.
nlohmann::json ProgressToJson(const JobProgress& progress);

class JobService {
 public:
  JobService(JobStore& jobs, ObjectStore& objects, WorkQueue& chunking_queue,
             WorkQueue& deletion_queue, JobServiceOptions options = {});
  JobService(const JobService&) = delete;
  JobService& operator=(const JobService&) = delete;

  // Creates a job in `created`. The source key's extension is taken from `source_filename`
  // (lower-cased; one of SourceExtensions(); "mp4" when the name is empty); an unknown
  // extension is kInvalidArgument. `title` defaults to the file name's stem; at most 200 bytes.
  Result<Job> Create(const ConversionParams& params, std::string title,
                     std::string_view source_filename);

  // The job, after validating the id (kInvalidArgument) and reading it (kNotFound).
  Result<Job> Get(std::string_view job_id);

  // Stores `local_file` as the job's source and starts chunking. REQUIRES: the job is
  // `created`. The file is probed first: anything that is not a decodable video is
  // kInvalidArgument ("not a video: ...") and neither the store nor the queues change.
  // Idempotent: repeating it for a job already uploaded with a file of the same size re-sends
  // the chunking message while the job is still `created` (a duplicate is harmless) and returns
  // the job; a different file is kConflict.
  Result<Job> SubmitSource(std::string_view job_id, const std::filesystem::path& local_file);

  // Takes the object already at the job's source key (put there by a client holding a signed
  // PUT URL) as its source and starts chunking. REQUIRES: the job is `created`. kConflict when
  // nothing has been uploaded to the key yet; an object over `max_bytes` is kInvalidArgument
  // ("upload larger than ...") and one that is not a decodable video kInvalidArgument ("not a
  // video: ..."): both are deleted and the job stays `created`, so the client may upload again.
  // A store failure while probing is returned as is (nothing deleted). Idempotent as
  // SubmitSource: repeated for an uploaded job it re-sends the chunking message while `created`.
  Result<Job> AcceptStoredSource(std::string_view job_id, std::uint64_t max_bytes);

  // Any non-terminal status -> cancelled, then a deletion message. kConflict for a terminal job.
  Result<Job> Cancel(std::string_view job_id);

  // failed | cancelled -> created (see the file comment). kConflict for any other status.
  Result<Job> Retry(std::string_view job_id);

  // completed | failed | cancelled -> deleted, then a deletion message. Deleting a deleted job
  // re-sends the message and returns it. kConflict for a job still running (cancel it first).
  Result<Job> Delete(std::string_view job_id);

  Result<JobProgress> Progress(std::string_view job_id);

  // The accepted source extensions ("mp4", "mkv", ...).
  static const std::vector<std::string>& SourceExtensions();

 private:
  std::int64_t Now() const;
  // Reads the job and moves it to `next` when `allowed(current)`, with `update`; re-reads and
  // tries again when the store reports a lost race. `what` names the operation in errors.
  Result<Job> Move(std::string_view job_id, JobStatus next, bool (*allowed)(JobStatus),
                   const std::function<JobUpdate(const Job&)>& update, std::string_view what,
                   std::string_view allowed_text);
  Status SendJobMessage(WorkQueue& queue, const std::string& job_id);
  // The start of every source submission: a job that already has its source is a repeat (its
  // chunking message is sent again while it is still `created`) and is returned; a job past
  // `created` is kConflict; nullopt means go on.
  Result<std::optional<Job>> RepeatOrRefuse(const Job& job);
  // Records the stored source of `job` (still `created`) and sends the chunking message.
  Result<Job> RecordSource(const Job& job, std::uint64_t size, const media::MediaInfo& info);

  JobStore& jobs_;
  ObjectStore& objects_;
  WorkQueue& chunking_queue_;
  WorkQueue& deletion_queue_;
  const JobServiceOptions options_;
};

}  // namespace stereospot::pipeline
