// Worker processes' wiring: the pipeline's ports from an opened backend, and a WorkerPool sized
// and tuned from the configuration (`serve`, `worker`, `convert`).
#pragma once

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

// Starts a pool over `backend` (which must outlive it).
// `niceness` lowers the workers' CPU priority (serve: the HTTP API shares the process).
Result<std::unique_ptr<pipeline::WorkerPool>> StartWorkers(const Config& config,
                                                           const Backend& backend, WorkerRole role,
                                                           bool janitor,
                                                           pipeline::MetricsRegistry* metrics,
                                                           int niceness = 0);

void RegisterWorkerCommands(CLI::App& app, CliContext& ctx);
void RegisterConvertCommand(CLI::App& app, CliContext& ctx);
// Adds retry, cancel, delete, recover-chunking and trigger-reassembly under `jobs` (which
// RegisterJobsCommands must have created).
void RegisterJobActionCommands(CLI::App& app, CliContext& ctx);

}  // namespace stereospot::cli
