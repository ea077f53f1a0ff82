// The records of DESIGN.md section 4: Job, SegmentCompletion, ReassemblyTrigger.
//
// Times are Unix epoch milliseconds (UTC); 0 means "not set". Params are kept as JSON so that a
// new job kind brings its own parameter type without a new store (stereo jobs hold
// ConversionParams::ToJson()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/job_status.h"
#include "core/result.h"

namespace stereospot {

// Milliseconds since the Unix epoch, from the system clock.
std::int64_t NowMillis();
// "2026-11-23T10:15:02.123Z"; empty for 0.
std::string FormatTimestamp(std::int64_t unix_ms);

struct JobError {
  std::string stage;    // chunking, conversion, reassembly, upload, ...
  std::string message;  // for a person: what went wrong and, where known, what to do
  friend bool operator==(const JobError&, const JobError&) = default;
};

struct Job {
  std::string job_id;
  std::string kind = "stereo";
  JobStatus status = JobStatus::kCreated;
  nlohmann::json params = nlohmann::json::object();
  std::string title;
  std::string source_key;
  std::int64_t source_bytes = 0;
  int total_segments = 0;  // 0 until chunking has planned the cut
  std::int64_t created_at = 0;
  std::int64_t uploaded_at = 0;
  std::int64_t started_at = 0;
  std::int64_t completed_at = 0;
  std::int64_t updated_at = 0;
  std::optional<JobError> error;  // set when status is failed
  int attempts = 0;               // retries requested by users

  friend bool operator==(const Job&, const Job&) = default;
};

struct SegmentCompletion {
  std::string job_id;
  int segment_index = 0;
  std::string output_key;
  std::int64_t frames = 0;
  double duration_seconds = 0;
  std::int64_t completed_at = 0;
  std::string worker_id;
  double conversion_seconds = 0;

  friend bool operator==(const SegmentCompletion&, const SegmentCompletion&) = default;
};

struct ReassemblyTrigger {
  std::string job_id;
  std::int64_t created_at = 0;
  std::string lease_owner;  // empty when no lease is held
  std::int64_t lease_expires_at = 0;

  friend bool operator==(const ReassemblyTrigger&, const ReassemblyTrigger&) = default;
};

// JSON views for the CLI and the API (times as ISO-8601 strings and raw milliseconds).
nlohmann::json JobToJson(const Job& job);
nlohmann::json CompletionToJson(const SegmentCompletion& completion);

}  // namespace stereospot
