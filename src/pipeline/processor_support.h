// Pieces the processors share (processors.h): per-message scratch directories, the watch that
// notices a cancelled job, and the mapping of errors to handler outcomes.
#pragma once

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "core/log.h"
#include "core/result.h"
#include "pipeline/keep_alive.h"
#include "pipeline/processors.h"

namespace stereospot::pipeline {

// A directory of its own under `parent` for one message's files; removed with everything in it
// when the object dies, whatever happened.
class ScratchDir {
 public:
  static Result<ScratchDir> Create(const std::filesystem::path& parent, std::string_view tag);
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  ScratchDir(const ScratchDir&) = delete;
  ~ScratchDir();

  const std::filesystem::path& path() const { return path_; }
  std::string File(std::string_view name) const { return (path_ / name).string(); }

 private:
  explicit ScratchDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

// Re-reads a job every `interval` on a background thread while work on it runs. stopped()
// becomes true once the job left the statuses the work is for (cancelled, failed by another
// worker, deleted, retried) or was removed; transient store errors are retried, so a store
// outage alone does not stop the work.
class JobWatch {
 public:
  JobWatch(JobStore& jobs, std::string job_id, std::initializer_list<JobStatus> wanted,
           std::chrono::milliseconds interval);
  bool stopped() const { return keep_alive_->lost(); }
  // Ends the watching (before the work moves the job on itself). Idempotent.
  void Stop() { keep_alive_->Stop(); }
  std::string reason() const { return keep_alive_->loss_reason().message(); }

 private:
  std::unique_ptr<KeepAlive> keep_alive_;
};

// OK when the job's status is one of `wanted` now; kCancelled naming its status otherwise (or
// when it is gone); store errors as they are.
Status RequireStatus(JobStore& jobs, std::string_view job_id,
                     std::initializer_list<JobStatus> wanted);

// True when `status` is one of `wanted`.
bool StatusIn(JobStatus status, std::initializer_list<JobStatus> wanted);

// Store and I/O errors are retried unless their code says otherwise: kNotFound of an object the
// pipeline wrote itself, kIoError and kDataLoss are treated as transient (another delivery may
// find the disk or the network healthy again); codes that describe the input stay permanent.
Status AsRetryable(const Status& status, std::string_view what);

// A media error's message without the local file name it starts with ("<path>: reason"), so
// users are not shown a worker's scratch paths.
std::string WithoutPath(const Status& status, std::string_view path);

// Log fields of a job (and segment when >= 0).
std::vector<LogField> JobFields(std::string_view job_id, int segment_index = -1);

}  // namespace stereospot::pipeline
