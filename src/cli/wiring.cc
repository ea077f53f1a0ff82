#include "cli/wiring.h"

#include <filesystem>

#include "adapters/local/fs_object_store.h"
#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
#ifdef STEREOSPOT_HAVE_DISTRIBUTED
#include "adapters/postgres/pg_database.h"
#include "adapters/postgres/pg_job_store.h"
#include "adapters/postgres/pg_work_queue.h"
#include "adapters/s3/s3_object_store.h"
#endif

namespace stereospot::cli {
namespace fs = std::filesystem;

Result<WorkQueue*> Backend::Queue(std::string_view name) const {
  auto it = queues.find(name);
  if (it != queues.end()) return it->second.get();
  std::string known;
  for (const auto& [queue_name, queue] : queues) known += (known.empty() ? "" : ", ") + queue_name;
  return Status::NotFound("unknown queue '" + std::string(name.substr(0, 64)) +
                          "' (queues: " + known + ")");
}

namespace {

Result<Backend> OpenEmbedded(const Config& config, OpenMode mode) {
  fs::path data_dir = config.data_dir;
  fs::path db_path = data_dir / "stereospot.db";
  std::error_code ec;
  if (mode == OpenMode::kMustExist && !fs::exists(db_path, ec)) {
    return Status::NotFound("no StereoSpot data at " + data_dir.string() +
                            " (start 'stereospot serve' first, or point --data-dir or "
                            "STEREOSPOT_DATA_DIR at an existing data directory)");
  }
  fs::create_directories(data_dir, ec);
  if (ec)
    return Status::IoError("create data directory " + data_dir.string() + ": " + ec.message());

  local::SqliteOptions sqlite;
  sqlite.busy_timeout = std::chrono::milliseconds(config.sqlite_busy_timeout_ms);
  sqlite.synchronous_full = config.sqlite_synchronous == "full";
  STEREOSPOT_ASSIGN_OR_RETURN(auto db, local::SqliteDatabase::Open(db_path, sqlite));

  local::FsObjectStoreOptions object_options;
  object_options.base_url = "http://" + config.server_listen;
  STEREOSPOT_ASSIGN_OR_RETURN(auto objects, local::FsObjectStore::Open(data_dir, object_options));

  Backend backend;
  backend.jobs = std::make_unique<local::SqliteJobStore>(db);
  backend.objects = std::move(objects);
  local::SqliteQueueOptions queue_options;
  queue_options.max_receives = config.queue_max_receives;
  queue_options.poll_interval = std::chrono::milliseconds(config.queue_poll_interval_ms);
  for (std::string_view name : kAllQueueNames) {
    backend.queues.emplace(std::string(name), std::make_unique<local::SqliteWorkQueue>(
                                                  db, std::string(name), queue_options));
  }
  backend.description = "embedded backend: database " +
                        fs::absolute(db_path).lexically_normal().string() + ", objects under " +
                        fs::absolute(data_dir / "objects").lexically_normal().string();
  backend.keep_alive = db;
  return backend;
}

#ifdef STEREOSPOT_HAVE_DISTRIBUTED

std::string PostgresWhere(const Config& config) {
  return "PostgreSQL at " + ConninfoAddress(config.postgres_conninfo);
}

std::string BucketWhere(const Config& config) {
  return "bucket " + config.s3_bucket + " at " +
         (config.s3_endpoint.empty() ? "AWS S3 (" + config.s3_region + ")" : config.s3_endpoint);
}

// Connects (and migrates); an unreachable server reads "cannot connect to PostgreSQL at
// HOST:PORT: <libpq's reason>", anything else names the server and schema.
Result<std::shared_ptr<postgres::PgDatabase>> ConnectPostgres(const Config& config) {
  postgres::PostgresOptions options;
  options.conninfo = config.postgres_conninfo;
  options.schema = config.postgres_schema;
  options.pool_size = config.postgres_pool_size;
  options.poll_interval = std::chrono::milliseconds(config.queue_poll_interval_ms);
  auto db = postgres::PgDatabase::Connect(options);
  if (db.ok()) return db;
  std::string reason(db.status().message());
  constexpr std::string_view kAdapterPrefix = "connect to PostgreSQL: ";
  if (reason.rfind(kAdapterPrefix, 0) == 0) reason.erase(0, kAdapterPrefix.size());
  if (db.status().code() == StatusCode::kUnavailable) {
    return Status(StatusCode::kUnavailable,
                  "cannot connect to " + PostgresWhere(config) + ": " + reason);
  }
  return Status(db.status().code(),
                PostgresWhere(config) + ", schema " + config.postgres_schema + ": " + reason);
}

Result<std::unique_ptr<s3::S3ObjectStore>> OpenBucket(const Config& config) {
  s3::S3Options options;
  options.endpoint = config.s3_endpoint;
  options.region = config.s3_region;
  options.bucket = config.s3_bucket;
  options.access_key_id = config.s3_access_key_id;
  options.secret_access_key = config.s3_secret_access_key;
  options.session_token = config.s3_session_token;
  options.path_style = config.s3_path_style;
  options.part_size = static_cast<std::uint64_t>(config.s3_part_size_mb) << 20;
  auto store = s3::S3ObjectStore::Open(options);
  if (!store.ok()) return store.status().WithContext("S3 " + BucketWhere(config));
  return store;
}

Result<Backend> OpenDistributed(const Config& config) {
  STEREOSPOT_ASSIGN_OR_RETURN(auto db, ConnectPostgres(config));
  STEREOSPOT_ASSIGN_OR_RETURN(auto objects, OpenBucket(config));
  Backend backend;
  backend.jobs = std::make_unique<postgres::PgJobStore>(db);
  backend.objects = std::move(objects);
  postgres::PgQueueOptions queue_options;
  queue_options.max_receives = config.queue_max_receives;
  for (std::string_view name : kAllQueueNames) {
    backend.queues.emplace(std::string(name), std::make_unique<postgres::PgWorkQueue>(
                                                  db, std::string(name), queue_options));
  }
  backend.description = "distributed backend: " + PostgresWhere(config) + " (schema " +
                        config.postgres_schema + "), objects in S3 " + BucketWhere(config);
  backend.keep_alive = db;
  return backend;
}

void CheckDistributed(const Config& config, BackendCheck& check) {
  auto fail = [&check](const Status& s) {
    check.ok = false;
    check.lines.push_back("error: " + std::string(s.message()));
  };
  auto db = ConnectPostgres(config);
  if (!db.ok()) {
    fail(db.status());
  } else {
    auto version = (*db)->Execute("SELECT COALESCE(MAX(version), 0) FROM " +
                                  postgres::QuoteIdentifier(config.postgres_schema) +
                                  ".stereospot_schema_version");
    if (!version.ok()) {
      fail(version.status().WithContext(PostgresWhere(config) + ": read the schema version"));
    } else {
      check.lines.push_back("ok: " + PostgresWhere(config) + " reachable; schema " +
                            config.postgres_schema + " migrated to version " +
                            std::to_string(version->Int(0, 0)));
    }
  }
  auto bucket = OpenBucket(config);
  if (!bucket.ok()) {
    fail(bucket.status());
    return;
  }
  Status probe = (*bucket)->CheckBucket();
  if (!probe.ok()) {
    fail(probe);
    return;
  }
  check.lines.push_back("ok: " + BucketWhere(config) + " reachable and writable");
}

#endif  // STEREOSPOT_HAVE_DISTRIBUTED

#ifndef STEREOSPOT_HAVE_DISTRIBUTED
Status NotInThisBuild(const Config& config) {
  return Status::InvalidArgument(
      "backend '" + config.backend +
      "' is not available in this build (it was built without the PostgreSQL and S3 adapters: "
      "configure with -DSTEREOSPOT_WITH_DISTRIBUTED=ON, with libpq, libcurl and pugixml "
      "installed); use backend = \"embedded\"");
}
#endif

}  // namespace

Result<Backend> OpenBackend(const Config& config, OpenMode mode) {
  if (config.backend == "embedded") return OpenEmbedded(config, mode);
  if (config.backend != "distributed") {
    return Status::InvalidArgument("unknown backend '" + config.backend +
                                   "' (one of: embedded, distributed)");
  }
#ifdef STEREOSPOT_HAVE_DISTRIBUTED
  return OpenDistributed(config);
#else
  return NotInThisBuild(config);
#endif
}

BackendCheck CheckBackend(const Config& config) {
  BackendCheck check;
  if (config.backend == "distributed") {
#ifdef STEREOSPOT_HAVE_DISTRIBUTED
    CheckDistributed(config, check);
#else
    check.ok = false;
    check.lines.push_back("error: " + std::string(NotInThisBuild(config).message()));
#endif
    return check;
  }
  auto backend = OpenBackend(config, OpenMode::kMustExist);
  if (backend.ok()) {
    check.lines.push_back("ok: backend reachable: " + backend->description);
  } else if (backend.status().IsNotFound()) {
    check.lines.push_back("note: " + std::string(backend.status().message()));
  } else {
    check.ok = false;
    check.lines.push_back("error: " + std::string(backend.status().message()));
  }
  return check;
}

}  // namespace stereospot::cli
