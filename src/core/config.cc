#include "core/config.h"

#include <charconv>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>

#include <toml++/toml.h>

extern char** environ;

namespace stereospot {
namespace {

enum class Kind { kString, kInt };

// One setting: how to read it from text and print it back, with its validation.
struct Option {
  std::string key;
  Kind kind;
  std::string description;
  std::function<Status(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
};

Result<int> ParseInt(const std::string& key, const std::string& text, int lo, int hi) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument("'" + key + "' must be an integer, got '" + text + "'");
  }
  if (value < lo || value > hi) {
    return Status::InvalidArgument("'" + key + "' must be in [" + std::to_string(lo) + ", " +
                                   std::to_string(hi) + "], got " + text);
  }
  return value;
}

Option IntOption(std::string key, int Config::*field, int lo, int hi, std::string description) {
  Option o{key, Kind::kInt, std::move(description), nullptr, nullptr};
  o.set = [key, field, lo, hi](Config& c, const std::string& text) -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(c.*field, ParseInt(key, text, lo, hi));
    return Status::OK();
  };
  o.get = [field](const Config& c) { return std::to_string(c.*field); };
  return o;
}

Option StringOption(std::string key, std::string Config::*field, std::set<std::string> allowed,
                    std::string description) {
  Option o{key, Kind::kString, std::move(description), nullptr, nullptr};
  o.set = [key, field, allowed](Config& c, const std::string& text) -> Status {
    if (!allowed.empty() && allowed.count(text) == 0) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Status::InvalidArgument("'" + key + "' must be one of: " + list + "; got '" + text +
                                     "'");
    }
    if (allowed.empty() && text.empty()) {
      return Status::InvalidArgument("'" + key + "' must not be empty");
    }
    c.*field = text;
    return Status::OK();
  };
  o.get = [field](const Config& c) { return c.*field; };
  return o;
}

Status CheckListen(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("'server.listen' must be HOST:PORT, got '" + text + "'");
  }
  return ParseInt("server.listen port", text.substr(colon + 1), 1, 65535).status().ok()
             ? Status::OK()
             : Status::InvalidArgument("'server.listen' port must be in [1, 65535], got '" + text +
                                       "'");
}

const std::vector<Option>& Options() {
  static const std::vector<Option> options = [] {
    std::vector<Option> v;
    v.push_back(StringOption("backend", &Config::backend, {"embedded", "distributed"},
                             "embedded (SQLite + local directory) or distributed"));
    v.push_back(StringOption("data_dir", &Config::data_dir, {},
                             "directory of the embedded backend's database and objects"));
    Option listen =
        StringOption("server.listen", &Config::server_listen, {}, "HTTP address HOST:PORT");
    auto plain_set = listen.set;
    listen.set = [plain_set](Config& c, const std::string& text) -> Status {
      STEREOSPOT_RETURN_IF_ERROR(CheckListen(text));
      return plain_set(c, text);
    };
    v.push_back(std::move(listen));
    v.push_back(IntOption("queue.visibility_seconds", &Config::queue_visibility_seconds, 1, 43200,
                          "seconds a received message stays invisible"));
    v.push_back(IntOption("queue.max_receives", &Config::queue_max_receives, 1, 1000,
                          "deliveries before a message moves to its dead-letter queue"));
    v.push_back(IntOption("queue.wait_seconds", &Config::queue_wait_seconds, 0, 20,
                          "long-poll wait of a worker's receive"));
    v.push_back(IntOption("queue.poll_interval_ms", &Config::queue_poll_interval_ms, 10, 10000,
                          "how often a waiting receive re-checks the database"));
    v.push_back(IntOption("workers.media", &Config::workers_media, 0, 256,
                          "media workers (chunking, reassembly); 0 = automatic"));
    v.push_back(IntOption("workers.video", &Config::workers_video, 0, 256,
                          "video workers (segment conversion); 0 = automatic"));
    v.push_back(StringOption("log.level", &Config::log_level, {"debug", "info", "warn", "error"},
                             "lowest level logged"));
    v.push_back(
        StringOption("log.format", &Config::log_format, {"plain", "json"}, "log line format"));
    v.push_back(IntOption("sqlite.busy_timeout_ms", &Config::sqlite_busy_timeout_ms, 100, 600000,
                          "how long a SQLite writer waits for the lock"));
    v.push_back(StringOption("sqlite.synchronous", &Config::sqlite_synchronous, {"normal", "full"},
                             "normal survives process crashes; full also power loss"));
    return v;
  }();
  return options;
}

const Option* FindOption(std::string_view key) {
  for (const auto& o : Options()) {
    if (o.key == key) return &o;
  }
  return nullptr;
}

std::string EnvName(const std::string& key) {
  std::string out = "STEREOSPOT_";
  for (char c : key) out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(c)));
  return out;
}

Status ApplyText(LoadedConfig& loaded, const std::string& key, const std::string& text,
                 ConfigOrigin origin, const std::string& where) {
  const Option* option = FindOption(key);
  if (option == nullptr) {
    return Status::InvalidArgument(where + ": unknown setting '" + key +
                                   "' (run 'stereospot config keys' for the list)");
  }
  Status s = option->set(loaded.config, text);
  if (!s.ok()) return s.WithContext(where);
  loaded.origins[key] = origin;
  return Status::OK();
}

// Walks a TOML table, turning nested tables into dotted keys.
Status ApplyToml(LoadedConfig& loaded, const toml::table& table, const std::string& prefix,
                 const std::string& where) {
  for (const auto& [name, node] : table) {
    std::string key =
        prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    if (const toml::table* sub = node.as_table()) {
      STEREOSPOT_RETURN_IF_ERROR(ApplyToml(loaded, *sub, key, where));
      continue;
    }
    const Option* option = FindOption(key);
    if (option == nullptr) {
      return Status::InvalidArgument(where + ": unknown setting '" + key + "'");
    }
    std::string text;
    if (option->kind == Kind::kInt) {
      auto value = node.value<std::int64_t>();
      if (!node.is_integer() || !value) {
        return Status::InvalidArgument(where + ": '" + key + "' must be an integer");
      }
      text = std::to_string(*value);
    } else {
      auto value = node.value<std::string>();
      if (!node.is_string() || !value) {
        return Status::InvalidArgument(where + ": '" + key + "' must be a string");
      }
      text = *value;
    }
    STEREOSPOT_RETURN_IF_ERROR(ApplyText(loaded, key, text, ConfigOrigin::kFile, where));
  }
  return Status::OK();
}

Status ApplyFile(LoadedConfig& loaded, const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return Status::NotFound("configuration file '" + file.string() + "' does not exist");
  }
  // toml++ is built with exceptions here: a syntax error is a toml::parse_error, caught at once.
  toml::table table;
  try {
    table = toml::parse_file(file.string());
  } catch (const toml::parse_error& err) {
    std::ostringstream where;
    where << file.string() << ":" << err.source().begin.line << ":" << err.source().begin.column;
    return Status::InvalidArgument(where.str() + ": " + std::string(err.description()));
  }
  loaded.file = file;
  return ApplyToml(loaded, table, "", file.string());
}

}  // namespace

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("STEREOSPOT_", 0) != 0) continue;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Result<LoadedConfig> LoadConfig(const ConfigSources& sources) {
  LoadedConfig loaded;
  for (const auto& o : Options()) loaded.origins[o.key] = ConfigOrigin::kDefault;

  std::filesystem::path file = sources.file;
  if (file.empty()) {
    auto it = sources.environment.find("STEREOSPOT_CONFIG");
    if (it != sources.environment.end()) file = it->second;
  }
  if (!file.empty()) STEREOSPOT_RETURN_IF_ERROR(ApplyFile(loaded, file));

  // Environment: every STEREOSPOT_ variable must name a setting (or be STEREOSPOT_CONFIG).
  std::map<std::string, const Option*> by_env;
  for (const auto& o : Options()) by_env[EnvName(o.key)] = &o;
  for (const auto& [name, value] : sources.environment) {
    if (name == "STEREOSPOT_CONFIG") continue;
    auto it = by_env.find(name);
    if (it == by_env.end()) {
      return Status::InvalidArgument("environment: unknown variable " + name +
                                     " (run 'stereospot config keys' for the list)");
    }
    STEREOSPOT_RETURN_IF_ERROR(ApplyText(loaded, it->second->key, value, ConfigOrigin::kEnvironment,
                                         "environment " + name));
  }
  for (const auto& [key, value] : sources.flags) {
    STEREOSPOT_RETURN_IF_ERROR(ApplyText(loaded, key, value, ConfigOrigin::kFlag, "flag"));
  }
  return loaded;
}

std::string DescribeConfig(const LoadedConfig& loaded) {
  std::ostringstream out;
  out << "# configuration file: " << (loaded.file.empty() ? "(none)" : loaded.file.string())
      << "\n";
  for (const auto& o : Options()) {
    const char* origin = "default";
    switch (loaded.origins.at(o.key)) {
      case ConfigOrigin::kDefault:
        origin = "default";
        break;
      case ConfigOrigin::kFile:
        origin = "file";
        break;
      case ConfigOrigin::kEnvironment:
        origin = "environment";
        break;
      case ConfigOrigin::kFlag:
        origin = "flag";
        break;
    }
    std::string value = o.get(loaded.config);
    if (o.kind == Kind::kString) value = "\"" + value + "\"";
    out << o.key << " = " << value << "  # " << origin << "\n";
  }
  return out.str();
}

std::vector<std::pair<std::string, std::string>> ConfigKeyDescriptions() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& o : Options())
    out.emplace_back(o.key, o.description + " [" + EnvName(o.key) + "]");
  return out;
}

}  // namespace stereospot
