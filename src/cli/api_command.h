// The HTTP server's wiring, shared by `stereospot api` (API and web UI only) and `stereospot
// serve` (everything in one process).
#pragma once

#include <memory>

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"
#include "cli/wiring.h"
#include "core/config.h"
#include "core/result.h"
#include "pipeline/metrics.h"
#include "server/http_server.h"

namespace stereospot::cli {

// Builds and starts the HTTP server for `config` on `backend` (which, like `metrics`, must
// outlive it): listen address, upload limit and API tokens from the server.* settings, partial
// uploads under <data_dir>/uploads. kInvalidArgument for a public address without tokens unless
// `insecure_no_auth`, or for a bad token file.
Result<std::unique_ptr<server::HttpServer>> StartHttpServer(const Config& config, Backend& backend,
                                                            bool insecure_no_auth,
                                                            pipeline::MetricsRegistry& metrics);

void RegisterApiCommand(CLI::App& app, CliContext& ctx);

}  // namespace stereospot::cli
