#include "pipeline/processor_support.h"

#include <system_error>

#include "core/ids.h"

namespace stereospot::pipeline {

namespace fs = std::filesystem;

Result<ScratchDir> ScratchDir::Create(const fs::path& parent, std::string_view tag) {
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) return Status::Unavailable("cannot create scratch directory " + parent.string());
  const fs::path path = parent / ("stereospot-" + std::string(tag) + "-" + RandomHex(8));
  if (!fs::create_directory(path, ec) || ec) {
    return Status::Unavailable("cannot create scratch directory " + path.string() + ": " +
                               ec.message());
  }
  return ScratchDir(path);
}

ScratchDir::~ScratchDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);  // best effort: a leftover is only disk space
}

bool StatusIn(JobStatus status, std::initializer_list<JobStatus> wanted) {
  for (JobStatus w : wanted) {
    if (w == status) return true;
  }
  return false;
}

Status RequireStatus(JobStore& jobs, std::string_view job_id,
                     std::initializer_list<JobStatus> wanted) {
  auto job = jobs.Get(job_id);
  if (!job.ok()) {
    return job.status().IsNotFound() ? Status::Cancelled("job removed") : job.status();
  }
  if (StatusIn(job->status, wanted)) return Status::OK();
  return Status::Cancelled("job is " + std::string(JobStatusName(job->status)));
}

JobWatch::JobWatch(JobStore& jobs, std::string job_id, std::initializer_list<JobStatus> wanted,
                   std::chrono::milliseconds interval) {
  KeepAliveOptions options;
  // The window only bounds how long store errors are retried before giving up on the job; an
  // hour of outage stops the work, which the queue then redelivers.
  options.window = std::chrono::hours(1);
  options.interval = interval;
  options.component = "stereospot.job_watch";
  options.what = "job status";
  options.log_fields = JobFields(job_id);
  std::vector<JobStatus> statuses(wanted);
  keep_alive_ = std::make_unique<KeepAlive>(
      [&jobs, id = std::move(job_id), statuses]() -> Status {
        auto job = jobs.Get(id);
        if (!job.ok()) {
          if (job.status().code() == StatusCode::kNotFound) return Status::Cancelled("job removed");
          return job.status();
        }
        for (JobStatus s : statuses) {
          if (job->status == s) return Status::OK();
        }
        return Status::Cancelled("job is " + std::string(JobStatusName(job->status)));
      },
      options);
}

Status AsRetryable(const Status& status, std::string_view what) {
  if (status.ok()) return status;
  switch (status.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kIoError:
    case StatusCode::kDataLoss:
      return Status::Unavailable(std::string(what) + ": " + status.message());
    default:
      return status.WithContext(what);
  }
}

std::string WithoutPath(const Status& status, std::string_view path) {
  const std::string& message = status.message();
  const std::string prefix = std::string(path) + ": ";
  if (message.rfind(prefix, 0) == 0) return message.substr(prefix.size());
  return message;
}

std::vector<LogField> JobFields(std::string_view job_id, int segment_index) {
  std::vector<LogField> fields;
  fields.emplace_back("job_id", job_id);
  if (segment_index >= 0) fields.emplace_back("segment_index", segment_index);
  return fields;
}

}  // namespace stereospot::pipeline
