// Queue and job-store throughput of the embedded backend on this machine's disk, each printed
// beside a baseline measured in the same run: raw SQLite doing the same number of write
// transactions with the same pragmas (the floor any SQLite-backed queue pays).
//
// Usage: queue_bench [DIR] [SECONDS_PER_CASE]   (defaults: a temp dir, 2 s)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
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

std::shared_ptr<local::SqliteDatabase> OpenDb(const fs::path& path, bool full) {
  fs::remove(path);
  local::SqliteOptions options;
  options.synchronous_full = full;
  auto db = local::SqliteDatabase::Open(path, options);
  if (!db.ok()) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), db.status().ToString().c_str());
    std::exit(1);
  }
  return *db;
}

// Three write transactions per round trip (insert, update, delete), as a send + receive +
// delete costs, through the raw C API with prepared statements.
double RawSqliteRoundTrips(const fs::path& path, bool full) {
  fs::remove(path);
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  std::string pragmas = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") +
                        (full ? "FULL;" : "NORMAL;") +
                        "CREATE TABLE q (id INTEGER PRIMARY KEY, body TEXT, visible_at INTEGER);";
  sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_stmt* upd = nullptr;
  sqlite3_stmt* del = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO q (body, visible_at) VALUES ('{\"job_id\":\"x\"}', 0)", -1,
                     &ins, nullptr);
  sqlite3_prepare_v2(db, "UPDATE q SET visible_at = 1 WHERE id = ?", -1, &upd, nullptr);
  sqlite3_prepare_v2(db, "DELETE FROM q WHERE id = ?", -1, &del, nullptr);
  auto tx = [&](sqlite3_stmt* stmt, std::int64_t id) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (id >= 0) sqlite3_bind_int64(stmt, 1, id);
    sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  };
  std::int64_t n = 0;
  auto start = Clock::now();
  while (!TimeUp(start)) {
    tx(ins, -1);
    std::int64_t id = sqlite3_last_insert_rowid(db);
    tx(upd, id);
    tx(del, id);
    ++n;
  }
  double rate = Rate(n, start);
  sqlite3_finalize(ins);
  sqlite3_finalize(upd);
  sqlite3_finalize(del);
  sqlite3_close(db);
  return rate;
}

double QueueRoundTrips(const fs::path& path, bool full, int consumers) {
  auto db = OpenDb(path, full);
  std::atomic<std::int64_t> total{0};
  std::atomic<int> errors{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < consumers; ++t) {
    threads.emplace_back([&] {
      local::SqliteWorkQueue queue(db, "segments");
      ReceiveOptions options;
      options.visibility = std::chrono::seconds(60);
      while (!TimeUp(start)) {
        if (!queue.Send(R"({"job_id":"x"})", std::chrono::milliseconds(0)).ok()) ++errors;
        auto got = queue.Receive(options);
        if (!got.ok() || got->empty()) {
          ++errors;
          continue;
        }
        if (!queue.Delete((*got)[0].receipt).ok()) ++errors;
        ++total;
      }
    });
  }
  for (auto& t : threads) t.join();
  if (errors > 0) std::fprintf(stderr, "  (%d errors)\n", errors.load());
  return Rate(total, start);
}

// Conditional status updates: created -> chunking_in_progress -> failed -> created, repeated.
double JobStoreUpdates(const fs::path& path) {
  auto db = OpenDb(path, false);
  local::SqliteJobStore sqlite_store(db);
  JobStore& store = sqlite_store;  // the port's default arguments live on the interface
  Job job;
  job.job_id = NewJobId();
  (void)store.Create(job);
  const std::pair<JobStatus, JobStatus> cycle[] = {
      {JobStatus::kCreated, JobStatus::kChunkingInProgress},
      {JobStatus::kChunkingInProgress, JobStatus::kFailed},
      {JobStatus::kFailed, JobStatus::kCreated}};
  std::int64_t n = 0;
  auto start = Clock::now();
  while (!TimeUp(start)) {
    const auto& [from, to] = cycle[n % 3];
    if (!store.TransitionStatus(job.job_id, from, to).ok()) {
      std::fprintf(stderr, "  conditional update failed\n");
      break;
    }
    ++n;
  }
  return Rate(n, start);
}

// How long a long-polling receive takes to return after a Send in the same process.
void WakeLatency(const fs::path& path) {
  auto db = OpenDb(path, false);
  local::SqliteWorkQueue consumer(db, "segments");
  local::SqliteWorkQueue producer(db, "segments");
  std::vector<double> ms;
  for (int i = 0; i < 100; ++i) {
    std::atomic<Clock::time_point> sent_at{Clock::time_point{}};
    std::thread send([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      sent_at = Clock::now();
      (void)producer.Send("wake", std::chrono::milliseconds(0));
    });
    ReceiveOptions options;
    options.wait = std::chrono::seconds(5);
    auto got = consumer.Receive(options);
    auto now = Clock::now();
    send.join();
    if (got.ok() && !got->empty()) {
      ms.push_back(std::chrono::duration<double, std::milli>(now - sent_at.load()).count());
      (void)consumer.Delete((*got)[0].receipt);
    }
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "long-poll wake-up after a send (same process): p50 %.2f ms  p99 %.2f ms  max %.2f "
      "ms  (bar: 50 ms)\n",
      ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back());
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = argc > 1 && argv[1][0] != '\0' ? fs::path(argv[1])
                                                : fs::temp_directory_path() / "stereospot-bench";
  if (argc > 2) g_seconds = std::stod(argv[2]);
  fs::create_directories(dir);
  std::printf("queue_bench: %.1f s per case, database files in %s\n", g_seconds, dir.c_str());

  for (bool full : {false, true}) {
    const char* mode = full ? "synchronous=full  " : "synchronous=normal";
    double raw = RawSqliteRoundTrips(dir / "raw.db", full);
    double one = QueueRoundTrips(dir / "queue1.db", full, 1);
    double four = QueueRoundTrips(dir / "queue4.db", full, 4);
    std::printf(
        "%s  raw SQLite 3 tx: %8.0f /s | queue 1 consumer: %8.0f rt/s (%.2fx raw) | "
        "4 consumers: %8.0f rt/s (%.2fx raw)%s\n",
        mode, raw, one, one / raw, four, four / raw,
        !full && one < 2000 ? "  BELOW BAR (2000 rt/s)" : "");
  }
  double updates = JobStoreUpdates(dir / "jobs.db");
  std::printf("job store conditional status updates: %.0f /s\n", updates);
  WakeLatency(dir / "wake.db");
  fs::remove_all(dir);
  return 0;
}
