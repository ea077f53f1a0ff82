#include "cli/workers.h"

#include <filesystem>
#include <limits>
#include <thread>

#include <malloc.h>
#include <unistd.h>

#include "media/libav_log.h"

namespace stereospot::cli {

Result<WorkerRole> ParseWorkerRole(std::string_view name) {
  if (name == "media") return WorkerRole::kMedia;
  if (name == "video") return WorkerRole::kVideo;
  if (name == "all") return WorkerRole::kAll;
  return Status::InvalidArgument("unknown worker role '" + std::string(name) +
                                 "' (one of: media, video, all)");
}

Result<pipeline::PipelinePorts> PortsOf(const Backend& backend,
                                        pipeline::MetricsRegistry* metrics) {
  pipeline::PipelinePorts ports;
  ports.jobs = backend.jobs.get();
  ports.objects = backend.objects.get();
  STEREOSPOT_ASSIGN_OR_RETURN(ports.chunking, backend.Queue(kChunkingQueue));
  STEREOSPOT_ASSIGN_OR_RETURN(ports.segments, backend.Queue(kSegmentsQueue));
  STEREOSPOT_ASSIGN_OR_RETURN(ports.reassembly, backend.Queue(kReassemblyQueue));
  STEREOSPOT_ASSIGN_OR_RETURN(ports.deletion, backend.Queue(kDeletionQueue));
  ports.metrics = metrics;
  return ports;
}

namespace {

std::string ThisWorkerId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "host") + ":" + std::to_string(getpid());
}

std::uint64_t PhysicalMemory() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 4ULL << 30;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
}

// Every segment opens a decoder and an encoder whose picture buffers (hundreds of MB at 4K
// output, much of it in x264's transparent huge pages) are freed when the segment ends. glibc's
// defaults hand such blocks back to the kernel (mmap for blocks over its threshold, trimming of
// free heap tops, and per-thread arenas that the codecs' new threads land in), so the next
// segment faults every page in again and the kernel zeroes it. Kept in the heap instead, the
// next segment reuses them: on a 20 s 1080p clip in 4 segments, page faults fell from 240k to
// 145k and system CPU time from 3.5 s to 2.3 s. The cost: the process keeps its peak heap,
// which the worker sizing already budgets (4 GB per video worker).
void KeepFrameMemory(unsigned cores) {
  constexpr int kLargestHeapBlock = 32 << 20;  // glibc's limit for M_MMAP_THRESHOLD
  // Free memory at the heap's top is returned above this: the most mallopt takes, above the peak
  // of one 3840x1080 conversion (about 1.5 GB). Lower, the end of every segment trims it.
  constexpr int kTrimAbove = std::numeric_limits<int>::max();
  mallopt(M_MMAP_THRESHOLD, kLargestHeapBlock);
  mallopt(M_TRIM_THRESHOLD, kTrimAbove);
  // Fewer arenas, so a thread that a new segment starts reuses memory an earlier one freed.
  mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, cores / 2)));
}

}  // namespace

pipeline::WorkerPoolOptions PoolOptionsFrom(const Config& config, WorkerRole role, bool janitor) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const pipeline::WorkerCounts sized = pipeline::DefaultWorkerCounts(cores, PhysicalMemory());
  pipeline::WorkerPoolOptions options;
  options.media_workers = config.workers_media > 0 ? config.workers_media : sized.media;
  options.video_workers = config.workers_video > 0 ? config.workers_video : sized.video;
  if (role == WorkerRole::kMedia) options.video_workers = 0;
  if (role == WorkerRole::kVideo) options.media_workers = 0;
  options.loop.visibility = std::chrono::seconds(config.queue_visibility_seconds);
  options.loop.wait = std::chrono::seconds(config.queue_wait_seconds);
  options.loop.max_receives = config.queue_max_receives;
  // Stopping releases the message in hand at once: every step is idempotent, so another worker
  // (or this one after a restart) redoes it, and a stop never waits out a long segment.
  options.loop.abandon_in_flight = true;
  options.processor.worker_id = ThisWorkerId();
  options.processor.scratch_dir = std::filesystem::path(config.data_dir) / "scratch";
  // A cancel is noticed within one heartbeat (a third of the visibility).
  options.processor.job_check_interval =
      std::max(std::chrono::milliseconds(200), options.loop.visibility / 3);
  // The video workers share the cores: each encodes with its share of them. A single video
  // worker leaves the choice to the codecs (x264 runs more frame threads than cores, which keeps
  // them busy while our callback works).
  options.processor.codec_threads =
      options.video_workers > 1 ? std::max(1, static_cast<int>(cores) / options.video_workers) : 0;
  options.processor.lease_ttl = std::chrono::seconds(config.reassembly_lease_seconds);
  options.processor.plan.target_seconds = config.chunking_target_seconds;
  options.processor.plan.max_bytes =
      static_cast<std::int64_t>(config.chunking_max_segment_mb) * 1000 * 1000;
  options.processor.plan.min_segments = config.chunking_min_segments;
  if (janitor) options.janitor_interval = std::chrono::seconds(60);
  return options;
}

Result<std::unique_ptr<pipeline::WorkerPool>> StartWorkers(const Config& config,
                                                           const Backend& backend, WorkerRole role,
                                                           bool janitor,
                                                           pipeline::MetricsRegistry* metrics,
                                                           const WorkerTuning& tuning) {
  STEREOSPOT_ASSIGN_OR_RETURN(pipeline::PipelinePorts ports, PortsOf(backend, metrics));
  media::RouteLibavLogs();
  if (tuning.keep_frame_memory && role != WorkerRole::kMedia) {
    KeepFrameMemory(std::max(1u, std::thread::hardware_concurrency()));
  }
  pipeline::WorkerPoolOptions options = PoolOptionsFrom(config, role, janitor);
  options.worker_niceness = tuning.niceness;
  options.loop.stop_latency = tuning.stop_latency;
  auto pool = std::make_unique<pipeline::WorkerPool>(ports, std::move(options));
  STEREOSPOT_RETURN_IF_ERROR(pool->Start());
  return pool;
}

}  // namespace stereospot::cli
