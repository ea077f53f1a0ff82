// Crash test: a child process working through queue messages and job-store writes is killed
// with SIGKILL at random moments. Afterwards every message must come back after its visibility
// and be processed, the database must pass SQLite's integrity check, and no job may be half
// written (every job complete with all its fields and completions).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
#include "core/ids.h"

namespace stereospot {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kMessages = 120;

pid_t Spawn(const std::string& db, const std::string& log, bool drain) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(CRASH_CHILD_PATH, CRASH_CHILD_PATH, db.c_str(), log.c_str(),
          drain ? "--drain" : static_cast<char*>(nullptr), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

TEST(CrashTest, SigkillAtRandomPointsLosesNothing) {
  fs::path dir = fs::path(::testing::TempDir()) / ("crash-" + RandomHex(6));
  fs::create_directories(dir);
  const std::string db_path = (dir / "db.sqlite").string();
  const std::string log_path = (dir / "deliveries.log").string();
  auto db = local::SqliteDatabase::Open(db_path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  local::SqliteWorkQueue queue(*db, "chunking", {1000, 20ms});
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(queue.Send(std::to_string(i), 0ms).ok());

  std::random_device rd;
  unsigned seed = rd();
  std::mt19937 rng(seed);
  SCOPED_TRACE("random seed " + std::to_string(seed));
  std::uniform_int_distribution<int> delay_ms(20, 250);
  for (int round = 0; round < 8; ++round) {
    pid_t pid = Spawn(db_path, log_path, false);
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited by itself in round " << round;
  }

  pid_t drainer = Spawn(db_path, log_path, true);
  int status = 0;
  ASSERT_EQ(waitpid(drainer, &status, 0), drainer);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  // The kills interrupted work in progress: some message was delivered more than once.
  std::ifstream deliveries(log_path);
  int message = 0;
  int count = 0;
  int redelivered = 0;
  while (deliveries >> message >> count) redelivered += count > 1 ? 1 : 0;
  EXPECT_GT(redelivered, 0) << "no kill landed mid-message; the test proved nothing";

  // The database file is intact.
  ASSERT_TRUE((*db)
                  ->Read([](local::SqlTransaction& tx) -> Status {
                    STEREOSPOT_ASSIGN_OR_RETURN(auto rows, tx.Query("PRAGMA integrity_check"));
                    EXPECT_EQ(local::AsText(rows.at(0).at(0)), "ok");
                    return Status::OK();
                  })
                  .ok());

  // Every message was processed and deleted; nothing went to the DLQ.
  auto depth = queue.Depth();
  ASSERT_TRUE(depth.ok());
  EXPECT_EQ(depth->visible + depth->in_flight + depth->delayed + depth->dead_letter, 0);

  // Every job is whole: all fields as written, completed, with its three completions.
  local::SqliteJobStore store(*db);
  JobListQuery q;
  q.limit = 500;
  auto page = store.List(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs.size(), static_cast<std::size_t>(kMessages));
  for (const Job& job : page->jobs) {
    int n = job.params.value("n", -1);
    ASSERT_GE(n, 0) << job.job_id;
    EXPECT_EQ(job.title, "msg-" + std::to_string(n));
    EXPECT_EQ(job.source_bytes, 1000 + n);
    EXPECT_EQ(job.status, JobStatus::kCompleted) << job.job_id;
    EXPECT_EQ(job.total_segments, 3);
    EXPECT_GT(job.completed_at, 0);
    EXPECT_EQ(*store.CountCompletions(job.job_id), 3);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stereospot

namespace stereospot {
namespace {

// A receive long-polling in one process sees a message sent by another process within its poll
// interval, not only at the end of its wait.
TEST(CrossProcessTest, LongPollSeesAnotherProcessesSend) {
  fs::path dir = fs::path(::testing::TempDir()) / ("xproc-" + RandomHex(6));
  fs::create_directories(dir);
  const std::string db_path = (dir / "db.sqlite").string();
  auto db = local::SqliteDatabase::Open(db_path);
  ASSERT_TRUE(db.ok());
  local::SqliteWorkQueue queue(*db, "chunking", {5, 100ms});
  pid_t pid = fork();
  if (pid == 0) {
    // The child opens its own connection, as a second `stereospot worker` process would.
    std::this_thread::sleep_for(300ms);
    auto child_db = local::SqliteDatabase::Open(db_path);
    if (!child_db.ok()) _exit(1);
    local::SqliteWorkQueue sender(*child_db, "chunking", {5, 100ms});
    _exit(sender.Send("from another process", 0ms).ok() ? 0 : 1);
  }
  ASSERT_GT(pid, 0);
  ReceiveOptions options;
  options.wait = 10s;
  auto start = std::chrono::steady_clock::now();
  auto got = queue.Receive(options);
  auto waited = std::chrono::steady_clock::now() - start;
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].body, "from another process");
  EXPECT_LT(waited, 5s) << "the wait must end on the message, not at its 10 s deadline";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stereospot
