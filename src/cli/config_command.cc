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
  // Reach the backend the configuration names: on the embedded backend creating nothing (a
  // missing data directory is a note: serve creates it); on the distributed one, PostgreSQL
  // (migrated) and the bucket (written to). Every failure is reported, not just the first.
  BackendCheck check = CheckBackend(loaded->config);
  for (const std::string& line : check.lines) {
    if (line.rfind("error: ", 0) == 0) {
      std::cerr << line << "\n";
    } else {
      std::cout << "# " << line << "\n";
    }
  }
  return check.ok ? kExitOk : kExitFailure;
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
