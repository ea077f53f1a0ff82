// The stereo job's processors (DESIGN.md sections 5 and 6): one message handler per queue, for
// WorkerLoop (worker_loop.h).
//
//   chunking    created -> chunking_in_progress; fetch and probe the source (not a video:
//               the job fails at once); plan keyframe-aligned segments; cut by stream copy;
//               publish each segment and enqueue its message as soon as it is written;
//               -> chunking_complete; run the reassembly trigger.
//   segments    convert one segment (stereo_segment.h), verify the output (decodable, frame
//               count), publish it, record the completion, run the trigger.
//   reassembly  take the job's lease; join the converted segments with the source's audio and
//               subtitles; publish final.mp4; reassembling -> completed.
//   deletion    delete the objects a job no longer needs: intermediates of a failed or
//               cancelled job (its source stays for a retry), everything of a deleted job.
//
// Every handler is idempotent: keys are deterministic, completions and triggers are created
// once, status writes are conditional. A message for a job that has moved on (cancelled,
// failed, completed, retried) is acknowledged without work. While a handler works it re-reads
// the job every job_check_interval: once the job is cancelled (or failed elsewhere) it stops
// and writes nothing more.
//
// Errors a handler reports: kUnavailable (store or I/O trouble: retried with backoff),
// kCancelled (shutdown: released), anything else permanent (the job fails with the stage and
// reason through MakeFailJobHook).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "media/segment_plan.h"
#include "pipeline/metrics.h"
#include "pipeline/worker_loop.h"
#include "ports/job_store.h"
#include "ports/object_store.h"
#include "ports/work_queue.h"

namespace stereospot::pipeline {

// The counter video workers add encoded frames to as they go (every 25 frames and at a segment's
// end; segments that fail or are redone count too): a live measure of progress, which `convert`
// shows. Registered in PipelinePorts::metrics when that is set.
inline constexpr std::string_view kFramesEncodedMetric = "stereospot_frames_encoded_total";
inline constexpr std::string_view kFramesEncodedHelp =
    "Frames encoded by video workers as they go, including segments that did not complete.";

// The stores and queues the processors work on; all must outlive the handlers.
struct PipelinePorts {
  JobStore* jobs = nullptr;
  ObjectStore* objects = nullptr;
  WorkQueue* chunking = nullptr;
  WorkQueue* segments = nullptr;
  WorkQueue* reassembly = nullptr;
  WorkQueue* deletion = nullptr;
  MetricsRegistry* metrics = nullptr;  // may be null
};

struct ProcessorOptions {
  // Names this worker in completions, leases and logs ("host:pid/video-1").
  std::string worker_id = "worker";
  // Local scratch space; each message gets a directory of its own, removed when it is done.
  std::filesystem::path scratch_dir = std::filesystem::temp_directory_path();
  // How often running work re-reads its job to notice a cancel. Default: 5 s.
  std::chrono::milliseconds job_check_interval{std::chrono::seconds(5)};
  // The reassembly lease (lease_keeper.h; `reassembly.lease_seconds`). Default: 60 s.
  std::chrono::milliseconds lease_ttl{std::chrono::seconds(60)};
  // Cut points (media/segment_plan.h).
  media::SegmentPlanOptions plan;
  // Codec threads per segment conversion; 0 = automatic.
  int codec_threads = 0;
  // Frames between progress log lines of a segment conversion. Default: 250.
  int progress_every = 250;
};

MessageHandler MakeChunkingHandler(const PipelinePorts& ports, const ProcessorOptions& options);
MessageHandler MakeSegmentHandler(const PipelinePorts& ports, const ProcessorOptions& options);
MessageHandler MakeReassemblyHandler(const PipelinePorts& ports, const ProcessorOptions& options);
MessageHandler MakeDeletionHandler(const PipelinePorts& ports, const ProcessorOptions& options);

// The final-failure hook of a stage's queue: marks the message's job failed with `stage` and
// the reason, unless the job already ended. Bodies without a valid job id are ignored.
FinalFailureHook MakeFailJobHook(JobStore& jobs, std::string stage);

// Fails `job_id` with {stage, message} from whatever non-terminal status it has (retrying a
// few times when the status moves underneath). OK when the job already ended.
Status FailJob(JobStore& jobs, std::string_view job_id, std::string_view stage,
               std::string_view message);

}  // namespace stereospot::pipeline
