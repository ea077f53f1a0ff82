#include "pipeline/worker_pool.h"

#include <algorithm>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"

namespace stereospot::pipeline {

WorkerCounts DefaultWorkerCounts(unsigned cores, std::uint64_t memory_bytes) {
  WorkerCounts counts;
  const int by_cores = std::max(1, static_cast<int>(cores) / 2);
  const int by_memory = std::max(1, static_cast<int>(memory_bytes / (4ULL << 30)));
  counts.video = std::min(by_cores, by_memory);
  counts.media = 1;
  return counts;
}

WorkerPool::WorkerPool(const PipelinePorts& ports, WorkerPoolOptions options)
    : ports_(ports), options_(std::move(options)) {}

WorkerPool::~WorkerPool() {
  Stop();
  Join();
}

void WorkerPool::AddLoop(WorkQueue* queue, MessageHandler handler, FinalFailureHook hook,
                         const std::string& component) {
  WorkerLoopOptions loop = options_.loop;
  loop.component = component;
  loop.metrics = ports_.metrics;
  loops_.push_back(std::make_unique<WorkerLoop>(*queue, std::move(handler), std::move(hook), loop));
}

Status WorkerPool::Start() {
  if (ports_.jobs == nullptr || ports_.objects == nullptr || ports_.chunking == nullptr ||
      ports_.segments == nullptr || ports_.reassembly == nullptr || ports_.deletion == nullptr) {
    return Status::InvalidArgument("worker pool: every store and queue is required");
  }
  if (options_.media_workers < 0 || options_.video_workers < 0 ||
      options_.media_workers + options_.video_workers == 0) {
    return Status::InvalidArgument("worker pool: at least one media or video worker is needed");
  }
  if (!threads_.empty()) return Status::InvalidArgument("worker pool already started");

  const auto processor_for = [&](const std::string& id) {
    ProcessorOptions p = options_.processor;
    p.worker_id = options_.processor.worker_id + "/" + id;
    return p;
  };
  for (int i = 0; i < options_.media_workers; ++i) {
    const std::string n = std::to_string(i + 1);
    AddLoop(ports_.chunking, MakeChunkingHandler(ports_, processor_for("chunking-" + n)),
            MakeFailJobHook(*ports_.jobs, "chunking"), "stereospot.media_worker");
    AddLoop(ports_.reassembly, MakeReassemblyHandler(ports_, processor_for("reassembly-" + n)),
            MakeFailJobHook(*ports_.jobs, "reassembly"), "stereospot.media_worker");
  }
  if (options_.media_workers > 0) {
    // Deletion never fails a job: the job has already ended.
    AddLoop(ports_.deletion, MakeDeletionHandler(ports_, processor_for("deletion-1")), {},
            "stereospot.media_worker");
  }
  for (int i = 0; i < options_.video_workers; ++i) {
    const std::string id = "video-" + std::to_string(i + 1);
    AddLoop(ports_.segments, MakeSegmentHandler(ports_, processor_for(id)),
            MakeFailJobHook(*ports_.jobs, "conversion"), "stereospot.video_worker");
  }
  const int niceness = std::clamp(options_.worker_niceness, 0, 19);
  for (auto& loop : loops_) {
    threads_.emplace_back([raw = loop.get(), niceness] {
      // Linux keeps a nice value per thread; threads this one starts (x264's) inherit it.
      if (niceness > 0) {
        const auto tid = static_cast<id_t>(syscall(SYS_gettid));
        (void)setpriority(PRIO_PROCESS, tid, getpriority(PRIO_PROCESS, tid) + niceness);
      }
      Status s = raw->Run();
      if (!s.ok())
        Logger("stereospot.worker").Error("worker loop ended", {{"reason", s.ToString()}});
    });
  }
  if (options_.janitor_interval.count() > 0) {
    JanitorOptions janitor = options_.janitor;
    if (janitor.metrics == nullptr) janitor.metrics = ports_.metrics;
    if (janitor.dead_letter_stages.empty()) {
      janitor.dead_letter_stages = {{ports_.chunking, "chunking"},
                                    {ports_.segments, "conversion"},
                                    {ports_.reassembly, "reassembly"}};
    }
    janitor_ =
        std::make_unique<Janitor>(*ports_.jobs, *ports_.reassembly, *ports_.objects, janitor);
    threads_.emplace_back([this] { RunJanitor(); });
  }
  Logger("stereospot.worker")
      .Info("workers started", {{"media_workers", options_.media_workers},
                                {"video_workers", options_.video_workers},
                                {"threads", static_cast<int>(threads_.size())},
                                {"worker_id", options_.processor.worker_id}});
  return Status::OK();
}

void WorkerPool::RunJanitor() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto findings = janitor_->RunOnce();
    if (!findings.ok()) {
      Logger("stereospot.janitor")
          .Warn("janitor pass failed", {{"reason", findings.status().ToString()}});
    }
    lock.lock();
    wake_.wait_for(lock, options_.janitor_interval, [this] { return stopping_; });
  }
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& loop : loops_) loop->Stop();
}

void WorkerPool::Join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

}  // namespace stereospot::pipeline
