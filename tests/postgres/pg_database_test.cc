// What the PostgreSQL backend promises beyond the shared contract: concurrent migrations, a
// bounded pool that survives dropped connections, cross-process wake-ups through
// LISTEN/NOTIFY, schema isolation, and the error mapping.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include "adapters/postgres/pg_job_store.h"
#include "adapters/postgres/pg_work_queue.h"
#include "tests/postgres/pg_test_server.h"

namespace stereospot::postgres {
namespace {

using namespace std::chrono_literals;

class PgDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = testing::TestConninfo();
    ASSERT_FALSE(conninfo_.empty());
    schema_ = testing::NewTestSchema();
    // Every connection of this test carries the schema as its name in pg_stat_activity.
    conninfo_ += " application_name=" + schema_;
  }
  void TearDown() override {
    if (conninfo_.empty()) return;
    auto admin = Connect(Options(schema_ + "_c"));
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    for (const auto& schema : {schema_, schema_ + "_b", schema_ + "_c"}) {
      ASSERT_TRUE(
          (*admin)->Execute("DROP SCHEMA IF EXISTS " + QuoteIdentifier(schema) + " CASCADE").ok());
    }
  }

  PostgresOptions Options(const std::string& schema) {
    PostgresOptions options;
    options.conninfo = conninfo_;
    options.schema = schema;
    return options;
  }
  static Result<std::shared_ptr<PgDatabase>> Connect(const PostgresOptions& options) {
    return PgDatabase::Connect(options);
  }
  // Connections of this test's databases the server knows about.
  std::int64_t ServerConnections(PgDatabase& db) {
    auto rows = db.Execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1::text", {schema_});
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? rows->Int(0, 0) : -1;
  }

  std::string conninfo_;
  std::string schema_;
};

TEST_F(PgDatabaseTest, MigrationsAreSafeWhenManyProcessesStartAtOnce) {
  // Each Connect runs the migration on its own connection, as separate processes would.
  constexpr int kStarters = 6;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kStarters; ++i) {
    threads.emplace_back([&] {
      auto db = Connect(Options(schema_));
      if (!db.ok()) {
        ++failures;
        ADD_FAILURE() << db.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto db = Connect(Options(schema_));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto rows = (*db)->Execute("SELECT count(*), max(version) FROM stereospot_schema_version");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->Int(0, 0), PgDatabase::LatestSchemaVersion()) << "each version applied once";
  EXPECT_EQ(rows->Int(0, 1), PgDatabase::LatestSchemaVersion());
}

TEST_F(PgDatabaseTest, RefusesASchemaNewerThanItKnows) {
  auto db = Connect(Options(schema_));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)
                  ->Execute("INSERT INTO stereospot_schema_version (version) VALUES ($1)",
                            {std::int64_t{PgDatabase::LatestSchemaVersion() + 1}})
                  .ok());
  auto again = Connect(Options(schema_));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kPermanent) << again.status().ToString();
}

TEST_F(PgDatabaseTest, RejectsBadOptionsAndReportsAnUnreachableServerAsUnavailable) {
  PostgresOptions options = Options("");
  EXPECT_TRUE(Connect(options).status().IsInvalidArgument());
  options = Options(schema_);
  options.pool_size = 0;
  EXPECT_TRUE(Connect(options).status().IsInvalidArgument());
  options = Options(schema_);
  options.conninfo = "host=127.0.0.1 prot=5432";
  auto typo = Connect(options);
  EXPECT_TRUE(typo.status().IsInvalidArgument()) << typo.status().ToString();
  options.conninfo = "postgresql://[::1";
  EXPECT_TRUE(Connect(options).status().IsInvalidArgument());
  // Port 1 on loopback: refused at once.
  options = Options(schema_);
  options.conninfo = "host=127.0.0.1 port=1 user=stereospot connect_timeout=2";
  auto db = Connect(options);
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(db.status().IsUnavailable()) << db.status().ToString();
}

TEST_F(PgDatabaseTest, AMissingRoleOrDatabaseIsPermanentNotRetryable) {
  // The fixture's conninfo is key=value pairs; a later key overrides an earlier one.
  for (const char* wrong : {" dbname=no_such_database_here", " user=no_such_role_here"}) {
    PostgresOptions options = Options(schema_);
    options.conninfo += wrong;
    auto db = Connect(options);
    ASSERT_FALSE(db.ok()) << wrong;
    EXPECT_EQ(db.status().code(), StatusCode::kPermanent) << db.status().ToString();
    EXPECT_NE(db.status().message().find("does not exist"), std::string::npos)
        << db.status().ToString();
    EXPECT_NE(db.status().message().find("postgres.conninfo"), std::string::npos);
  }
}

TEST_F(PgDatabaseTest, SchemasAreIsolated) {
  auto a = Connect(Options(schema_));
  auto b = Connect(Options(schema_ + "_b"));
  ASSERT_TRUE(a.ok() && b.ok());
  PgWorkQueue qa(*a, "segments");
  PgWorkQueue qb(*b, "segments");
  ASSERT_TRUE(qa.Send("only in a", 0ms).ok());
  ReceiveOptions receive;
  auto got_b = qb.Receive(receive);
  ASSERT_TRUE(got_b.ok());
  EXPECT_TRUE(got_b->empty());
  auto got_a = qa.Receive(receive);
  ASSERT_TRUE(got_a.ok());
  EXPECT_EQ(got_a->size(), 1u);
  PgJobStore ja(*a);
  PgJobStore jb(*b);
  Job job;
  job.job_id = NewJobId();
  ASSERT_TRUE(ja.Create(job).ok());
  EXPECT_TRUE(jb.Get(job.job_id).status().IsNotFound());
}

TEST_F(PgDatabaseTest, ASendFromAnotherProcessWakesALongPollWithinMilliseconds) {
  // Two PgDatabase objects share nothing but the server, as two processes would. The poll
  // interval is far longer than the test, so only NOTIFY can explain a prompt wake-up.
  PostgresOptions options = Options(schema_);
  options.poll_interval = 60s;
  auto receiver_db = Connect(options);
  auto sender_db = Connect(options);
  ASSERT_TRUE(receiver_db.ok() && sender_db.ok());
  PgWorkQueue receiver(*receiver_db, "segments");
  PgWorkQueue sender(*sender_db, "segments");
  std::vector<double> latencies_ms;
  for (int i = 0; i < 10; ++i) {
    std::atomic<std::chrono::steady_clock::time_point> sent_at{};
    std::thread send([&] {
      std::this_thread::sleep_for(50ms);
      sent_at = std::chrono::steady_clock::now();
      ASSERT_TRUE(sender.Send("wake", 0ms).ok());
    });
    ReceiveOptions receive;
    receive.wait = 20s;
    auto got = receiver.Receive(receive);
    auto woke = std::chrono::steady_clock::now();
    send.join();
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), 1u);
    ASSERT_TRUE(receiver.Delete((*got)[0].receipt).ok());
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(woke - sent_at.load()).count());
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf("cross-process wake-up: median %.2f ms, max %.2f ms\n", latencies_ms[5],
              latencies_ms.back());
  // Generous for a loaded, sanitized CI machine; typical is a few ms.
  EXPECT_LT(latencies_ms.back(), 1000.0);
}

TEST_F(PgDatabaseTest, ASendFromARealSecondProcessWakesALongPoll) {
  PostgresOptions options = Options(schema_);
  options.poll_interval = 60s;
  auto db = Connect(options);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  PgWorkQueue queue(*db, "segments");
  int child_status = -1;
  std::thread spawner([&] {
    std::this_thread::sleep_for(200ms);
    std::string path = PG_SEND_CHILD_PATH;
    std::vector<std::string> args = {path, conninfo_, schema_, "segments", "from child"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv.data(), environ), 0);
    ASSERT_EQ(waitpid(pid, &child_status, 0), pid);
  });
  ReceiveOptions receive;
  receive.wait = 30s;
  auto start = std::chrono::steady_clock::now();
  auto got = queue.Receive(receive);
  auto waited = std::chrono::steady_clock::now() - start;
  spawner.join();
  EXPECT_TRUE(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0) << child_status;
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].body, "from child");
  // The child's start-up and connect take most of this; the 60 s poll interval none of it.
  EXPECT_LT(waited, 10s);
}

TEST_F(PgDatabaseTest, RecoversWhenTheServerDropsEveryConnection) {
  PostgresOptions options = Options(schema_);
  options.pool_size = 3;
  options.poll_interval = 60s;
  auto db = Connect(options);
  auto other = Connect(options);
  ASSERT_TRUE(db.ok() && other.ok());
  PgJobStore store(*db);
  PgWorkQueue queue(*db, "segments");
  PgWorkQueue sender(*other, "segments");
  Job job;
  job.job_id = NewJobId();
  ASSERT_TRUE(store.Create(job).ok());

  // An administrator (or a server restart) ends every session of this test, listeners included.
  PostgresOptions admin_options = Options(schema_ + "_b");
  admin_options.conninfo += "_admin";
  auto admin = Connect(admin_options);
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  auto killed = (*admin)->Execute(
      "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
      "WHERE application_name = $1::text",
      {schema_});
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  EXPECT_GE(killed->Int(0, 0), 3) << "pool connections and both listeners";

  // The pool notices the dead idle connections and opens new ones: no call fails.
  auto got = store.Get(job.job_id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(queue.Send("after", 0ms).ok());
  auto received = queue.Receive(ReceiveOptions{});
  ASSERT_TRUE(received.ok()) << received.status().ToString();
  ASSERT_EQ(received->size(), 1u);
  ASSERT_TRUE(queue.Delete((*received)[0].receipt).ok());

  // The listener reconnects on its own and cross-process wake-ups work again.
  std::thread send([&] {
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(sender.Send("wake", 0ms).ok());
  });
  ReceiveOptions receive;
  receive.wait = 20s;
  auto start = std::chrono::steady_clock::now();
  auto woke = queue.Receive(receive);
  auto waited = std::chrono::steady_clock::now() - start;
  send.join();
  ASSERT_TRUE(woke.ok()) << woke.status().ToString();
  ASSERT_EQ(woke->size(), 1u);
  EXPECT_LT(waited, 5s);
}

TEST_F(PgDatabaseTest, PoolIsBounded) {
  PostgresOptions options = Options(schema_);
  options.pool_size = 2;
  auto db = Connect(options);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  PgJobStore store(*db);
  Job job;
  job.job_id = NewJobId();
  ASSERT_TRUE(store.Create(job).ok());
  std::atomic<int> failures{0};
  std::atomic<std::int64_t> most_seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        if (!store.Get(job.job_id).ok()) ++failures;
        if (t == 0 && i % 5 == 0) {
          auto rows = (*db)->Execute(
              "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1::text", {schema_});
          if (rows.ok()) {
            most_seen = std::max(most_seen.load(), rows->Int(0, 0));
          } else {
            ++failures;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(most_seen.load(), 3) << "two pooled connections and the listener";
  EXPECT_LE(ServerConnections(**db), 3);
}

TEST_F(PgDatabaseTest, AnExhaustedPoolIsUnavailableAfterTheAcquireTimeout) {
  PostgresOptions options = Options(schema_);
  options.pool_size = 1;
  options.acquire_timeout = 100ms;
  auto db = Connect(options);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  std::thread busy([&] { ASSERT_TRUE((*db)->Execute("SELECT pg_sleep(2)").ok()); });
  // Wait (through another database object) until the sleep holds the only connection.
  auto watcher = Connect(Options(schema_ + "_b"));
  ASSERT_TRUE(watcher.ok()) << watcher.status().ToString();
  for (int i = 0; i < 200; ++i) {
    auto active = (*watcher)->Execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1::text AND "
        "state = 'active' AND query LIKE 'SELECT pg_sleep%'",
        {schema_});
    ASSERT_TRUE(active.ok()) << active.status().ToString();
    if (active->Int(0, 0) == 1) break;
    std::this_thread::sleep_for(10ms);
  }
  auto start = std::chrono::steady_clock::now();
  auto rows = (*db)->Execute("SELECT 1");
  auto waited = std::chrono::steady_clock::now() - start;
  busy.join();
  ASSERT_FALSE(rows.ok());
  EXPECT_TRUE(rows.status().IsUnavailable()) << rows.status().ToString();
  EXPECT_GE(waited, 90ms);
  EXPECT_LT(waited, 1000ms);
  EXPECT_TRUE((*db)->Execute("SELECT 1").ok()) << "free again";
}

TEST_F(PgDatabaseTest, ServerErrorsMapToStatusCodes) {
  auto db = Connect(Options(schema_));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE((*db)->Execute("SELECT 1 / 0").status().IsInvalidArgument());
  EXPECT_EQ((*db)->Execute("SELECT * FROM no_such_table").status().code(), StatusCode::kInternal);
  PgWorkQueue queue(*db, "segments");
  EXPECT_TRUE(queue.Send(std::string("a\0b", 3), 0ms).status().IsInvalidArgument())
      << "a NUL byte cannot be stored and must not be cut silently";
  // Statement timeout: transient.
  auto timed = Connect([&] {
    PostgresOptions o = Options(schema_);
    o.conninfo += " options='-c statement_timeout=500'";
    return o;
  }());
  ASSERT_TRUE(timed.ok()) << timed.status().ToString();
  EXPECT_TRUE((*timed)->Execute("SELECT pg_sleep(5)").status().IsUnavailable());
}

TEST(PgErrorMapping, SqlStates) {
  EXPECT_TRUE(StatusFromSqlState("40001", "serialization").IsUnavailable());
  EXPECT_TRUE(StatusFromSqlState("40P01", "deadlock").IsUnavailable());
  EXPECT_TRUE(StatusFromSqlState("08006", "connection failure").IsUnavailable());
  EXPECT_TRUE(StatusFromSqlState("57P01", "admin shutdown").IsUnavailable());
  EXPECT_TRUE(StatusFromSqlState("53300", "too many connections").IsUnavailable());
  EXPECT_TRUE(StatusFromSqlState("55P03", "lock not available").IsUnavailable());
  EXPECT_TRUE(StatusFromSqlState("", "no reply").IsUnavailable());
  EXPECT_TRUE(StatusFromSqlState("23505", "unique").IsConflict());
  EXPECT_TRUE(StatusFromSqlState("22P02", "bad text").IsInvalidArgument());
  EXPECT_EQ(StatusFromSqlState("XX001", "corrupt").code(), StatusCode::kDataLoss);
  EXPECT_EQ(StatusFromSqlState("42P01", "undefined table").code(), StatusCode::kInternal);
  EXPECT_EQ(StatusFromSqlState("P0001", "raised").code(), StatusCode::kIoError);
  EXPECT_EQ(StatusFromSqlState("40001", "serialization").message(), "serialization");
}

}  // namespace
}  // namespace stereospot::postgres
