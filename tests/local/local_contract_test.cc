// The shared contract suites on the embedded backend: SQLite in a file, SQLite in memory, and
// the local-directory object store.
#include <filesystem>

#include "adapters/local/fs_object_store.h"
#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
#include "core/ids.h"
#include "tests/contract/contract_suites.h"

namespace stereospot::contract {
namespace {

namespace fs = std::filesystem;

class LocalBackend final : public ContractBackend {
 public:
  explicit LocalBackend(bool in_memory)
      : dir_(fs::path(::testing::TempDir()) / ("local-backend-" + RandomHex(6))) {
    fs::create_directories(dir_);
    auto db = local::SqliteDatabase::Open(in_memory ? fs::path(":memory:") : dir_ / "db.sqlite");
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (db.ok()) db_ = *db;
  }
  ~LocalBackend() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::unique_ptr<WorkQueue> NewQueue(const std::string& name, int max_receives) override {
    local::SqliteQueueOptions options;
    options.max_receives = max_receives;
    options.poll_interval = std::chrono::milliseconds(50);
    return std::make_unique<local::SqliteWorkQueue>(db_, name, options);
  }
  std::unique_ptr<JobStore> NewJobStore() override {
    return std::make_unique<local::SqliteJobStore>(db_);
  }
  std::unique_ptr<ObjectStore> NewObjectStore() override {
    auto store = local::FsObjectStore::Open(dir_ / "objects");
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

 private:
  fs::path dir_;
  std::shared_ptr<local::SqliteDatabase> db_;
};

const BackendParam kSqliteFile{"SqliteFile", [] { return std::make_unique<LocalBackend>(false); }};
const BackendParam kSqliteMemory{"SqliteMemory",
                                 [] { return std::make_unique<LocalBackend>(true); }};

INSTANTIATE_TEST_SUITE_P(Local, WorkQueueContract, ::testing::Values(kSqliteFile, kSqliteMemory),
                         BackendName);
INSTANTIATE_TEST_SUITE_P(Local, JobStoreContract, ::testing::Values(kSqliteFile, kSqliteMemory),
                         BackendName);
INSTANTIATE_TEST_SUITE_P(Local, ObjectStoreContract, ::testing::Values(kSqliteFile), BackendName);

}  // namespace
}  // namespace stereospot::contract
