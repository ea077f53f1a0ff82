#include "pipeline/job_service.h"

#include <algorithm>
#include <cctype>
#include <map>

#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "core/log.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "media/probe.h"

namespace stereospot::pipeline {
namespace {

// Status writes that lose a race are re-read and retried this many times.
constexpr int kMoveAttempts = 5;
constexpr std::size_t kMaxTitleBytes = 200;

const Logger& ServiceLogger() {
  static const Logger logger("stereospot.job_service");
  return logger;
}

Status CheckJobId(std::string_view job_id) {
  if (IsValidJobId(job_id)) return Status::OK();
  return Status::InvalidArgument("malformed job id '" + std::string(job_id.substr(0, 64)) +
                                 "': expected a lower-case UUIDv4");
}

// The lower-cased extension of `filename` ("" when it has none).
std::string ExtensionOf(std::string_view filename) {
  auto slash = filename.find_last_of("/\\");
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  auto dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  std::string ext(filename.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string StemOf(std::string_view filename) {
  auto slash = filename.find_last_of("/\\");
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  auto dot = filename.rfind('.');
  if (dot != std::string_view::npos && dot > 0) filename = filename.substr(0, dot);
  return std::string(filename);
}

bool CanCancel(JobStatus s) { return !IsTerminal(s); }
bool CanRetry(JobStatus s) { return s == JobStatus::kFailed || s == JobStatus::kCancelled; }
bool CanDelete(JobStatus s) {
  return s == JobStatus::kCompleted || s == JobStatus::kFailed || s == JobStatus::kCancelled;
}

// Percent of the whole job at each stage: chunking is a small first share, conversion the bulk,
// reassembly the tail.
constexpr double kChunkedPercent = 5;
constexpr double kConvertedPercent = 95;

}  // namespace

std::string_view SegmentStateName(SegmentState state) {
  return state == SegmentState::kDone ? "done" : "pending";
}

std::string_view JobStage(const Job& job) {
  switch (job.status) {
    case JobStatus::kCreated:
      return job.uploaded_at == 0 ? "waiting_for_upload" : "queued";
    case JobStatus::kChunkingInProgress:
      return job.total_segments > 0 ? "converting" : "chunking";
    case JobStatus::kChunkingComplete:
      return "converting";
    case JobStatus::kReassembling:
      return "reassembling";
    case JobStatus::kCompleted:
      return "completed";
    case JobStatus::kFailed:
      return "failed";
    case JobStatus::kCancelled:
      return "cancelled";
    case JobStatus::kDeleted:
      return "deleted";
  }
  return "unknown";
}

nlohmann::json ProgressToJson(const JobProgress& p) {
  nlohmann::json out = JobToJson(p.job);
  nlohmann::json segments = nlohmann::json::array();
  for (SegmentState s : p.segments) segments.push_back(SegmentStateName(s));
  out["progress"] = {
      {"stage", p.stage},
      {"segments_completed", p.segments_completed},
      {"total_segments", p.total_segments},
      {"percent", p.percent},
      {"eta_seconds", p.eta_seconds ? nlohmann::json(*p.eta_seconds) : nlohmann::json(nullptr)},
      {"segments", std::move(segments)},
      {"stalled", p.stalled},
      {"idle_seconds", static_cast<double>(p.idle_ms) / 1000.0},
  };
  return out;
}

JobService::JobService(JobStore& jobs, ObjectStore& objects, WorkQueue& chunking_queue,
                       WorkQueue& deletion_queue, JobServiceOptions options)
    : jobs_(jobs),
      objects_(objects),
      chunking_queue_(chunking_queue),
      deletion_queue_(deletion_queue),
      options_(std::move(options)) {}

const std::vector<std::string>& JobService::SourceExtensions() {
  static const std::vector<std::string> extensions = {"mp4", "m4v", "mov",  "mkv", "webm", "avi",
                                                      "ts",  "mts", "m2ts", "mpg", "mpeg", "flv",
                                                      "wmv", "3gp", "ogv",  "mxf", "y4m"};
  return extensions;
}

std::int64_t JobService::Now() const {
  return options_.clock_for_testing ? options_.clock_for_testing() : NowMillis();
}

Result<Job> JobService::Create(const ConversionParams& params, std::string title,
                               std::string_view source_filename) {
  std::string ext = source_filename.empty() ? "mp4" : ExtensionOf(source_filename);
  const auto& allowed = SourceExtensions();
  if (std::find(allowed.begin(), allowed.end(), ext) == allowed.end()) {
    std::string list;
    for (const auto& e : allowed) list += (list.empty() ? "" : ", ") + e;
    return Status::InvalidArgument("unsupported file name '" +
                                   std::string(source_filename.substr(0, 200)) +
                                   "': the extension must be one of " + list);
  }
  if (title.empty()) title = StemOf(source_filename);
  if (title.size() > kMaxTitleBytes) {
    return Status::InvalidArgument("title is longer than " + std::to_string(kMaxTitleBytes) +
                                   " bytes");
  }
  Job job;
  job.job_id = NewJobId();
  job.params = params.ToJson();
  job.title = std::move(title);
  STEREOSPOT_ASSIGN_OR_RETURN(job.source_key, BuildSourceKey(job.job_id, ext));
  job.created_at = NowMillis();
  STEREOSPOT_RETURN_IF_ERROR(jobs_.Create(job));
  ServiceLogger().Info("job created", {{"job_id", job.job_id}, {"source_key", job.source_key}});
  return jobs_.Get(job.job_id);
}

Result<Job> JobService::Get(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckJobId(job_id));
  return jobs_.Get(job_id);
}

Result<Job> JobService::SubmitSource(std::string_view job_id,
                                     const std::filesystem::path& local_file) {
  STEREOSPOT_ASSIGN_OR_RETURN(Job job, Get(job_id));
  std::error_code ec;
  const auto size = std::filesystem::file_size(local_file, ec);
  if (ec)
    return Status::IoError("cannot read uploaded file " + local_file.string() + ": " +
                           ec.message());
  if (job.uploaded_at != 0 && static_cast<std::int64_t>(size) != job.source_bytes) {
    return Status::Conflict("job " + job.job_id + " already has an uploaded source (" +
                            std::to_string(job.source_bytes) + " bytes)");
  }
  STEREOSPOT_ASSIGN_OR_RETURN(std::optional<Job> repeated, RepeatOrRefuse(job));
  if (repeated) return *repeated;
  media::ProbeOptions probe_options;
  probe_options.scan_packets = false;  // the chunker scans packets; here the header decides
  Result<media::MediaInfo> info = media::Probe(local_file.string(), probe_options);
  if (!info.ok()) {
    const Status& s = info.status();
    if (s.code() == StatusCode::kIoError || s.code() == StatusCode::kUnavailable) return s;
    return Status::InvalidArgument("not a video: " + s.message());
  }
  STEREOSPOT_RETURN_IF_ERROR(objects_.PutFile(job.source_key, local_file));
  return RecordSource(job, size, *info);
}

Result<Job> JobService::AcceptStoredSource(std::string_view job_id, std::uint64_t max_bytes) {
  STEREOSPOT_ASSIGN_OR_RETURN(Job job, Get(job_id));
  STEREOSPOT_ASSIGN_OR_RETURN(std::optional<Job> repeated, RepeatOrRefuse(job));
  if (repeated) return *repeated;
  auto head = objects_.Head(job.source_key);
  if (head.status().IsNotFound()) {
    return Status::Conflict("nothing has been uploaded for job " + job.job_id +
                            " yet: PUT the file to the signed URL first");
  }
  STEREOSPOT_RETURN_IF_ERROR(head.status());
  const std::uint64_t size = head->size;
  if (size > max_bytes) {
    STEREOSPOT_RETURN_IF_ERROR(objects_.Delete(job.source_key));
    return Status::InvalidArgument("upload larger than the limit of " + std::to_string(max_bytes) +
                                   " bytes");
  }
  // Ranged reads of 1 MiB blocks, the last one kept: the demuxer reads in 256 KiB steps and
  // mostly forwards, so a block serves several reads with one request to the store.
  constexpr std::uint64_t kBlock = 1 << 20;
  struct Block {
    std::uint64_t offset = 0;
    std::string bytes;
  };
  auto block = std::make_shared<Block>();
  media::ByteRangeSource source;
  source.name = job.source_key;
  source.size = size;
  source.read = [this, key = job.source_key, block](std::uint64_t offset,
                                                    std::span<char> buffer) -> Result<std::size_t> {
    if (offset < block->offset || offset >= block->offset + block->bytes.size()) {
      const std::uint64_t start = offset - offset % kBlock;
      STEREOSPOT_ASSIGN_OR_RETURN(block->bytes, objects_.ReadRange(key, start, kBlock));
      block->offset = start;
      if (offset >= start + block->bytes.size()) {
        return Status::IoError("the source object is shorter than its size");
      }
    }
    const std::size_t at = static_cast<std::size_t>(offset - block->offset);
    const std::size_t n = std::min(buffer.size(), block->bytes.size() - at);
    std::copy_n(block->bytes.data() + at, n, buffer.data());
    return n;
  };
  media::ProbeOptions probe_options;
  probe_options.scan_packets = false;  // the chunker scans packets; here the header decides
  Result<media::MediaInfo> info = media::Probe(source, probe_options);
  if (!info.ok()) {
    const Status& s = info.status();
    if (s.code() == StatusCode::kIoError || s.code() == StatusCode::kUnavailable) return s;
    STEREOSPOT_RETURN_IF_ERROR(objects_.Delete(job.source_key));
    return Status::InvalidArgument("not a video: " + s.message());
  }
  return RecordSource(job, size, *info);
}

Result<std::optional<Job>> JobService::RepeatOrRefuse(const Job& job) {
  if (job.uploaded_at != 0) {
    if (job.status == JobStatus::kCreated) {
      STEREOSPOT_RETURN_IF_ERROR(SendJobMessage(chunking_queue_, job.job_id));
    }
    return std::optional<Job>(job);
  }
  if (job.status != JobStatus::kCreated) {
    return Status::Conflict("job " + job.job_id + " is " + std::string(JobStatusName(job.status)) +
                            "; a source can only be uploaded to a created job");
  }
  return std::optional<Job>();
}

Result<Job> JobService::RecordSource(const Job& job, std::uint64_t size,
                                     const media::MediaInfo& info) {
  JobUpdate update;
  update.source_bytes = static_cast<std::int64_t>(size);
  update.uploaded_at = NowMillis();
  Status updated = jobs_.UpdateFields(job.job_id, update, JobStatus::kCreated);
  if (updated.IsConflict()) {
    return Status::Conflict("job " + job.job_id + " changed status during the upload");
  }
  STEREOSPOT_RETURN_IF_ERROR(updated);
  STEREOSPOT_RETURN_IF_ERROR(SendJobMessage(chunking_queue_, job.job_id));
  ServiceLogger().Info("source uploaded", {{"job_id", job.job_id},
                                           {"bytes", static_cast<std::int64_t>(size)},
                                           {"codec", info.video.codec},
                                           {"width", info.video.width},
                                           {"height", info.video.height}});
  return jobs_.Get(job.job_id);
}

Result<Job> JobService::Move(std::string_view job_id, JobStatus next, bool (*allowed)(JobStatus),
                             const std::function<JobUpdate(const Job&)>& update,
                             std::string_view what, std::string_view allowed_text) {
  STEREOSPOT_RETURN_IF_ERROR(CheckJobId(job_id));
  for (int attempt = 0;; ++attempt) {
    STEREOSPOT_ASSIGN_OR_RETURN(Job job, jobs_.Get(job_id));
    if (!allowed(job.status)) {
      return Status::Conflict("cannot " + std::string(what) + " job " + job.job_id + ": it is " +
                              std::string(JobStatusName(job.status)) + " (only " +
                              std::string(allowed_text) + " jobs can be)");
    }
    Status moved = jobs_.TransitionStatus(job_id, job.status, next, update(job));
    if (moved.ok()) return jobs_.Get(job_id);
    if (!moved.IsConflict() || attempt + 1 >= kMoveAttempts) return moved;
  }
}

Result<Job> JobService::Cancel(std::string_view job_id) {
  STEREOSPOT_ASSIGN_OR_RETURN(Job job, Move(
                                           job_id, JobStatus::kCancelled, &CanCancel,
                                           [](const Job&) { return JobUpdate{}; }, "cancel",
                                           "created, chunking, converting or reassembling"));
  ServiceLogger().Info("job cancelled", {{"job_id", job.job_id}});
  STEREOSPOT_RETURN_IF_ERROR(SendJobMessage(deletion_queue_, job.job_id));
  return job;
}

Result<Job> JobService::Retry(std::string_view job_id) {
  STEREOSPOT_ASSIGN_OR_RETURN(Job before, Get(job_id));
  if (!CanRetry(before.status)) {
    return Status::Conflict("cannot retry job " + before.job_id + ": it is " +
                            std::string(JobStatusName(before.status)) +
                            " (only failed or cancelled jobs can be)");
  }
  // Completions and the trigger of the failed run go before the job can be picked up again.
  STEREOSPOT_RETURN_IF_ERROR(jobs_.ResetProgress(before.job_id));
  STEREOSPOT_ASSIGN_OR_RETURN(Job job, Move(
                                           job_id, JobStatus::kCreated, &CanRetry,
                                           [](const Job& current) {
                                             JobUpdate u;
                                             u.error = std::optional<JobError>();
                                             u.attempts = current.attempts + 1;
                                             u.total_segments = 0;
                                             u.started_at = 0;
                                             u.completed_at = 0;
                                             return u;
                                           },
                                           "retry", "failed or cancelled"));
  ServiceLogger().Info("job retried", {{"job_id", job.job_id}, {"attempts", job.attempts}});
  if (job.uploaded_at != 0) {
    STEREOSPOT_RETURN_IF_ERROR(SendJobMessage(chunking_queue_, job.job_id));
  }
  return job;
}

Result<Job> JobService::Delete(std::string_view job_id) {
  STEREOSPOT_ASSIGN_OR_RETURN(Job current, Get(job_id));
  Job job = current;
  if (current.status != JobStatus::kDeleted) {
    STEREOSPOT_ASSIGN_OR_RETURN(
        job, Move(
                 job_id, JobStatus::kDeleted, &CanDelete, [](const Job&) { return JobUpdate{}; },
                 "delete", "completed, failed or cancelled"));
    ServiceLogger().Info("job deleted", {{"job_id", job.job_id}});
  }
  STEREOSPOT_RETURN_IF_ERROR(SendJobMessage(deletion_queue_, job.job_id));
  return job;
}

Result<JobProgress> JobService::Progress(std::string_view job_id) {
  STEREOSPOT_ASSIGN_OR_RETURN(Job job, Get(job_id));
  JobProgress p;
  p.stage = std::string(JobStage(job));
  p.total_segments = job.total_segments;
  std::vector<SegmentCompletion> completions;
  if (job.status != JobStatus::kCreated) {
    STEREOSPOT_ASSIGN_OR_RETURN(completions, jobs_.ListCompletions(job.job_id));
  }
  p.segments_completed = static_cast<int>(completions.size());
  if (p.total_segments > 0) {
    p.segments.assign(static_cast<std::size_t>(p.total_segments), SegmentState::kPending);
    for (const SegmentCompletion& c : completions) {
      if (c.segment_index >= 0 && c.segment_index < p.total_segments) {
        p.segments[static_cast<std::size_t>(c.segment_index)] = SegmentState::kDone;
      }
    }
  }

  switch (job.status) {
    case JobStatus::kCreated:
    case JobStatus::kFailed:
    case JobStatus::kCancelled:
    case JobStatus::kDeleted:
      p.percent = 0;
      break;
    case JobStatus::kChunkingInProgress:
    case JobStatus::kChunkingComplete:
      p.percent = p.total_segments > 0
                      ? kChunkedPercent + (kConvertedPercent - kChunkedPercent) *
                                              p.segments_completed / p.total_segments
                      : kChunkedPercent / 2;
      break;
    case JobStatus::kReassembling:
      p.percent = kConvertedPercent;
      break;
    case JobStatus::kCompleted:
      p.percent = 100;
      break;
  }
  // A failed job shows how far it got.
  if ((job.status == JobStatus::kFailed || job.status == JobStatus::kCancelled) &&
      p.total_segments > 0) {
    p.percent = (kConvertedPercent - kChunkedPercent) * p.segments_completed / p.total_segments;
  }

  const std::int64_t now = Now();
  std::int64_t last_progress = job.updated_at;
  std::int64_t last_completion = 0;
  for (const SegmentCompletion& c : completions) {
    last_completion = std::max(last_completion, c.completed_at);
  }
  last_progress = std::max(last_progress, last_completion);

  // ETA from the completion rate since conversion could start (the upload).
  const std::int64_t started = job.started_at != 0 ? job.started_at : job.uploaded_at;
  if ((job.status == JobStatus::kChunkingInProgress ||
       job.status == JobStatus::kChunkingComplete) &&
      p.total_segments > 0 && p.segments_completed > 0 && p.segments_completed < p.total_segments &&
      started > 0 && last_completion > started) {
    const double per_segment_ms =
        static_cast<double>(last_completion - started) / p.segments_completed;
    const double remaining_ms = per_segment_ms * (p.total_segments - p.segments_completed) -
                                static_cast<double>(now - last_completion);
    p.eta_seconds = std::max(0.0, remaining_ms / 1000.0);
  }

  const bool waiting_for_upload = job.status == JobStatus::kCreated && job.uploaded_at == 0;
  if (!IsTerminal(job.status) && !waiting_for_upload) {
    p.idle_ms = std::max<std::int64_t>(0, now - last_progress);
    bool lease_live = false;
    if (job.status == JobStatus::kReassembling) {
      Result<ReassemblyTrigger> trigger = jobs_.GetTrigger(job.job_id);
      lease_live = trigger.ok() && !trigger->lease_owner.empty() && trigger->lease_expires_at > now;
    }
    p.stalled = !lease_live && p.idle_ms >= options_.stalled_after.count();
  }
  p.job = std::move(job);
  return p;
}

Status JobService::SendJobMessage(WorkQueue& queue, const std::string& job_id) {
  Result<std::string> sent = queue.Send(EncodeJobMessage(JobMessage{job_id}));
  if (!sent.ok()) {
    ServiceLogger().Error(
        "cannot send message",
        {{"job_id", job_id}, {"queue", queue.name()}, {"error", sent.status().ToString()}});
    return sent.status().WithContext("sending to the " + queue.name() + " queue");
  }
  return Status::OK();
}

}  // namespace stereospot::pipeline
