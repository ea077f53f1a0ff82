#include "core/job.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace stereospot {

std::int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatTimestamp(std::int64_t unix_ms) {
  if (unix_ms <= 0) return "";
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

nlohmann::json JobToJson(const Job& job) {
  nlohmann::json out = {
      {"job_id", job.job_id},
      {"kind", job.kind},
      {"status", JobStatusName(job.status)},
      {"params", job.params},
      {"title", job.title},
      {"source_key", job.source_key},
      {"source_bytes", job.source_bytes},
      {"total_segments", job.total_segments},
      {"created_at", FormatTimestamp(job.created_at)},
      {"uploaded_at", FormatTimestamp(job.uploaded_at)},
      {"started_at", FormatTimestamp(job.started_at)},
      {"completed_at", FormatTimestamp(job.completed_at)},
      {"updated_at", FormatTimestamp(job.updated_at)},
      {"attempts", job.attempts},
      {"error", nullptr},
  };
  if (job.error) out["error"] = {{"stage", job.error->stage}, {"message", job.error->message}};
  return out;
}

nlohmann::json CompletionToJson(const SegmentCompletion& c) {
  return {{"job_id", c.job_id},
          {"segment_index", c.segment_index},
          {"output_key", c.output_key},
          {"frames", c.frames},
          {"duration_seconds", c.duration_seconds},
          {"completed_at", FormatTimestamp(c.completed_at)},
          {"worker_id", c.worker_id},
          {"conversion_seconds", c.conversion_seconds}};
}

}  // namespace stereospot
