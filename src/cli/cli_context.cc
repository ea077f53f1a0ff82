#include "cli/cli_context.h"

#include <iostream>

#include <unistd.h>

#include "core/log.h"

namespace stereospot::cli {

std::optional<LoadedConfig> LoadConfigOrReport(const GlobalOptions& globals) {
  ConfigSources sources;
  sources.file = globals.config_file;
  sources.environment = ProcessEnvironment();
  if (!globals.data_dir.empty()) sources.flags.emplace_back("data_dir", globals.data_dir);
  for (const auto& set : globals.sets) {
    auto eq = set.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "error: --set expects KEY=VALUE, got '" << set << "'\n";
      return std::nullopt;
    }
    sources.flags.emplace_back(set.substr(0, eq), set.substr(eq + 1));
  }
  auto loaded = LoadConfig(sources);
  if (!loaded.ok()) {
    std::cerr << "error: configuration: " << loaded.status().message() << "\n";
    return std::nullopt;
  }
  ConfigureLogging(ParseLogLevel(loaded->config.log_level),
                   loaded->config.log_format == "json" ? LogFormat::kJson : LogFormat::kPlain);
  return std::move(loaded).value();
}

int ReportError(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return status.IsInvalidArgument() ? kExitUsage : kExitFailure;
}

bool Confirm(const std::string& question) {
  if (!isatty(STDIN_FILENO)) {
    std::cerr << question << " -- refusing without --yes (stdin is not a terminal)\n";
    return false;
  }
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

}  // namespace stereospot::cli
