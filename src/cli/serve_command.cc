// `stereospot serve`: opens the embedded backend and runs until SIGINT or SIGTERM.
//
// The HTTP API and the workers are added by their own issues (#6, #7); until then serve makes
// the data directory ready, reports where its data lives and the queue depths, and waits.
#include <csignal>
#include <iostream>
#include <thread>

#include "cli/cli_context.h"
#include "cli/wiring.h"
#include "core/log.h"

namespace stereospot::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int RunServe(const GlobalOptions& globals, const std::string& listen) {
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
  std::cout << "StereoSpot is running with the " << backend->description << "\n"
            << "HTTP API and workers are not part of this build yet; the stores and queues are "
               "ready. Press Ctrl-C to stop.\n"
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
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  log.Info("stopping");
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, CliContext& ctx) {
  CLI::App* serve = app.add_subcommand("serve", "Run the service with the embedded backend");
  auto listen = std::make_shared<std::string>();
  serve->add_option("--listen", *listen, "HTTP address HOST:PORT (default 127.0.0.1:8080)");
  serve->callback([&ctx, listen] { ctx.exit_code = RunServe(ctx.globals, *listen); });
}

}  // namespace stereospot::cli
