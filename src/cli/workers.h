// Worker processes' wiring: the pipeline's ports from an opened backend, and a WorkerPool sized
// and tuned from the configuration (`serve`, `worker`, `convert`).
#pragma once

#include <chrono>
#include <memory>

#include "cli/cli_context.h"
#include "cli/wiring.h"
#include "core/config.h"
#include "pipeline/worker_pool.h"

namespace stereospot::cli {

enum class WorkerRole { kMedia, kVideo, kAll };

// kInvalidArgument for anything but "media", "video" or "all".
Result<WorkerRole> ParseWorkerRole(std::string_view name);

// The stores and queues of `backend` for the processors; kNotFound if a queue is missing.
Result<pipeline::PipelinePorts> PortsOf(const Backend& backend, pipeline::MetricsRegistry* metrics);

// Pool options from the configuration: worker counts (workers.media / workers.video, 0 = sized
// from this machine), visibility, long-poll wait and max receives (queue.*), scratch space under
// <data_dir>/scratch, and this process's worker id (host:pid).
pipeline::WorkerPoolOptions PoolOptionsFrom(const Config& config, WorkerRole role, bool janitor);

// How a process runs its pool, beyond the configuration.
struct WorkerTuning {
  // Lowers the workers' CPU priority (serve: the HTTP API shares the process).
  int niceness = 0;
  // How late an idle worker notices Stop() (pipeline::WorkerLoopOptions::stop_latency). A
  // one-shot `convert` stops its pool the moment its job ends, and the process's wall time
  // includes this wait; long-running processes keep the default and poll less.
  std::chrono::milliseconds stop_latency{std::chrono::seconds(1)};
  // Keeps freed frame memory in the process's heap for the next segment (fewer page faults; see
  // KeepFrameMemory in workers.cc). Off for `serve`: there the HTTP threads share the heap, and
  // the API's p99 latency under load rose to 28-44 ms (median 34) in 7 runs of
  // bench/http_bench.sh (200 connections), against a median of 21 ms in 33 runs without.
  bool keep_frame_memory = true;
};

// Starts a pool over `backend` (which must outlive it).
Result<std::unique_ptr<pipeline::WorkerPool>> StartWorkers(const Config& config,
                                                           const Backend& backend, WorkerRole role,
                                                           bool janitor,
                                                           pipeline::MetricsRegistry* metrics,
                                                           const WorkerTuning& tuning = {});

void RegisterWorkerCommands(CLI::App& app, CliContext& ctx);
void RegisterConvertCommand(CLI::App& app, CliContext& ctx);
// Adds retry, cancel, delete, recover-chunking and trigger-reassembly under `jobs` (which
// RegisterJobsCommands must have created).
void RegisterJobActionCommands(CLI::App& app, CliContext& ctx);

}  // namespace stereospot::cli
