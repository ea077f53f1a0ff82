// The chunking and deletion handlers, and the final-failure hook (processors.h).
#include <set>

#include "core/conversion_params.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "media/probe.h"
#include "media/segment_cutter.h"
#include "pipeline/processor_support.h"
#include "pipeline/processors.h"
#include "pipeline/trigger.h"

namespace stereospot::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

const Logger& ChunkerLog() {
  static const Logger logger("stereospot.chunker");
  return logger;
}

// Moves a created job to chunking_in_progress. Returns the job as it now is; a job found in any
// other status is returned as found (the caller decides).
Result<Job> StartChunking(JobStore& jobs, std::string_view job_id) {
  STEREOSPOT_ASSIGN_OR_RETURN(Job job, jobs.Get(job_id));
  if (job.status != JobStatus::kCreated) return job;
  JobUpdate update;
  update.started_at = NowMillis();
  Status moved =
      jobs.TransitionStatus(job_id, JobStatus::kCreated, JobStatus::kChunkingInProgress, update);
  if (!moved.ok() && !moved.IsConflict()) return moved;
  return jobs.Get(job_id);  // on a conflict someone else moved it: report what it is now
}

class Chunker {
 public:
  Chunker(const PipelinePorts& ports, const ProcessorOptions& options)
      : ports_(ports), options_(options) {}

  HandlerOutcome Handle(const QueueMessage& message, WorkContext& context) {
    auto decoded = DecodeJobMessage(message.body);
    if (!decoded.ok()) return HandlerOutcome::Undecodable(decoded.status());
    const std::string& job_id = decoded->job_id;
    auto job = StartChunking(*ports_.jobs, job_id);
    if (!job.ok()) {
      if (job.status().IsNotFound()) return Skip(job_id, "job not found");
      return HandlerOutcome::Error(job.status());
    }
    switch (job->status) {
      case JobStatus::kChunkingInProgress:
        break;  // ours to chunk (a redelivery after a crash starts over: every step repeats)
      case JobStatus::kChunkingComplete:
      case JobStatus::kReassembling: {
        // A duplicate delivery after chunking finished: make sure the trigger ran.
        auto trigger =
            MaybeTriggerReassembly(*ports_.jobs, *ports_.reassembly, job_id, ports_.metrics);
        if (!trigger.ok()) return HandlerOutcome::Error(trigger.status());
        return Skip(job_id, "already chunked");
      }
      default:
        return Skip(job_id, "job is " + std::string(JobStatusName(job->status)));
    }
    Status chunked = Chunk(*job, context);
    if (!chunked.ok()) {
      if (chunked.code() == StatusCode::kCancelled && !context.cancelled()) {
        return Skip(job_id, chunked.message());  // the job was cancelled under us
      }
      return HandlerOutcome::Error(chunked);
    }
    return HandlerOutcome::Done();
  }

 private:
  HandlerOutcome Skip(std::string_view job_id, std::string_view why) {
    auto fields = JobFields(job_id);
    fields.emplace_back("reason", why);
    ChunkerLog().Info("chunking message acknowledged without work", fields);
    return HandlerOutcome::Done();
  }

  Status Chunk(const Job& job, WorkContext& context) {
    const auto start = Clock::now();
    const std::string& job_id = job.job_id;
    auto fields = JobFields(job_id);
    ChunkerLog().Info("chunking started", fields);
    JobWatch watch(*ports_.jobs, job_id, {JobStatus::kChunkingInProgress},
                   options_.job_check_interval);
    const auto stop = [&]() -> Status {
      if (context.cancelled()) return Status::Cancelled("chunking abandoned");
      if (watch.stopped()) return Status::Cancelled(watch.reason());
      return Status::OK();
    };

    auto params = ConversionParams::FromJson(job.params);
    if (!params.ok()) return params.status().WithContext("the job's parameters");
    if (job.source_key.empty() || job.uploaded_at == 0) {
      return Status::Permanent("the job has no uploaded source");
    }
    STEREOSPOT_ASSIGN_OR_RETURN(ScratchDir scratch,
                                ScratchDir::Create(options_.scratch_dir, "chunk"));
    const std::string source = scratch.File("source");
    Status fetched = ports_.objects->GetFile(job.source_key, source);
    if (fetched.IsNotFound()) return Status::Permanent("the uploaded source is missing");
    STEREOSPOT_RETURN_IF_ERROR(AsRetryable(fetched, "fetching the source"));
    STEREOSPOT_RETURN_IF_ERROR(stop());

    auto info = media::Probe(source);
    if (!info.ok()) {
      if (info.status().IsRetryable()) return info.status();
      return Status::Permanent("not a decodable video: " + WithoutPath(info.status(), source));
    }
    auto plan = media::PlanSegments(*info, options_.plan);
    if (!plan.ok()) {
      return Status::Permanent("cannot cut the video into segments: " + plan.status().message());
    }
    const int total = plan->total();
    if (total > kMaxSegments) return Status::Permanent("the video needs too many segments");
    JobUpdate planned;
    planned.total_segments = total;
    planned.source_bytes = info->file_bytes;
    Status recorded = ports_.jobs->UpdateFields(job_id, planned, JobStatus::kChunkingInProgress);
    if (recorded.IsConflict()) return Status::Cancelled("the job moved on during chunking");
    STEREOSPOT_RETURN_IF_ERROR(recorded);
    fields.emplace_back("total_segments", total);
    ChunkerLog().Info("segments planned", fields);

    // On a redelivery, segments already converted need no message again.
    std::set<int> converted;
    STEREOSPOT_ASSIGN_OR_RETURN(auto completions, ports_.jobs->ListCompletions(job_id));
    for (const auto& c : completions) converted.insert(c.segment_index);

    media::CutOptions cut;
    cut.path_for = [&](const media::SegmentSpec& spec) {
      return scratch.File("segment-" + std::to_string(spec.index));
    };
    cut.on_written = [&](const media::WrittenSegment& segment) -> Status {
      STEREOSPOT_RETURN_IF_ERROR(stop());
      return Publish(job_id, segment, total, params->layout, converted.count(segment.spec.index));
    };
    auto written = media::CutSegments(source, *info, *plan, cut);
    if (!written.ok()) {
      const Status& s = written.status();
      if (s.code() == StatusCode::kCancelled || s.IsRetryable()) return s;
      return Status::Permanent("cutting the video failed: " + WithoutPath(s, source));
    }
    STEREOSPOT_RETURN_IF_ERROR(stop());
    watch.Stop();  // the job leaves chunking_in_progress by our own hand now

    Status completed = ports_.jobs->TransitionStatus(job_id, JobStatus::kChunkingInProgress,
                                                     JobStatus::kChunkingComplete);
    if (completed.IsConflict()) return Status::Cancelled("the job moved on during chunking");
    STEREOSPOT_RETURN_IF_ERROR(completed);
    auto f = fields;
    f.emplace_back("seconds", std::chrono::duration<double>(Clock::now() - start).count());
    ChunkerLog().Info("chunking complete", f);
    // Segments may all have finished before chunking did.
    auto trigger = MaybeTriggerReassembly(*ports_.jobs, *ports_.reassembly, job_id, ports_.metrics);
    if (!trigger.ok()) {
      f.emplace_back("reason", trigger.status().ToString());
      ChunkerLog().Warn("trigger check failed; the janitor will re-run it", f);
    }
    return Status::OK();
  }

  // Uploads one cut segment and enqueues its message, then frees its disk space.
  Status Publish(const std::string& job_id, const media::WrittenSegment& segment, int total,
                 Layout mode, bool already_converted) {
    STEREOSPOT_ASSIGN_OR_RETURN(std::string key,
                                BuildSegmentKey(job_id, segment.spec.index, total, mode));
    STEREOSPOT_RETURN_IF_ERROR(
        AsRetryable(ports_.objects->PutFile(key, segment.path), "storing a segment"));
    std::error_code ec;
    std::filesystem::remove(segment.path, ec);
    if (!already_converted) {
      SegmentMessage message{job_id, segment.spec.index, total, key, mode};
      STEREOSPOT_RETURN_IF_ERROR(ports_.segments->Send(EncodeSegmentMessage(message)).status());
    }
    auto fields = JobFields(job_id, segment.spec.index);
    fields.emplace_back("frames", segment.frames);
    fields.emplace_back("bytes", segment.bytes);
    ChunkerLog().Info("segment written", fields);
    return Status::OK();
  }

  PipelinePorts ports_;
  ProcessorOptions options_;
};

const Logger& DeletionLog() {
  static const Logger logger("stereospot.deletion");
  return logger;
}

}  // namespace

MessageHandler MakeChunkingHandler(const PipelinePorts& ports, const ProcessorOptions& options) {
  auto chunker = std::make_shared<Chunker>(ports, options);
  return [chunker](const QueueMessage& message, WorkContext& context) {
    return chunker->Handle(message, context);
  };
}

MessageHandler MakeDeletionHandler(const PipelinePorts& ports, const ProcessorOptions&) {
  return [ports](const QueueMessage& message, WorkContext&) -> HandlerOutcome {
    auto decoded = DecodeJobMessage(message.body);
    if (!decoded.ok()) return HandlerOutcome::Undecodable(decoded.status());
    const std::string& job_id = decoded->job_id;
    auto job = ports.jobs->Get(job_id);
    if (!job.ok()) {
      if (job.status().IsNotFound()) return HandlerOutcome::Done();
      return HandlerOutcome::Error(job.status());
    }
    std::vector<std::string> prefixes;
    auto add = [&](Result<std::string> prefix, std::string_view suffix = {}) -> Status {
      if (!prefix.ok()) return prefix.status();
      prefixes.push_back(*prefix + std::string(suffix));
      return Status::OK();
    };
    Status built = Status::OK();
    if (job->status == JobStatus::kDeleted) {
      built = add(InputPrefix(job_id));
      if (built.ok()) built = add(SegmentsPrefix(job_id));
      if (built.ok()) built = add(JobOutputPrefix(job_id));
    } else if (job->status == JobStatus::kFailed || job->status == JobStatus::kCancelled) {
      // Intermediates only: the source stays for a retry.
      built = add(SegmentsPrefix(job_id));
      if (built.ok()) built = add(JobOutputPrefix(job_id), "segments/");
    }
    if (!built.ok()) return HandlerOutcome::Error(built);
    std::uint64_t removed = 0;
    for (const std::string& prefix : prefixes) {
      auto n = ports.objects->DeletePrefix(prefix);
      if (!n.ok()) return HandlerOutcome::Error(AsRetryable(n.status(), "deleting " + prefix));
      removed += *n;
    }
    auto fields = JobFields(job_id);
    fields.emplace_back("status", JobStatusName(job->status));
    fields.emplace_back("objects_deleted", removed);
    DeletionLog().Info("job objects deleted", fields);
    return HandlerOutcome::Done();
  };
}

Status FailJob(JobStore& jobs, std::string_view job_id, std::string_view stage,
               std::string_view message) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    STEREOSPOT_ASSIGN_OR_RETURN(Job job, jobs.Get(job_id));
    if (IsTerminal(job.status)) return Status::OK();
    JobUpdate update;
    update.error = JobError{std::string(stage), std::string(message)};
    Status s = jobs.TransitionStatus(job_id, job.status, JobStatus::kFailed, update);
    if (!s.IsConflict()) return s;
  }
  return Status::Conflict("the job kept changing status; not marked failed");
}

FinalFailureHook MakeFailJobHook(JobStore& jobs, std::string stage) {
  return [&jobs, stage = std::move(stage)](const QueueMessage& message,
                                           const Status& status) -> Status {
    auto decoded = DecodeJobMessage(message.body);  // every body of ours has a job_id
    if (!decoded.ok()) return Status::OK();
    Status failed = FailJob(jobs, decoded->job_id, stage, status.message());
    auto fields = JobFields(decoded->job_id);
    fields.emplace_back("stage", stage);
    fields.emplace_back("reason", status.ToString());
    Logger("stereospot.worker").Error("job failed", fields);
    return failed;
  };
}

}  // namespace stereospot::pipeline
