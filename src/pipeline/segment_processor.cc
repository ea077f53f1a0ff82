// The segment conversion handler (processors.h): one segment through the stereo step.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>

#include "core/conversion_params.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "media/probe.h"
#include "pipeline/processor_support.h"
#include "pipeline/processors.h"
#include "pipeline/stereo_segment.h"
#include "pipeline/trigger.h"

namespace stereospot::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

const Logger& VideoLog() {
  static const Logger logger("stereospot.video_worker");
  return logger;
}

class SegmentConverter {
 public:
  SegmentConverter(const PipelinePorts& ports, const ProcessorOptions& options)
      : ports_(ports), options_(options) {
    if (ports_.metrics != nullptr) {
      auto seconds = ports_.metrics->GetHistogram("stereospot_segment_conversion_seconds",
                                                  "Wall time of one segment conversion.",
                                                  {1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 3600});
      if (seconds.ok()) seconds_ = *seconds;
      auto frames = ports_.metrics->GetCounter("stereospot_frames_converted_total",
                                               "Frames converted by video workers.");
      if (frames.ok()) frames_ = *frames;
      auto encoded = ports_.metrics->GetCounter(kFramesEncodedMetric, kFramesEncodedHelp);
      if (encoded.ok()) encoded_ = *encoded;
      auto fps = ports_.metrics->GetGauge("stereospot_segment_fps",
                                          "Frames per second of the last segment converted.");
      if (fps.ok()) fps_ = *fps;
    }
  }

  HandlerOutcome Handle(const QueueMessage& message, WorkContext& context) {
    auto decoded = DecodeSegmentMessage(message.body);
    if (!decoded.ok()) return HandlerOutcome::Undecodable(decoded.status());
    const SegmentMessage& segment = *decoded;
    auto job = ports_.jobs->Get(segment.job_id);
    if (!job.ok()) {
      if (job.status().IsNotFound()) return Skip(segment, "job not found");
      return HandlerOutcome::Error(job.status());
    }
    if (!StatusIn(job->status, {JobStatus::kChunkingInProgress, JobStatus::kChunkingComplete})) {
      return Skip(segment, "job is " + std::string(JobStatusName(job->status)));
    }
    if (job->total_segments != 0 && job->total_segments != segment.total_segments) {
      return Skip(segment, "message of an earlier attempt of the job");  // plan changed (retry)
    }
    auto completions = ports_.jobs->ListCompletions(segment.job_id);
    if (!completions.ok()) return HandlerOutcome::Error(completions.status());
    for (const auto& c : *completions) {
      if (c.segment_index == segment.segment_index) {
        RunTrigger(segment);  // a duplicate: the first delivery may have died before the check
        return Skip(segment, "segment already converted");
      }
    }
    Status converted = Convert(*job, segment, context);
    if (!converted.ok()) {
      if (converted.code() == StatusCode::kCancelled && !context.cancelled()) {
        return Skip(segment, converted.message());  // the job was cancelled under us
      }
      return HandlerOutcome::Error(converted);
    }
    RunTrigger(segment);
    return HandlerOutcome::Done();
  }

 private:
  HandlerOutcome Skip(const SegmentMessage& segment, std::string_view why) {
    auto fields = JobFields(segment.job_id, segment.segment_index);
    fields.emplace_back("reason", why);
    VideoLog().Info("segment message acknowledged without work", fields);
    return HandlerOutcome::Done();
  }

  void RunTrigger(const SegmentMessage& segment) {
    auto outcome =
        MaybeTriggerReassembly(*ports_.jobs, *ports_.reassembly, segment.job_id, ports_.metrics);
    if (!outcome.ok()) {
      auto fields = JobFields(segment.job_id, segment.segment_index);
      fields.emplace_back("reason", outcome.status().ToString());
      VideoLog().Warn("trigger check failed; the janitor will re-run it", fields);
    }
  }

  Status Convert(const Job& job, const SegmentMessage& segment, WorkContext& context) {
    const auto start = Clock::now();
    auto fields = JobFields(segment.job_id, segment.segment_index);
    fields.emplace_back("total_segments", segment.total_segments);
    VideoLog().Info("segment conversion started", fields);
    auto params = ConversionParams::FromJson(job.params);
    if (!params.ok()) return params.status().WithContext("the job's parameters");

    JobWatch watch(*ports_.jobs, segment.job_id,
                   {JobStatus::kChunkingInProgress, JobStatus::kChunkingComplete},
                   options_.job_check_interval);
    const auto stop = [&]() -> Status {
      if (context.cancelled()) return Status::Cancelled("segment conversion abandoned");
      if (watch.stopped()) return Status::Cancelled(watch.reason());
      return Status::OK();
    };

    STEREOSPOT_ASSIGN_OR_RETURN(ScratchDir scratch,
                                ScratchDir::Create(options_.scratch_dir, "segment"));
    const std::string input = scratch.File("input");
    STEREOSPOT_RETURN_IF_ERROR(
        AsRetryable(ports_.objects->GetFile(segment.segment_key, input), "fetching the segment"));
    std::string warmup;
    if (segment.segment_index > 0) {
      // The previous segment warms the depth normalisation, so the join does not show. The
      // chunker stores segments in order, so it exists whenever this one does.
      STEREOSPOT_ASSIGN_OR_RETURN(std::string previous,
                                  BuildSegmentKey(segment.job_id, segment.segment_index - 1,
                                                  segment.total_segments, segment.mode));
      warmup = scratch.File("warmup");
      STEREOSPOT_RETURN_IF_ERROR(
          AsRetryable(ports_.objects->GetFile(previous, warmup), "fetching the previous segment"));
    }
    STEREOSPOT_RETURN_IF_ERROR(stop());

    StereoSegmentOptions convert;
    convert.threads = options_.codec_threads;
    convert.cancelled = [&] { return context.cancelled() || watch.stopped(); };
    // Frames are counted every kCountEvery (a live count for progress displays); a log line is
    // written every progress_every.
    constexpr int kCountEvery = 25;
    std::int64_t counted = 0;
    const auto count_encoded = [&](std::int64_t frames) {
      if (encoded_ != nullptr && frames > counted) {
        encoded_->Increment(static_cast<double>(frames - counted));
      }
      counted = std::max(counted, frames);
    };
    convert.progress_every =
        options_.progress_every > 0 ? std::gcd(options_.progress_every, kCountEvery) : kCountEvery;
    convert.progress = [&](const StereoSegmentProgress& p) {
      count_encoded(p.frames);
      if (options_.progress_every <= 0 || p.frames % options_.progress_every != 0) return;
      auto f = fields;
      f.emplace_back("frames", p.frames);
      f.emplace_back("fps", p.seconds > 0 ? static_cast<double>(p.frames) / p.seconds : 0.0);
      VideoLog().Info("segment progress", f);
    };
    const std::string output = scratch.File("output.mp4");
    auto stats = ConvertStereoSegment(input, warmup, output, *params, convert);
    if (stats.ok()) count_encoded(stats->frames);
    if (!stats.ok()) {
      if (stats.status().code() == StatusCode::kCancelled) {
        STEREOSPOT_RETURN_IF_ERROR(stop());
      }
      return Status(stats.status().code(), "converting segment " +
                                               std::to_string(segment.segment_index) + ": " +
                                               WithoutPath(stats.status(), input));
    }
    // Verify before recording: the output must decode as a video with every frame.
    auto probed = media::Probe(output);
    if (!probed.ok() || probed->video_packets != stats->frames) {
      return Status::Unavailable("verification failed: " +
                                 (probed.ok() ? std::to_string(probed->video_packets) +
                                                    " frames in the output, " +
                                                    std::to_string(stats->frames) + " expected"
                                              : probed.status().ToString()));
    }
    STEREOSPOT_RETURN_IF_ERROR(stop());
    // The watch looks every job_check_interval; a fresh read narrows the window in which a
    // cancel's deletion pass could run before this output lands.
    STEREOSPOT_RETURN_IF_ERROR(
        RequireStatus(*ports_.jobs, segment.job_id,
                      {JobStatus::kChunkingInProgress, JobStatus::kChunkingComplete}));

    STEREOSPOT_ASSIGN_OR_RETURN(std::string output_key,
                                BuildOutputSegmentKey(segment.job_id, segment.segment_index));
    STEREOSPOT_RETURN_IF_ERROR(
        AsRetryable(ports_.objects->PutFile(output_key, output), "storing the converted segment"));
    STEREOSPOT_RETURN_IF_ERROR(stop());  // the heartbeat may have gone while storing

    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    SegmentCompletion completion;
    completion.job_id = segment.job_id;
    completion.segment_index = segment.segment_index;
    completion.output_key = output_key;
    completion.frames = stats->frames;
    completion.duration_seconds = probed->video_end_seconds - probed->start_seconds;
    completion.completed_at = NowMillis();
    completion.worker_id = options_.worker_id;
    completion.conversion_seconds = seconds;
    STEREOSPOT_RETURN_IF_ERROR(ports_.jobs->PutCompletion(completion));

    const double fps = seconds > 0 ? static_cast<double>(stats->frames) / seconds : 0.0;
    if (seconds_ != nullptr) seconds_->Observe(seconds);
    if (frames_ != nullptr) frames_->Increment(static_cast<double>(stats->frames));
    if (fps_ != nullptr) fps_->Set(fps);
    fields.emplace_back("frames", stats->frames);
    fields.emplace_back("warmup_frames", stats->warmup_frames);
    fields.emplace_back("scene_cuts", stats->scene_cuts);
    fields.emplace_back("seconds", seconds);
    fields.emplace_back("analysis_seconds", stats->analysis_seconds);
    fields.emplace_back("conversion_seconds", stats->conversion_seconds);
    fields.emplace_back("fps", fps);
    VideoLog().Info("segment completed", fields);
    return Status::OK();
  }

  PipelinePorts ports_;
  ProcessorOptions options_;
  Histogram* seconds_ = nullptr;
  Counter* frames_ = nullptr;
  Counter* encoded_ = nullptr;
  Gauge* fps_ = nullptr;
};

}  // namespace

MessageHandler MakeSegmentHandler(const PipelinePorts& ports, const ProcessorOptions& options) {
  auto converter = std::make_shared<SegmentConverter>(ports, options);
  return [converter](const QueueMessage& message, WorkContext& context) {
    return converter->Handle(message, context);
  };
}

}  // namespace stereospot::pipeline
