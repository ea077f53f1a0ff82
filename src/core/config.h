// Configuration: defaults < TOML file < STEREOSPOT_* environment < command-line flags.
//
// Every setting has a dotted key ("queue.visibility_seconds"); its environment variable is
// STEREOSPOT_ plus the key in upper case with dots as underscores
// (STEREOSPOT_QUEUE_VISIBILITY_SECONDS); its flag form is `--set key=value`. STEREOSPOT_CONFIG
// names the TOML file when --config does not. Unknown keys, in any source, are errors, as are
// values of the wrong type or out of range: a typo never silently falls back to a default.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace stereospot {

struct Config {
  // "embedded" (SQLite + local directory) or "distributed" (PostgreSQL + S3).
  std::string backend = "embedded";
  // Where the embedded backend keeps its database and objects. Default: ./data
  std::string data_dir = "./data";

  // HTTP server address. Default: 127.0.0.1:8080
  std::string server_listen = "127.0.0.1:8080";

  // Queue behaviour (DESIGN.md section 5).
  int queue_visibility_seconds = 120;  // a received message stays invisible this long
  int queue_max_receives = 5;          // deliveries before a message moves to its DLQ
  int queue_wait_seconds = 20;         // long-poll wait of a worker's receive
  int queue_poll_interval_ms = 200;    // how often a waiting receive re-checks the database

  // Worker counts in `serve` and `worker`; 0 = sized from cores and memory.
  int workers_media = 0;
  int workers_video = 0;

  // Logging: level debug|info|warn|error; format plain|json.
  std::string log_level = "info";
  std::string log_format = "plain";

  // SQLite: how long a writer waits for the lock, and the synchronous mode. "normal" in WAL mode
  // survives any process crash; "full" also survives power loss, at a cost per commit.
  int sqlite_busy_timeout_ms = 10000;
  std::string sqlite_synchronous = "normal";
};

// Where a setting's effective value came from.
enum class ConfigOrigin { kDefault, kFile, kEnvironment, kFlag };

struct ConfigSources {
  std::filesystem::path file;                      // empty: STEREOSPOT_CONFIG if set, else no file
  std::map<std::string, std::string> environment;  // usually ProcessEnvironment()
  std::vector<std::pair<std::string, std::string>> flags;  // key, value; later wins
};

struct LoadedConfig {
  Config config;
  std::map<std::string, ConfigOrigin> origins;  // by key
  std::filesystem::path file;                   // the file read, if any
};

// The STEREOSPOT_* variables of this process.
std::map<std::string, std::string> ProcessEnvironment();

// Applies the sources in precedence order and validates the result. Errors name the source, the
// key and what is allowed, and are kInvalidArgument (kNotFound for a missing file).
Result<LoadedConfig> LoadConfig(const ConfigSources& sources);

// One line per setting: key, effective value, origin ("queue.max_receives = 5  (default)").
std::string DescribeConfig(const LoadedConfig& loaded);

// The list of known keys with a one-line description each, for --help and docs.
std::vector<std::pair<std::string, std::string>> ConfigKeyDescriptions();

}  // namespace stereospot
