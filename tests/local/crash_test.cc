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
