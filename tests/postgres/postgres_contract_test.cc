// The shared contract suites on the PostgreSQL backend: each test gets a fresh schema on the
// fixture's server, dropped again afterwards.
#include "adapters/postgres/pg_job_store.h"
#include "adapters/postgres/pg_work_queue.h"
#include "tests/contract/contract_suites.h"
#include "tests/postgres/pg_test_server.h"

namespace stereospot::contract {
namespace {

using postgres::PgDatabase;

class PostgresBackend final : public ContractBackend {
 public:
  PostgresBackend() {
    options_.conninfo = postgres::testing::TestConninfo();
    options_.schema = postgres::testing::NewTestSchema();
    options_.poll_interval = std::chrono::milliseconds(50);
    if (options_.conninfo.empty()) return;
    auto db = PgDatabase::Connect(options_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (db.ok()) db_ = *db;
  }
  ~PostgresBackend() override {
    if (db_ == nullptr) return;
    auto dropped =
        db_->Execute("DROP SCHEMA " + postgres::QuoteIdentifier(options_.schema) + " CASCADE");
    EXPECT_TRUE(dropped.ok()) << dropped.status().ToString();
  }
  bool ok() const { return db_ != nullptr; }

  std::unique_ptr<WorkQueue> NewQueue(const std::string& name, int max_receives) override {
    postgres::PgQueueOptions options;
    options.max_receives = max_receives;
    return std::make_unique<postgres::PgWorkQueue>(db_, name, options);
  }
  std::unique_ptr<JobStore> NewJobStore() override {
    return std::make_unique<postgres::PgJobStore>(db_);
  }
  std::unique_ptr<ObjectStore> NewObjectStore() override { return nullptr; }

 private:
  postgres::PostgresOptions options_;
  std::shared_ptr<PgDatabase> db_;
};

const BackendParam kPostgres{"Postgres", []() -> std::unique_ptr<ContractBackend> {
                               auto backend = std::make_unique<PostgresBackend>();
                               if (!backend->ok()) return nullptr;
                               return backend;
                             }};

INSTANTIATE_TEST_SUITE_P(Postgres, WorkQueueContract, ::testing::Values(kPostgres), BackendName);
INSTANTIATE_TEST_SUITE_P(Postgres, JobStoreContract, ::testing::Values(kPostgres), BackendName);

}  // namespace
}  // namespace stereospot::contract
