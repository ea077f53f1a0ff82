// `stereospot serve`: the whole service in one process (DESIGN.md section 2): opens the
// configured backend, starts the HTTP API and web UI, the media and video workers and the
// janitor, and runs until SIGINT or SIGTERM. On stop, messages in hand are released for other
// workers (every step is idempotent), so a restart resumes every job.
#include <csignal>
#include <iostream>
#include <thread>

#include "cli/cli_context.h"
#include "cli/wiring.h"
#include "core/log.h"
#ifdef STEREOSPOT_HAVE_SERVER
#include "cli/api_command.h"
#endif
#ifdef STEREOSPOT_HAVE_WORKERS
#include "cli/workers.h"
#endif

namespace stereospot::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int RunServe(const GlobalOptions& globals, const std::string& listen, bool insecure_no_auth) {
  GlobalOptions effective = globals;
  if (!listen.empty()) effective.sets.push_back("server.listen=" + listen);
  auto loaded = LoadConfigOrReport(effective);
  if (!loaded) return kExitUsage;
  auto backend = OpenBackend(loaded->config, OpenMode::kCreate);
  if (!backend.ok()) return ReportError(backend.status());

  Logger log("stereospot.serve");
  log.Info("data ready",
           {{"backend", loaded->config.backend},
            {"data_dir",
             std::filesystem::absolute(loaded->config.data_dir).lexically_normal().string()}});
  std::cout << "StereoSpot is running with the " << backend->description
            << ". Press Ctrl-C to stop.\n"
            << std::flush;
  for (const auto& [name, queue] : backend->queues) {
    auto depth = queue->Depth();
    if (depth.ok()) {
      log.Info("queue", {{"queue", name},
                         {"visible", depth->visible},
                         {"in_flight", depth->in_flight},
                         {"dead_letter", depth->dead_letter}});
    }
  }
#ifdef STEREOSPOT_HAVE_SERVER
  pipeline::MetricsRegistry http_metrics;
  auto http = StartHttpServer(loaded->config, *backend, insecure_no_auth, http_metrics);
  if (!http.ok()) {
    ReportError(http.status());
    return http.status().IsInvalidArgument() ? kExitUsage : kExitFailure;
  }
  std::cout << "Web UI and API on http://" << loaded->config.server_listen << "/\n" << std::flush;
#else
  (void)insecure_no_auth;
#endif
#ifdef STEREOSPOT_HAVE_WORKERS
  // Workers and the janitor in this process (DESIGN.md section 2), publishing into the same
  // registry as /metrics when the server is built in.
#ifdef STEREOSPOT_HAVE_SERVER
  pipeline::MetricsRegistry& worker_metrics = http_metrics;
#else
  pipeline::MetricsRegistry worker_metrics;
#endif
  auto workers = StartWorkers(loaded->config, *backend, WorkerRole::kAll, /*janitor=*/true,
                              &worker_metrics, {.niceness = 10, .keep_frame_memory = false});
  if (!workers.ok()) return ReportError(workers.status());
#endif
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  log.Info("stopping");
#ifdef STEREOSPOT_HAVE_SERVER
  (*http)->Stop();
#endif
#ifdef STEREOSPOT_HAVE_WORKERS
  (*workers)->Stop();
  (*workers)->Join();
#endif
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, CliContext& ctx) {
  CLI::App* serve = app.add_subcommand("serve", "Run the service with the embedded backend");
  auto listen = std::make_shared<std::string>();
  auto insecure = std::make_shared<bool>(false);
  serve->add_option("--listen", *listen, "HTTP address HOST:PORT (default 127.0.0.1:8080)");
  serve->add_flag("--insecure-no-auth", *insecure,
                  "Allow a non-loopback address without API tokens (anyone who can reach it can "
                  "run and delete jobs)");
  serve->callback(
      [&ctx, listen, insecure] { ctx.exit_code = RunServe(ctx.globals, *listen, *insecure); });
}

}  // namespace stereospot::cli
