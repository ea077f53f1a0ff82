// `stereospot config check|keys`.
#include <filesystem>
#include <iostream>

#include "cli/cli_context.h"
#include "cli/wiring.h"

namespace stereospot::cli {
namespace {

int RunCheck(const GlobalOptions& globals) {
  auto loaded = LoadConfigOrReport(globals);
  if (!loaded) return kExitUsage;
  std::cout << DescribeConfig(*loaded);
  // Reach the backend the configuration names, creating nothing: a missing data directory is
  // reported as a note (serve creates it), anything else as an error.
  auto backend = OpenBackend(loaded->config, OpenMode::kMustExist);
  if (backend.ok()) {
    std::cout << "# backend reachable: " << backend->description << "\n";
    return kExitOk;
  }
  if (backend.status().IsNotFound()) {
    std::cout << "# note: " << backend.status().message() << "\n";
    return kExitOk;
  }
  return ReportError(backend.status());
}

}  // namespace

void RegisterConfigCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* config = app.add_subcommand("config", "Inspect the configuration");
  config->require_subcommand(1);
  config->add_subcommand("check", "Print the effective configuration and test the backend")
      ->callback([&ctx] { ctx.exit_code = RunCheck(ctx.globals); });
  config->add_subcommand("keys", "List every setting with its environment variable")
      ->callback([&ctx] {
        for (const auto& [key, description] : ConfigKeyDescriptions()) {
          std::cout << key << "\n    " << description << "\n";
        }
        ctx.exit_code = kExitOk;
      });
}

}  // namespace stereospot::cli
