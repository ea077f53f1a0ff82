// Queue and job-store throughput of the PostgreSQL backend, each printed beside the embedded
// SQLite backend doing the same work in the same run, with the ratio PostgreSQL / SQLite.
//
// Two durability levels are compared like for like: PostgreSQL synchronous_commit=on (every
// commit flushed to disk) against SQLite synchronous=full, and synchronous_commit=off (a server
// crash may lose the last moments of commits, never consistency) against synchronous=normal.
// The PostgreSQL server should run with fsync on for the first pair to mean anything:
//   STEREOSPOT_TEST_PG_DURABLE=1 scripts/test-postgres.sh start   (prints the conninfo)
//
// Usage: pg_queue_bench [CONNINFO] [SECONDS_PER_CASE]
//   CONNINFO defaults to $STEREOSPOT_TEST_PG; SECONDS_PER_CASE to 2.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
#include "adapters/postgres/pg_job_store.h"
#include "adapters/postgres/pg_work_queue.h"
#include "core/ids.h"

using namespace stereospot;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double g_seconds = 2.0;

bool TimeUp(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count() >= g_seconds;
}

double Rate(std::int64_t count, Clock::time_point start) {
  return static_cast<double>(count) / std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void Die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "pg_queue_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

// One PostgreSQL schema for one case, dropped afterwards.
class PgSchema {
 public:
  PgSchema(const std::string& conninfo, bool synchronous_commit) {
    options_.conninfo = conninfo;
    if (!synchronous_commit) options_.conninfo += " options='-c synchronous_commit=off'";
    options_.schema = "bench_" + RandomHex(6);
    auto db = postgres::PgDatabase::Connect(options_);
    if (!db.ok()) Die("connect", db.status());
    db_ = *db;
  }
  ~PgSchema() {
    (void)db_->Execute("DROP SCHEMA " + postgres::QuoteIdentifier(options_.schema) + " CASCADE");
  }
  const std::shared_ptr<postgres::PgDatabase>& db() const { return db_; }

 private:
  postgres::PostgresOptions options_;
  std::shared_ptr<postgres::PgDatabase> db_;
};

std::shared_ptr<local::SqliteDatabase> OpenSqlite(const fs::path& path, bool full) {
  fs::remove(path);
  fs::remove(path.string() + "-wal");
  fs::remove(path.string() + "-shm");
  local::SqliteOptions options;
  options.synchronous_full = full;
  auto db = local::SqliteDatabase::Open(path, options);
  if (!db.ok()) Die("open " + path.string(), db.status());
  return *db;
}

struct RoundTrips {
  double rate = 0;
  int errors = 0;  // failed calls
  int empty = 0;   // receives that found nothing (another consumer took the message first)
};

// Send + receive + delete per round trip, each consumer thread on its own queue handle.
RoundTrips QueueRoundTrips(const std::function<std::unique_ptr<WorkQueue>()>& make_queue,
                           int consumers) {
  std::atomic<std::int64_t> total{0};
  std::atomic<int> errors{0};
  std::atomic<int> empty{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < consumers; ++t) {
    threads.emplace_back([&] {
      std::unique_ptr<WorkQueue> queue = make_queue();
      ReceiveOptions options;
      options.visibility = std::chrono::seconds(60);
      while (!TimeUp(start)) {
        if (!queue->Send(R"({"job_id":"x"})").ok()) ++errors;
        auto got = queue->Receive(options);
        if (!got.ok()) {
          ++errors;
          continue;
        }
        if (got->empty()) {
          ++empty;
          continue;
        }
        if (!queue->Delete((*got)[0].receipt).ok()) ++errors;
        ++total;
      }
    });
  }
  for (auto& t : threads) t.join();
  return {Rate(total, start), errors.load(), empty.load()};
}

// The floor under a PostgreSQL queue round trip: three single-row statements (insert, update,
// delete on a bare table) through the same connection pool, as queue_bench's raw SQLite case.
double RawPgRoundTrips(postgres::PgDatabase& db) {
  if (auto r = db.Execute("CREATE TABLE raw_q (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY "
                          "KEY, body TEXT, visible_at BIGINT)");
      !r.ok()) {
    Die("create raw_q", r.status());
  }
  std::int64_t n = 0;
  auto start = Clock::now();
  while (!TimeUp(start)) {
    auto id = db.Execute(
        "INSERT INTO raw_q (body, visible_at) VALUES ('{\"job_id\":\"x\"}', 0) RETURNING id");
    if (!id.ok()) Die("raw insert", id.status());
    const std::int64_t row = id->Int(0, 0);
    if (!db.Execute("UPDATE raw_q SET visible_at = 1 WHERE id = $1::bigint", {row}).ok() ||
        !db.Execute("DELETE FROM raw_q WHERE id = $1::bigint", {row}).ok()) {
      Die("raw update/delete", Status::Internal("failed"));
    }
    ++n;
  }
  return Rate(n, start);
}

// Conditional status updates: created -> chunking_in_progress -> failed -> created, repeated.
double JobStoreUpdates(JobStore& store) {
  Job job;
  job.job_id = NewJobId();
  if (Status s = store.Create(job); !s.ok()) Die("create job", s);
  const std::pair<JobStatus, JobStatus> cycle[] = {
      {JobStatus::kCreated, JobStatus::kChunkingInProgress},
      {JobStatus::kChunkingInProgress, JobStatus::kFailed},
      {JobStatus::kFailed, JobStatus::kCreated}};
  std::int64_t n = 0;
  auto start = Clock::now();
  while (!TimeUp(start)) {
    const auto& [from, to] = cycle[n % 3];
    if (Status s = store.TransitionStatus(job.job_id, from, to); !s.ok()) {
      Die("conditional update", s);
    }
    ++n;
  }
  return Rate(n, start);
}

// How long a long-polling receive takes to return after a Send through another PgDatabase (as
// from another process), with a poll interval far longer than the wait: NOTIFY alone wakes it.
void WakeLatency(const std::string& conninfo) {
  PgSchema schema(conninfo, true);
  postgres::PostgresOptions options = schema.db()->options();
  options.poll_interval = std::chrono::seconds(60);
  auto other = postgres::PgDatabase::Connect(options);
  if (!other.ok()) Die("connect", other.status());
  postgres::PgWorkQueue consumer(schema.db(), "segments");
  postgres::PgWorkQueue producer(*other, "segments");
  std::vector<double> ms;
  for (int i = 0; i < 100; ++i) {
    std::atomic<Clock::time_point> sent_at{Clock::time_point{}};
    std::thread send([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      sent_at = Clock::now();
      (void)producer.Send("wake", std::chrono::milliseconds(0));
    });
    ReceiveOptions receive;
    receive.wait = std::chrono::seconds(5);
    auto got = consumer.Receive(receive);
    auto now = Clock::now();
    send.join();
    if (got.ok() && !got->empty()) {
      ms.push_back(std::chrono::duration<double, std::milli>(now - sent_at.load()).count());
      (void)consumer.Delete((*got)[0].receipt);
    }
  }
  if (ms.empty()) {
    std::printf("long-poll wake-up: no message arrived\n");
    return;
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "PostgreSQL long-poll wake-up after a send from another connection (LISTEN/NOTIFY): "
      "p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
      ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back());
}

void PrintRow(const char* what, double pg, double sqlite, const std::string& note = "") {
  std::printf("  %-34s PostgreSQL %8.0f /s | SQLite %8.0f /s | ratio %.2fx%s\n", what, pg, sqlite,
              pg / sqlite, note.c_str());
}

std::string Note(const RoundTrips& pg, const RoundTrips& lite) {
  if (pg.errors + lite.errors + pg.empty + lite.empty == 0) return "";
  return "  (errors pg " + std::to_string(pg.errors) + " sqlite " + std::to_string(lite.errors) +
         "; empty receives pg " + std::to_string(pg.empty) + " sqlite " +
         std::to_string(lite.empty) + ")";
}

}  // namespace

int main(int argc, char** argv) {
  std::string conninfo = argc > 1 && argv[1][0] != '\0' ? argv[1] : "";
  if (conninfo.empty()) {
    const char* env = std::getenv("STEREOSPOT_TEST_PG");
    if (env != nullptr) conninfo = env;
  }
  if (conninfo.empty()) {
    std::fprintf(stderr,
                 "pg_queue_bench: no server; start one with\n"
                 "  eval \"$(STEREOSPOT_TEST_PG_DURABLE=1 scripts/test-postgres.sh start)\"\n"
                 "or pass a conninfo as the first argument\n");
    return 1;
  }
  if (argc > 2) g_seconds = std::stod(argv[2]);
  fs::path dir = fs::temp_directory_path() / ("stereospot-pg-bench-" + RandomHex(4));
  fs::create_directories(dir);
  std::printf("pg_queue_bench: %.1f s per case; SQLite files in %s\n", g_seconds, dir.c_str());

  for (bool durable : {false, true}) {
    std::printf("%s\n", durable ? "durable: synchronous_commit=on vs synchronous=full"
                                : "fast: synchronous_commit=off vs synchronous=normal");
    {
      PgSchema schema(conninfo, durable);
      std::printf("  %-34s PostgreSQL %8.0f /s\n", "floor: 3 bare statements",
                  RawPgRoundTrips(*schema.db()));
    }
    for (int consumers : {1, 4}) {
      PgSchema schema(conninfo, durable);
      RoundTrips pg = QueueRoundTrips(
          [&] { return std::make_unique<postgres::PgWorkQueue>(schema.db(), "segments"); },
          consumers);
      auto sqlite = OpenSqlite(dir / "queue.db", durable);
      RoundTrips lite = QueueRoundTrips(
          [&] { return std::make_unique<local::SqliteWorkQueue>(sqlite, "segments"); }, consumers);
      std::string what = "queue round trips, " + std::to_string(consumers) + " consumer" +
                         (consumers > 1 ? "s" : "");
      PrintRow(what.c_str(), pg.rate, lite.rate, Note(pg, lite));
    }
    PgSchema schema(conninfo, durable);
    postgres::PgJobStore pg_store(schema.db());
    double pg = JobStoreUpdates(pg_store);
    local::SqliteJobStore sqlite_store(OpenSqlite(dir / "jobs.db", durable));
    double lite = JobStoreUpdates(sqlite_store);
    PrintRow("job store conditional updates", pg, lite);
  }
  WakeLatency(conninfo);
  fs::remove_all(dir);
  return 0;
}
