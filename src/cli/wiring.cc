#include "cli/wiring.h"

#include <filesystem>

#include "adapters/local/fs_object_store.h"
#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"

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

Result<Backend> OpenBackend(const Config& config, OpenMode mode) {
  if (config.backend != "embedded") {
    return Status::InvalidArgument("backend '" + config.backend +
                                   "' is not available in this build; use backend = \"embedded\"");
  }
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

}  // namespace stereospot::cli
