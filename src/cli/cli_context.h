// What every subcommand shares: the global options and how to turn them into a configuration.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/config.h"

namespace stereospot::cli {

// Exit codes of the stereospot binary.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and failed (unknown id, I/O error)
inline constexpr int kExitUsage = 2;    // bad arguments or configuration

struct GlobalOptions {
  std::string config_file;        // --config
  std::vector<std::string> sets;  // --set key=value
  std::string data_dir;           // --data-dir, shortcut for --set data_dir=...
};

struct CliContext {
  GlobalOptions globals;
  int exit_code = kExitOk;
};

// Loads the configuration from defaults, the file, the environment and the flags; on error
// prints it to stderr and returns nullopt (the caller exits with kExitUsage).
std::optional<LoadedConfig> LoadConfigOrReport(const GlobalOptions& globals);

// Prints "error: <message>" to stderr and returns the exit code for `status`.
int ReportError(const Status& status);

// Asks "<question> [y/N]" on a terminal; false when stdin is not a terminal (scripts must pass
// --yes) or the answer is not yes.
bool Confirm(const std::string& question);

void RegisterConfigCommands(CLI::App& app, CliContext& ctx);
void RegisterServeCommand(CLI::App& app, CliContext& ctx);
void RegisterJobsCommands(CLI::App& app, CliContext& ctx);
void RegisterQueueCommands(CLI::App& app, CliContext& ctx);

}  // namespace stereospot::cli
