// The job status machine of DESIGN.md section 4, as one table of allowed transitions.
//
//   created -> chunking_in_progress -> chunking_complete -> reassembling -> completed
//   any non-terminal -> failed | cancelled
//   completed | failed | cancelled -> deleted
//   failed | cancelled -> created            (retry; keeps the uploaded source)
//
// Every store write of a status is conditional on the current status, and checked against this
// table, so a late or duplicate event can never move a job backwards.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace stereospot {

enum class JobStatus {
  kCreated,
  kChunkingInProgress,
  kChunkingComplete,
  kReassembling,
  kCompleted,
  kFailed,
  kCancelled,
  kDeleted,
};

inline constexpr std::array<JobStatus, 8> kAllJobStatuses = {
    JobStatus::kCreated,          JobStatus::kChunkingInProgress,
    JobStatus::kChunkingComplete, JobStatus::kReassembling,
    JobStatus::kCompleted,        JobStatus::kFailed,
    JobStatus::kCancelled,        JobStatus::kDeleted,
};

// The wire and storage name ("chunking_in_progress").
std::string_view JobStatusName(JobStatus status);
// Parses a wire name; nullopt for anything else (never throws).
std::optional<JobStatus> ParseJobStatus(std::string_view name);

// True for completed, failed, cancelled and deleted: no worker acts on such a job.
bool IsTerminal(JobStatus status);

// True when `from -> to` is in the table above. A transition to the same status is not allowed:
// conditional writers treat "already there" as a lost race, not as progress.
bool IsAllowedTransition(JobStatus from, JobStatus to);

}  // namespace stereospot
