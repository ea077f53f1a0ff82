// `stereospot api`: the HTTP API and web UI without workers (DESIGN.md section 2), until SIGINT
// or SIGTERM.
#include "cli/api_command.h"

#include <csignal>
#include <iostream>
#include <thread>

#include "core/log.h"
#include "server/http_util.h"

namespace stereospot::cli {
namespace {

volatile std::sig_atomic_t g_api_stop = 0;
void OnApiSignal(int) { g_api_stop = 1; }

int RunApi(const GlobalOptions& globals, const std::string& listen, bool insecure_no_auth) {
  GlobalOptions effective = globals;
  if (!listen.empty()) effective.sets.push_back("server.listen=" + listen);
  auto loaded = LoadConfigOrReport(effective);
  if (!loaded) return kExitUsage;
  auto backend = OpenBackend(loaded->config, OpenMode::kCreate);
  if (!backend.ok()) return ReportError(backend.status());
  pipeline::MetricsRegistry metrics;
  auto http = StartHttpServer(loaded->config, *backend, insecure_no_auth, metrics);
  if (!http.ok()) {
    ReportError(http.status());
    return http.status().IsInvalidArgument() ? kExitUsage : kExitFailure;
  }
  std::cout << "StereoSpot API and web UI on http://" << loaded->config.server_listen
            << "/ (no workers in this process). Press Ctrl-C to stop.\n"
            << std::flush;
  std::signal(SIGINT, OnApiSignal);
  std::signal(SIGTERM, OnApiSignal);
  while (!g_api_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Logger("stereospot.api").Info("stopping");
  (*http)->Stop();
  return kExitOk;
}

}  // namespace

Result<std::unique_ptr<server::HttpServer>> StartHttpServer(const Config& config, Backend& backend,
                                                            bool insecure_no_auth,
                                                            pipeline::MetricsRegistry& metrics) {
  server::HttpServerOptions options;
  options.listen = config.server_listen;
  options.insecure_no_auth = insecure_no_auth;
  options.max_upload_bytes = static_cast<std::uint64_t>(config.server_max_upload_mb) << 20;
  options.upload_dir = std::filesystem::path(config.data_dir) / "uploads";
  const bool distributed = config.backend == "distributed";
  if (config.server_direct_transfers == "on" && !distributed) {
    return Status::InvalidArgument(
        "server.direct_transfers = \"on\" needs the distributed backend (S3): with the embedded "
        "backend this server is the object store");
  }
  options.direct_transfers = config.server_direct_transfers == "on" ||
                             (config.server_direct_transfers == "auto" && distributed);
  if (!config.server_auth_token_file.empty()) {
    STEREOSPOT_ASSIGN_OR_RETURN(options.auth_tokens,
                                server::LoadTokenFile(config.server_auth_token_file));
  }
  server::ServerQueues queues;
  STEREOSPOT_ASSIGN_OR_RETURN(queues.chunking, backend.Queue(kChunkingQueue));
  STEREOSPOT_ASSIGN_OR_RETURN(queues.segments, backend.Queue(kSegmentsQueue));
  STEREOSPOT_ASSIGN_OR_RETURN(queues.reassembly, backend.Queue(kReassemblyQueue));
  STEREOSPOT_ASSIGN_OR_RETURN(queues.deletion, backend.Queue(kDeletionQueue));
  auto http = std::make_unique<server::HttpServer>(std::move(options), *backend.jobs,
                                                   *backend.objects, queues, metrics);
  STEREOSPOT_RETURN_IF_ERROR(http->Start());
  return http;
}

void RegisterApiCommand(CLI::App& app, CliContext& ctx) {
  CLI::App* api = app.add_subcommand("api", "Run the HTTP API and web UI only (no workers)");
  auto listen = std::make_shared<std::string>();
  auto insecure = std::make_shared<bool>(false);
  api->add_option("--listen", *listen, "HTTP address HOST:PORT (default 127.0.0.1:8080)");
  api->add_flag("--insecure-no-auth", *insecure,
                "Allow a non-loopback address without API tokens (anyone who can reach it can "
                "run and delete jobs)");
  api->callback(
      [&ctx, listen, insecure] { ctx.exit_code = RunApi(ctx.globals, *listen, *insecure); });
}

}  // namespace stereospot::cli
