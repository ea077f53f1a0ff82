// WorkerPool: the worker threads of one process (`serve`, `worker --role`, `convert`): one
// WorkerLoop per thread over the processors of processors.h, and optionally the janitor.
//
//   media role: `media_workers` loops on chunking and as many on reassembly, plus one on
//               deletion (cheap, bursty work);
//   video role: `video_workers` loops on segments (the heavy work; each uses codec_threads).
// Every loop has its own handler and worker id (`<worker_id>/<queue>-<n>`), so leases and
// completions name the thread that did the work.
//
// Stop() asks every loop to stop and the janitor to end; Join() waits for them. With
// loop.abandon_in_flight a stopping loop releases the message in hand at once (another worker,
// or this one after a restart, picks it up); without it each loop first finishes its message.
//
// Threading: Start, Stop and Join from one owning thread; Stop may also be called from any
// thread (a signal watcher). The ports must outlive the pool.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "pipeline/janitor.h"
#include "pipeline/processors.h"
#include "pipeline/worker_loop.h"

namespace stereospot::pipeline {

struct WorkerCounts {
  int media = 1;
  int video = 1;
};

// Counts for a machine with `cores` and `memory_bytes`: one video worker per two cores (each
// encodes with two threads), bounded by 4 GB of memory per worker (a 2160p source converted to
// full SBS peaks at 3.7 GB, a 1080p one at 1.5 GB); one media worker.
WorkerCounts DefaultWorkerCounts(unsigned cores, std::uint64_t memory_bytes);

struct WorkerPoolOptions {
  int media_workers = 1;  // 0: no media role
  int video_workers = 1;  // 0: no video role
  // Settings shared by every loop (component and metrics are set per loop).
  WorkerLoopOptions loop;
  // Settings of every processor; worker_id is the prefix of each loop's id.
  ProcessorOptions processor;
  // Scheduling niceness added to worker threads (and the codec threads they start, which
  // inherit it): conversion is batch work, so a process that also serves HTTP (`serve`) keeps
  // answering promptly while every core converts. 0..19. Default: 0.
  int worker_niceness = 0;
  // How often the janitor runs; 0: no janitor in this pool.
  std::chrono::milliseconds janitor_interval{0};
  JanitorOptions janitor;
};

class WorkerPool {
 public:
  WorkerPool(const PipelinePorts& ports, WorkerPoolOptions options);
  ~WorkerPool();  // Stop() and Join()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts the threads. kInvalidArgument for missing ports or bad counts.
  Status Start();
  void Stop();
  void Join();
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void AddLoop(WorkQueue* queue, MessageHandler handler, FinalFailureHook hook,
               const std::string& component);
  void RunJanitor();

  PipelinePorts ports_;
  WorkerPoolOptions options_;
  std::vector<std::unique_ptr<WorkerLoop>> loops_;
  std::unique_ptr<Janitor> janitor_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
};

}  // namespace stereospot::pipeline
