#include "core/config.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>

#include <toml++/toml.h>

extern char** environ;

namespace stereospot {
namespace {

enum class Kind { kString, kInt, kBool };

// One setting: how to read it from text and print it back, with its validation. `show`, when
// set, is what DescribeConfig prints instead of `get` (secrets masked).
struct Option {
  std::string key;
  Kind kind;
  std::string description;
  std::function<Status(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
  std::function<std::string(const Config&)> show = nullptr;
};

// The AWS variables that fill s3.* credentials no StereoSpot source sets.
constexpr const char* kAwsAccessKeyId = "AWS_ACCESS_KEY_ID";
constexpr const char* kAwsSecretAccessKey = "AWS_SECRET_ACCESS_KEY";
constexpr const char* kAwsSessionToken = "AWS_SESSION_TOKEN";

bool IsAwsCredentialVariable(std::string_view name) {
  return name == kAwsAccessKeyId || name == kAwsSecretAccessKey || name == kAwsSessionToken;
}

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

// A string that may be empty (meaning "not set"), with an optional check of non-empty values.
Option OptionalStringOption(std::string key, std::string Config::*field, std::string description,
                            std::function<Status(const std::string&)> check = nullptr) {
  Option o{key, Kind::kString, std::move(description), nullptr, nullptr};
  o.set = [field, check](Config& c, const std::string& text) -> Status {
    if (check && !text.empty()) STEREOSPOT_RETURN_IF_ERROR(check(text));
    c.*field = text;
    return Status::OK();
  };
  o.get = [field](const Config& c) { return c.*field; };
  return o;
}

Option BoolOption(std::string key, bool Config::*field, std::string description) {
  Option o{key, Kind::kBool, std::move(description), nullptr, nullptr};
  o.set = [key, field](Config& c, const std::string& text) -> Status {
    if (text == "true" || text == "1" || text == "yes") {
      c.*field = true;
    } else if (text == "false" || text == "0" || text == "no") {
      c.*field = false;
    } else {
      return Status::InvalidArgument("'" + key + "' must be true or false, got '" + text + "'");
    }
    return Status::OK();
  };
  o.get = [field](const Config& c) { return std::string(c.*field ? "true" : "false"); };
  return o;
}

// "****" for a set secret, "" for an unset one.
std::string MaskSecret(const std::string& secret) { return secret.empty() ? "" : "****"; }

// The last four characters of an access key id, enough to tell keys apart.
std::string MaskKeyId(const std::string& id) {
  if (id.empty()) return "";
  return "****" + (id.size() > 8 ? id.substr(id.size() - 4) : std::string());
}

Status CheckSchemaName(const std::string& text) {
  if (text.size() > 63) {
    return Status::InvalidArgument("'postgres.schema' must be at most 63 bytes, got " +
                                   std::to_string(text.size()));
  }
  return Status::OK();
}

Status CheckEndpoint(const std::string& text) {
  if (text.rfind("http://", 0) != 0 && text.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("'s3.endpoint' must start with http:// or https://, got '" +
                                   text + "'");
  }
  return Status::OK();
}

// S3's bucket naming rules: 3 to 63 of a-z, 0-9, '.', '-', starting and ending with a letter or
// digit.
Status CheckBucket(const std::string& text) {
  bool ok = text.size() >= 3 && text.size() <= 63;
  for (char ch : text) {
    ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-');
  }
  ok = ok && std::isalnum(static_cast<unsigned char>(text.front())) &&
       std::isalnum(static_cast<unsigned char>(text.back()));
  if (!ok) {
    return Status::InvalidArgument(
        "'s3.bucket' must be 3 to 63 characters of a-z, 0-9, '.' and '-', starting and ending "
        "with a letter or digit; got '" +
        text + "'");
  }
  return Status::OK();
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
    v.push_back(IntOption("server.max_upload_mb", &Config::server_max_upload_mb, 1, 1048576,
                          "largest accepted upload, MiB"));
    v.push_back(StringOption("server.auth_token_file", &Config::server_auth_token_file, {},
                             "file of API tokens, one per line (empty: no auth, loopback only)"));
    v.push_back(StringOption("server.direct_transfers", &Config::server_direct_transfers,
                             {"auto", "on", "off"},
                             "clients upload and download through signed object-store URLs: "
                             "auto (on with S3), on, off"));
    v.push_back(IntOption("queue.visibility_seconds", &Config::queue_visibility_seconds, 1, 43200,
                          "seconds a received message stays invisible"));
    v.push_back(IntOption("queue.max_receives", &Config::queue_max_receives, 1, 1000,
                          "deliveries before a message moves to its dead-letter queue"));
    v.push_back(IntOption("queue.wait_seconds", &Config::queue_wait_seconds, 0, 20,
                          "long-poll wait of a worker's receive"));
    v.push_back(IntOption("queue.poll_interval_ms", &Config::queue_poll_interval_ms, 10, 10000,
                          "how often a waiting receive re-checks the database"));
    v.push_back(IntOption("reassembly.lease_seconds", &Config::reassembly_lease_seconds, 3, 3600,
                          "reassembly lease: a dead reassembler's job is taken over this long "
                          "after its last renewal"));
    v.push_back(IntOption("workers.media", &Config::workers_media, 0, 256,
                          "media workers (chunking, reassembly); 0 = automatic"));
    v.push_back(IntOption("workers.video", &Config::workers_video, 0, 256,
                          "video workers (segment conversion); 0 = automatic"));
    v.push_back(IntOption("chunking.target_seconds", &Config::chunking_target_seconds, 1, 86400,
                          "aimed-for segment duration, seconds"));
    v.push_back(IntOption("chunking.max_segment_mb", &Config::chunking_max_segment_mb, 1, 100000,
                          "segments larger than this are split further at keyframes, MB"));
    v.push_back(IntOption("chunking.min_segments", &Config::chunking_min_segments, 1, 10000,
                          "fewest segments a long enough video is cut into"));
    v.push_back(StringOption("log.level", &Config::log_level, {"debug", "info", "warn", "error"},
                             "lowest level logged"));
    v.push_back(
        StringOption("log.format", &Config::log_format, {"plain", "json"}, "log line format"));
    v.push_back(IntOption("sqlite.busy_timeout_ms", &Config::sqlite_busy_timeout_ms, 100, 600000,
                          "how long a SQLite writer waits for the lock"));
    v.push_back(StringOption("sqlite.synchronous", &Config::sqlite_synchronous, {"normal", "full"},
                             "normal survives process crashes; full also power loss"));

    Option conninfo = OptionalStringOption(
        "postgres.conninfo", &Config::postgres_conninfo,
        "distributed: libpq connection string or URI (password: PGPASSWORD or ~/.pgpass)");
    conninfo.show = [](const Config& c) { return RedactConninfo(c.postgres_conninfo); };
    v.push_back(std::move(conninfo));
    v.push_back(StringOption("postgres.schema", &Config::postgres_schema, {},
                             "distributed: PostgreSQL schema of every table (made on connect)"));
    auto schema_set = v.back().set;
    v.back().set = [schema_set](Config& c, const std::string& text) -> Status {
      STEREOSPOT_RETURN_IF_ERROR(CheckSchemaName(text));
      return schema_set(c, text);
    };
    v.push_back(IntOption("postgres.pool_size", &Config::postgres_pool_size, 1, 1000,
                          "distributed: most PostgreSQL connections per process"));
    v.push_back(OptionalStringOption("s3.endpoint", &Config::s3_endpoint,
                                     "distributed: scheme://host[:port] of the S3 API (empty: AWS)",
                                     CheckEndpoint));
    v.push_back(StringOption("s3.region", &Config::s3_region, {},
                             "distributed: S3 signing region (the bucket's region on AWS)"));
    v.push_back(OptionalStringOption("s3.bucket", &Config::s3_bucket,
                                     "distributed: the bucket every object lives in", CheckBucket));
    Option key_id =
        OptionalStringOption("s3.access_key_id", &Config::s3_access_key_id,
                             "distributed: S3 access key id (default: $AWS_ACCESS_KEY_ID)");
    key_id.show = [](const Config& c) { return MaskKeyId(c.s3_access_key_id); };
    v.push_back(std::move(key_id));
    Option secret =
        OptionalStringOption("s3.secret_access_key", &Config::s3_secret_access_key,
                             "distributed: S3 secret access key (default: $AWS_SECRET_ACCESS_KEY)");
    secret.show = [](const Config& c) { return MaskSecret(c.s3_secret_access_key); };
    v.push_back(std::move(secret));
    Option token = OptionalStringOption(
        "s3.session_token", &Config::s3_session_token,
        "distributed: S3 session token of temporary credentials (default: $AWS_SESSION_TOKEN)");
    token.show = [](const Config& c) { return MaskSecret(c.s3_session_token); };
    v.push_back(std::move(token));
    v.push_back(BoolOption("s3.path_style", &Config::s3_path_style,
                           "distributed: true: endpoint/bucket/key; false: bucket.endpoint/key"));
    v.push_back(IntOption("s3.part_size_mb", &Config::s3_part_size_mb, 5, 5120,
                          "distributed: S3 multipart part size, MiB"));
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
    if (option->kind == Kind::kBool) {
      auto value = node.value<bool>();
      if (!node.is_boolean() || !value) {
        return Status::InvalidArgument(where + ": '" + key + "' must be true or false");
      }
      text = *value ? "true" : "false";
    } else if (option->kind == Kind::kInt) {
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

// Credentials from AWS_* when no StereoSpot source set s3.access_key_id or s3.secret_access_key:
// the key id, secret and token are taken together, never mixed across sources.
void ApplyAwsCredentials(LoadedConfig& loaded, const std::map<std::string, std::string>& env) {
  if (loaded.origins.at("s3.access_key_id") != ConfigOrigin::kDefault ||
      loaded.origins.at("s3.secret_access_key") != ConfigOrigin::kDefault) {
    return;
  }
  auto take = [&](const char* name, std::string Config::*field, const char* key) {
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) return;
    loaded.config.*field = it->second;
    loaded.origins[key] = ConfigOrigin::kEnvironment;
  };
  take(kAwsAccessKeyId, &Config::s3_access_key_id, "s3.access_key_id");
  take(kAwsSecretAccessKey, &Config::s3_secret_access_key, "s3.secret_access_key");
  if (loaded.origins.at("s3.session_token") == ConfigOrigin::kDefault) {
    take(kAwsSessionToken, &Config::s3_session_token, "s3.session_token");
  }
}

// Rules across settings, checked once every source is applied.
Status CheckCombination(const Config& c) {
  if (c.backend != "distributed") return Status::OK();
  std::vector<std::string> missing;
  if (c.postgres_conninfo.empty()) {
    missing.push_back(
        "postgres.conninfo (STEREOSPOT_POSTGRES_CONNINFO), e.g. \"host=db.internal "
        "dbname=stereospot user=stereospot\"");
  }
  if (c.s3_bucket.empty()) missing.push_back("s3.bucket (STEREOSPOT_S3_BUCKET)");
  if (c.s3_access_key_id.empty()) {
    missing.push_back("s3.access_key_id (or AWS_ACCESS_KEY_ID in the environment)");
  }
  if (c.s3_secret_access_key.empty()) {
    missing.push_back("s3.secret_access_key (or AWS_SECRET_ACCESS_KEY in the environment)");
  }
  if (missing.empty()) return Status::OK();
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : "; ") + m;
  return Status::InvalidArgument("backend = \"distributed\" needs " + list);
}

// key=value pairs of a libpq keyword/value string: values plain or single-quoted with
// backslash escapes. Each pair's value span is reported through `visit`.
void ForEachKeyword(const std::string& s,
                    const std::function<void(const std::string& key, const std::string& value,
                                             std::size_t begin, std::size_t end)>& visit) {
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  while (true) {
    skip_space();
    if (i >= s.size()) return;
    std::size_t key_begin = i;
    while (i < s.size() && s[i] != '=' && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::string key = s.substr(key_begin, i - key_begin);
    skip_space();
    if (i >= s.size() || s[i] != '=') return;  // malformed: libpq reports it at connect
    ++i;
    skip_space();
    std::size_t value_begin = i;
    std::string value;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i++]);
      }
      if (i < s.size()) ++i;  // closing quote
    } else {
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i++]);
      }
    }
    visit(key, value, value_begin, i);
  }
}

bool IsUri(const std::string& s) {
  return s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0;
}

// The URI's parts: authority (userinfo@hostspec) and query, as offsets.
struct UriParts {
  std::size_t authority_begin = 0, authority_end = 0;
  std::size_t query_begin = std::string::npos;
};

UriParts SplitUri(const std::string& s) {
  UriParts p;
  p.authority_begin = s.find("://") + 3;
  p.authority_end = s.find_first_of("/?", p.authority_begin);
  if (p.authority_end == std::string::npos) p.authority_end = s.size();
  auto q = s.find('?', p.authority_begin);
  if (q != std::string::npos) p.query_begin = q + 1;
  return p;
}

// name=value pairs of a URI query, with their value spans.
void ForEachQueryParam(const std::string& s, std::size_t begin,
                       const std::function<void(const std::string&, const std::string&, std::size_t,
                                                std::size_t)>& visit) {
  std::size_t i = begin;
  while (i < s.size()) {
    std::size_t end = s.find('&', i);
    if (end == std::string::npos) end = s.size();
    std::size_t eq = s.find('=', i);
    if (eq != std::string::npos && eq < end) {
      visit(s.substr(i, eq - i), s.substr(eq + 1, end - eq - 1), eq + 1, end);
    }
    i = end + 1;
  }
}

// The spans of `conninfo` holding a password value, as [begin, end) offsets.
std::vector<std::pair<std::size_t, std::size_t>> PasswordSpans(const std::string& conninfo) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  auto collect = [&](const std::string& key, const std::string&, std::size_t b, std::size_t e) {
    if (key == "password") spans.emplace_back(b, e);
  };
  if (!IsUri(conninfo)) {
    ForEachKeyword(conninfo, collect);
    return spans;
  }
  UriParts p = SplitUri(conninfo);
  // userinfo is everything before the last '@' of the authority; the password follows its ':'.
  std::size_t at = conninfo.rfind('@', p.authority_end == 0 ? 0 : p.authority_end - 1);
  if (at != std::string::npos && at >= p.authority_begin) {
    std::size_t colon = conninfo.find(':', p.authority_begin);
    if (colon != std::string::npos && colon < at) spans.emplace_back(colon + 1, at);
  }
  if (p.query_begin != std::string::npos) ForEachQueryParam(conninfo, p.query_begin, collect);
  return spans;
}

}  // namespace

std::string RedactConninfo(const std::string& conninfo) {
  std::string out = conninfo;
  auto spans = PasswordSpans(conninfo);
  // Replace from the back so earlier offsets stay valid.
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    out.replace(it->first, it->second - it->first, "****");
  }
  return out;
}

std::string ConninfoAddress(const std::string& conninfo) {
  std::string host;
  std::string port;
  auto collect = [&](const std::string& key, const std::string& value, std::size_t, std::size_t) {
    if (key == "host" || (key == "hostaddr" && host.empty())) host = value;
    if (key == "port") port = value;
  };
  if (IsUri(conninfo)) {
    UriParts p = SplitUri(conninfo);
    std::string authority = conninfo.substr(p.authority_begin, p.authority_end - p.authority_begin);
    auto at = authority.rfind('@');
    std::string hostspec = at == std::string::npos ? authority : authority.substr(at + 1);
    hostspec = hostspec.substr(0, hostspec.find(','));  // the first of several hosts
    std::size_t colon = hostspec.rfind(':');
    if (!hostspec.empty() && hostspec.front() == '[') {  // [IPv6]:port
      auto close = hostspec.find(']');
      host = hostspec.substr(1, close == std::string::npos ? std::string::npos : close - 1);
      if (close != std::string::npos && close + 1 < hostspec.size() && hostspec[close + 1] == ':')
        port = hostspec.substr(close + 2);
    } else if (colon != std::string::npos) {
      host = hostspec.substr(0, colon);
      port = hostspec.substr(colon + 1);
    } else {
      host = hostspec;
    }
    if (p.query_begin != std::string::npos) ForEachQueryParam(conninfo, p.query_begin, collect);
  } else {
    ForEachKeyword(conninfo, collect);
  }
  host = host.substr(0, host.find(','));
  port = port.substr(0, port.find(','));
  if (host.empty()) {
    const char* env = std::getenv("PGHOST");
    host = env != nullptr && *env != '\0' ? env : "localhost";
  }
  if (port.empty()) {
    const char* env = std::getenv("PGPORT");
    port = env != nullptr && *env != '\0' ? env : "5432";
  }
  return host + ":" + port;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    if (entry.rfind("STEREOSPOT_", 0) != 0 && !IsAwsCredentialVariable(entry.substr(0, eq))) {
      continue;
    }
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
    if (name == "STEREOSPOT_CONFIG" || IsAwsCredentialVariable(name)) continue;
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
  ApplyAwsCredentials(loaded, sources.environment);
  STEREOSPOT_RETURN_IF_ERROR(CheckCombination(loaded.config));
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
    std::string value = o.show ? o.show(loaded.config) : o.get(loaded.config);
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
