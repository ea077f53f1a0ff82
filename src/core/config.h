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
  // Largest accepted upload, in MiB. Default: 20480 (20 GiB)
  int server_max_upload_mb = 20480;
  // File of API tokens, one per line (bearer tokens for the API, and the web UI's login). Empty:
  // no authentication, which is allowed only on a loopback address. Default: empty
  std::string server_auth_token_file;
  // Uploads and downloads straight between clients and the object store through signed URLs
  // (the API server leaves the video data path): "auto" (on with the distributed backend's S3,
  // off with the embedded backend), "on" (refused with the embedded backend), "off". The S3
  // endpoint must then be reachable by the clients, and the bucket must allow the web UI's
  // origin by CORS (docs/distributed.md). Default: auto
  std::string server_direct_transfers = "auto";

  // Queue behaviour (DESIGN.md section 5).
  int queue_visibility_seconds = 120;  // a received message stays invisible this long
  int queue_max_receives = 5;          // deliveries before a message moves to its DLQ
  int queue_wait_seconds = 20;         // long-poll wait of a worker's receive
  int queue_poll_interval_ms = 200;    // how often a waiting receive re-checks the database
  // The reassembly lease (DESIGN.md section 4): renewed every third of it while a reassembler
  // works, so a dead reassembler's job is taken over this long after its last renewal.
  int reassembly_lease_seconds = 60;

  // Worker counts in `serve` and `worker`; 0 = sized from cores and memory.
  int workers_media = 0;
  int workers_video = 0;

  // Chunking (DESIGN.md section 6): aimed-for segment length and size, and the fewest segments a
  // long enough video is cut into so several workers share it.
  int chunking_target_seconds = 300;
  int chunking_max_segment_mb = 50;
  int chunking_min_segments = 4;

  // Logging: level debug|info|warn|error; format plain|json.
  std::string log_level = "info";
  std::string log_format = "plain";

  // SQLite: how long a writer waits for the lock, and the synchronous mode. "normal" in WAL mode
  // survives any process crash; "full" also survives power loss, at a cost per commit.
  int sqlite_busy_timeout_ms = 10000;
  std::string sqlite_synchronous = "normal";

  // The distributed backend's PostgreSQL (job store and queues; docs/distributed.md).
  // libpq connection string or URI; required with backend = "distributed". Keep the password
  // out of it (PGPASSWORD, ~/.pgpass); one written here is masked whenever it is printed.
  // Default: empty
  std::string postgres_conninfo;
  // Schema holding every table; created and migrated on connect. Default: "stereospot"
  std::string postgres_schema = "stereospot";
  // Most pooled connections per process (plus one listening). Default: 8
  int postgres_pool_size = 8;

  // The distributed backend's S3-compatible object store (docs/distributed.md).
  // scheme://host[:port] of the S3 API; empty: AWS S3 in s3.region. Default: empty
  std::string s3_endpoint;
  // Signing region (the bucket's region on AWS). Default: "us-east-1"
  std::string s3_region = "us-east-1";
  // The bucket; required with backend = "distributed". Default: empty
  std::string s3_bucket;
  // Credentials. When unset in every StereoSpot source they come from AWS_ACCESS_KEY_ID,
  // AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; required with backend = "distributed" (the
  // session token only with temporary credentials). Never printed: DescribeConfig masks them.
  std::string s3_access_key_id;
  std::string s3_secret_access_key;
  std::string s3_session_token;
  // true: endpoint/bucket/key; false: virtual-hosted bucket.endpoint/key. Default: true
  bool s3_path_style = true;
  // Multipart part size in MiB (5..5120); smaller objects are one PUT. Default: 8
  int s3_part_size_mb = 8;
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

// The STEREOSPOT_* variables of this process, and the AWS credential variables
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) that fill the s3.* credentials
// no other source sets.
std::map<std::string, std::string> ProcessEnvironment();

// Applies the sources in precedence order and validates the result, settings alone and together
// (backend = "distributed" needs postgres.conninfo, s3.bucket and S3 credentials). Errors name the
// source, the key and what is allowed, and are kInvalidArgument (kNotFound for a missing file).
Result<LoadedConfig> LoadConfig(const ConfigSources& sources);

// `conninfo` (a libpq key=value string or URI) with any password replaced by "****", for logs
// and `config check`.
std::string RedactConninfo(const std::string& conninfo);

// "host:port" that `conninfo` connects to ("localhost:5432" when it names neither; a unix
// socket directory when the host is a path), for messages.
std::string ConninfoAddress(const std::string& conninfo);

// One line per setting: key, effective value, origin ("queue.max_receives = 5  (default)").
// Secrets are masked: s3.secret_access_key and s3.session_token print as "****" when set,
// s3.access_key_id shows only its last four characters, a password in postgres.conninfo "****".
std::string DescribeConfig(const LoadedConfig& loaded);

// The list of known keys with a one-line description each, for --help and docs.
std::vector<std::pair<std::string, std::string>> ConfigKeyDescriptions();

}  // namespace stereospot
