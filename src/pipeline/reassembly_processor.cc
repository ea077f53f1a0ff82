// The reassembly handler (processors.h): converted segments + the source's audio -> final.mp4.
#include <chrono>

#include "core/conversion_params.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "media/reassembler.h"
#include "pipeline/lease_keeper.h"
#include "pipeline/processor_support.h"
#include "pipeline/processors.h"

namespace stereospot::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

const Logger& ReassemblyLog() {
  static const Logger logger("stereospot.reassembler");
  return logger;
}

// What players read from the container (DESIGN.md section 6). Cross-eyed output carries none:
// st3d has no "right eye first", and a player trusting it would swap the eyes.
media::StereoLayout ContainerStereoFor(Layout layout) {
  switch (layout) {
    case Layout::kSbs:
    case Layout::kHalfSbs:
      return media::StereoLayout::kSideBySide;
    case Layout::kTb:
    case Layout::kHalfTb:
      return media::StereoLayout::kTopBottom;
    case Layout::kAnaglyph:
    case Layout::kRgbd:
      return media::StereoLayout::kMono;
    case Layout::kCross:
      return media::StereoLayout::kNone;
  }
  return media::StereoLayout::kNone;
}

HandlerOutcome Skip(std::string_view job_id, std::string_view why) {
  auto fields = JobFields(job_id);
  fields.emplace_back("reason", why);
  ReassemblyLog().Info("reassembly message acknowledged without work", fields);
  return HandlerOutcome::Done();
}

Status Reassemble(const PipelinePorts& ports, const ProcessorOptions& options, const Job& job,
                  const LeaseKeeper& lease, WorkContext& context) {
  const auto start = Clock::now();
  const std::string& job_id = job.job_id;
  auto fields = JobFields(job_id);
  ReassemblyLog().Info("reassembly started", fields);
  JobWatch watch(*ports.jobs, job_id, {JobStatus::kReassembling}, options.job_check_interval);
  const auto stop = [&]() -> Status {
    if (context.cancelled()) return Status::Cancelled("reassembly abandoned");
    if (lease.lost()) return Status::Cancelled("lease lost: " + lease.loss_reason().message());
    if (watch.stopped()) return Status::Cancelled(watch.reason());
    return Status::OK();
  };

  auto params = ConversionParams::FromJson(job.params);
  if (!params.ok()) return params.status().WithContext("the job's parameters");
  STEREOSPOT_ASSIGN_OR_RETURN(auto completions, ports.jobs->ListCompletions(job_id));
  if (static_cast<int>(completions.size()) != job.total_segments || job.total_segments <= 0) {
    return Status::Internal("reassembly found " + std::to_string(completions.size()) + " of " +
                            std::to_string(job.total_segments) + " segment completions");
  }
  STEREOSPOT_ASSIGN_OR_RETURN(ScratchDir scratch,
                              ScratchDir::Create(options.scratch_dir, "reassemble"));
  const std::string source = scratch.File("source");
  STEREOSPOT_RETURN_IF_ERROR(
      AsRetryable(ports.objects->GetFile(job.source_key, source), "fetching the source"));
  std::vector<std::string> segments;
  for (const SegmentCompletion& c : completions) {  // by segment index
    STEREOSPOT_RETURN_IF_ERROR(stop());
    segments.push_back(scratch.File("segment-" + std::to_string(c.segment_index) + ".mp4"));
    STEREOSPOT_RETURN_IF_ERROR(
        AsRetryable(ports.objects->GetFile(c.output_key, segments.back()),
                    "fetching converted segment " + std::to_string(c.segment_index)));
  }
  media::ReassembleOptions reassemble;
  reassemble.stereo = ContainerStereoFor(params->layout);
  const std::string output = scratch.File("final.mp4");
  auto stats = media::Reassemble(source, segments, output, reassemble);
  if (!stats.ok()) return stats.status().WithContext("joining the segments");
  STEREOSPOT_RETURN_IF_ERROR(stop());
  STEREOSPOT_RETURN_IF_ERROR(RequireStatus(*ports.jobs, job_id, {JobStatus::kReassembling}));
  STEREOSPOT_ASSIGN_OR_RETURN(std::string final_key, BuildFinalKey(job_id));
  STEREOSPOT_RETURN_IF_ERROR(
      AsRetryable(ports.objects->PutFile(final_key, output), "storing the final file"));
  STEREOSPOT_RETURN_IF_ERROR(stop());
  watch.Stop();  // the job leaves reassembling by our own hand now
  JobUpdate update;
  update.completed_at = NowMillis();
  Status completed =
      ports.jobs->TransitionStatus(job_id, JobStatus::kReassembling, JobStatus::kCompleted, update);
  if (completed.IsConflict()) return Status::Cancelled("the job moved on during reassembly");
  STEREOSPOT_RETURN_IF_ERROR(completed);
  fields.emplace_back("frames", stats->video_frames);
  fields.emplace_back("duration_seconds", stats->duration_seconds);
  fields.emplace_back("audio_streams",
                      stats->audio_streams_copied + stats->audio_streams_reencoded);
  fields.emplace_back("seconds", std::chrono::duration<double>(Clock::now() - start).count());
  ReassemblyLog().Info("job completed", fields);
  return Status::OK();
}

}  // namespace

MessageHandler MakeReassemblyHandler(const PipelinePorts& ports, const ProcessorOptions& options) {
  return [ports, options](const QueueMessage& message, WorkContext& context) -> HandlerOutcome {
    auto decoded = DecodeJobMessage(message.body);
    if (!decoded.ok()) return HandlerOutcome::Undecodable(decoded.status());
    const std::string& job_id = decoded->job_id;
    auto job = ports.jobs->Get(job_id);
    if (!job.ok()) {
      if (job.status().IsNotFound()) return Skip(job_id, "job not found");
      return HandlerOutcome::Error(job.status());
    }
    if (job->status != JobStatus::kReassembling) {
      return Skip(job_id, "job is " + std::string(JobStatusName(job->status)));
    }
    LeaseOptions lease_options;
    lease_options.ttl = options.lease_ttl;
    auto lease = LeaseKeeper::Acquire(*ports.jobs, job_id, options.worker_id, lease_options);
    if (!lease.ok()) {
      // Someone else holds a live lease: it is theirs; the janitor re-sends if they die.
      if (lease.status().IsConflict()) return Skip(job_id, "another worker holds the lease");
      return HandlerOutcome::Error(lease.status());
    }
    Status done = Reassemble(ports, options, *job, **lease, context);
    if (!done.ok()) {
      if (done.code() == StatusCode::kCancelled && !context.cancelled()) {
        return Skip(job_id, done.message());
      }
      return HandlerOutcome::Error(done);
    }
    Status released = (*lease)->Release();
    if (!released.ok()) {
      auto fields = JobFields(job_id);
      fields.emplace_back("reason", released.ToString());
      ReassemblyLog().Warn("releasing the lease failed; it expires by itself", fields);
    }
    return HandlerOutcome::Done();
  };
}

}  // namespace stereospot::pipeline
