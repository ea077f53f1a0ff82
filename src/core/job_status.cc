#include "core/job_status.h"

#include <utility>

namespace stereospot {
namespace {

using S = JobStatus;

// The whole status machine. Anything not listed is forbidden.
constexpr std::pair<JobStatus, JobStatus> kAllowedTransitions[] = {
    // The forward path.
    {S::kCreated, S::kChunkingInProgress},
    {S::kChunkingInProgress, S::kChunkingComplete},
    {S::kChunkingComplete, S::kReassembling},
    {S::kReassembling, S::kCompleted},
    // Any non-terminal status can fail or be cancelled.
    {S::kCreated, S::kFailed},
    {S::kChunkingInProgress, S::kFailed},
    {S::kChunkingComplete, S::kFailed},
    {S::kReassembling, S::kFailed},
    {S::kCreated, S::kCancelled},
    {S::kChunkingInProgress, S::kCancelled},
    {S::kChunkingComplete, S::kCancelled},
    {S::kReassembling, S::kCancelled},
    // Ended jobs can be deleted.
    {S::kCompleted, S::kDeleted},
    {S::kFailed, S::kDeleted},
    {S::kCancelled, S::kDeleted},
    // Retry starts again from the uploaded source.
    {S::kFailed, S::kCreated},
    {S::kCancelled, S::kCreated},
};

}  // namespace

std::string_view JobStatusName(JobStatus status) {
  switch (status) {
    case S::kCreated:
      return "created";
    case S::kChunkingInProgress:
      return "chunking_in_progress";
    case S::kChunkingComplete:
      return "chunking_complete";
    case S::kReassembling:
      return "reassembling";
    case S::kCompleted:
      return "completed";
    case S::kFailed:
      return "failed";
    case S::kCancelled:
      return "cancelled";
    case S::kDeleted:
      return "deleted";
  }
  return "unknown";
}

std::optional<JobStatus> ParseJobStatus(std::string_view name) {
  for (JobStatus s : kAllJobStatuses) {
    if (JobStatusName(s) == name) return s;
  }
  return std::nullopt;
}

bool IsTerminal(JobStatus status) {
  return status == S::kCompleted || status == S::kFailed || status == S::kCancelled ||
         status == S::kDeleted;
}

bool IsAllowedTransition(JobStatus from, JobStatus to) {
  for (const auto& [allowed_from, allowed_to] : kAllowedTransitions) {
    if (allowed_from == from && allowed_to == to) return true;
  }
  return false;
}

}  // namespace stereospot
