// The operator CLI run as a user runs it: the real binary on a real data directory, seeded
// through the embedded adapters.
#include <array>
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "adapters/local/fs_object_store.h"
#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
#include "core/ids.h"
#include "core/messages.h"
#include "core/object_keys.h"

namespace stereospot {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("cli-" + RandomHex(6));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliRun Stereospot(const std::string& args) {
    std::string cmd = std::string(STEREOSPOT_BIN) + " --data-dir " + (dir_ / "data").string() +
                      " " + args + " </dev/null 2>&1";
    CliRun run;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) return run;
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) run.out += buf.data();
    int status = pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
  }

  // Creates the data directory with one job and one dead-letter message in "segments".
  void Seed() {
    fs::create_directories(dir_ / "data");
    auto db = local::SqliteDatabase::Open(dir_ / "data" / "stereospot.db");
    ASSERT_TRUE(db.ok());
    local::SqliteJobStore store(*db);
    job_.job_id = NewJobId();
    job_.title = "holiday.mp4";
    ASSERT_TRUE(store.Create(job_).ok());
    ASSERT_TRUE(store.PutCompletion({job_.job_id, 0, "k", 10, 1, 0, "w", 1}).ok());
    local::SqliteWorkQueue queue(*db, "segments", {1, std::chrono::milliseconds(50)});
    ASSERT_TRUE(queue.Send(EncodeJobMessage({job_.job_id}), std::chrono::milliseconds(0)).ok());
    ReceiveOptions once;
    auto got = queue.Receive(once);
    ASSERT_TRUE(got.ok() && got->size() == 1);
    ASSERT_TRUE(queue.MoveToDeadLetter((*got)[0].receipt, "poison segment").ok());
  }

  fs::path dir_;
  Job job_;
};

TEST_F(CliTest, OperatorCommandsNeedAnExistingDataDirectory) {
  CliRun run = Stereospot("jobs list");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("no StereoSpot data"), std::string::npos) << run.out;
  EXPECT_FALSE(fs::exists(dir_ / "data")) << "an operator command must not create data";
}

TEST_F(CliTest, JobsListAndShow) {
  Seed();
  CliRun list = Stereospot("jobs list");
  ASSERT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find(job_.job_id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("holiday.mp4"), std::string::npos);
  CliRun json = Stereospot("jobs list --json --status created");
  ASSERT_EQ(json.exit_code, 0) << json.out;
  auto parsed = nlohmann::json::parse(json.out);
  ASSERT_EQ(parsed["jobs"].size(), 1u);
  EXPECT_EQ(parsed["jobs"][0]["job_id"], job_.job_id);
  CliRun show = Stereospot("jobs show " + job_.job_id + " --json");
  ASSERT_EQ(show.exit_code, 0) << show.out;
  auto detail = nlohmann::json::parse(show.out);
  EXPECT_EQ(detail["status"], "created");
  EXPECT_EQ(detail["segments_completed"], 1);
}

TEST_F(CliTest, ClearErrorsForUnknownIdsAndNames) {
  Seed();
  CliRun unknown = Stereospot("jobs show " + NewJobId());
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.out.find("does not exist"), std::string::npos) << unknown.out;
  CliRun malformed = Stereospot("jobs show ../../etc/passwd");
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.out.find("not a job id"), std::string::npos) << malformed.out;
  CliRun bad_status = Stereospot("jobs list --status finished");
  EXPECT_EQ(bad_status.exit_code, 2);
  CliRun bad_queue = Stereospot("dlq list videos");
  EXPECT_EQ(bad_queue.exit_code, 2);
  EXPECT_NE(bad_queue.out.find("unknown queue 'videos'"), std::string::npos) << bad_queue.out;
  CliRun bad_config = Stereospot("--set queue.max_receives=zero queues");
  EXPECT_EQ(bad_config.exit_code, 2);
  EXPECT_NE(bad_config.out.find("queue.max_receives"), std::string::npos) << bad_config.out;
}

TEST_F(CliTest, QueuesAndDeadLetterCommands) {
  Seed();
  CliRun queues = Stereospot("queues --json");
  ASSERT_EQ(queues.exit_code, 0) << queues.out;
  EXPECT_EQ(nlohmann::json::parse(queues.out)["segments"]["dead_letter"], 1);
  CliRun list = Stereospot("dlq list segments");
  ASSERT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find("poison segment"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("job_id=" + job_.job_id), std::string::npos) << list.out;
  CliRun refused = Stereospot("dlq purge segments");
  EXPECT_EQ(refused.exit_code, 1) << "without --yes and without a terminal nothing is purged";
  EXPECT_EQ(nlohmann::json::parse(Stereospot("queues --json").out)["segments"]["dead_letter"], 1);
  CliRun replay = Stereospot("dlq replay segments --yes");
  ASSERT_EQ(replay.exit_code, 0) << replay.out;
  EXPECT_NE(replay.out.find("replayed 1"), std::string::npos) << replay.out;
  auto depth = nlohmann::json::parse(Stereospot("queues --json").out)["segments"];
  EXPECT_EQ(depth["dead_letter"], 0);
  EXPECT_EQ(depth["visible"], 1);
  CliRun purge = Stereospot("dlq purge segments --yes");
  ASSERT_EQ(purge.exit_code, 0) << purge.out;
  EXPECT_NE(purge.out.find("purged 0"), std::string::npos) << purge.out;
}

TEST_F(CliTest, CancelRetryAndDelete) {
  Seed();
  CliRun cancel = Stereospot("jobs cancel " + job_.job_id);
  ASSERT_EQ(cancel.exit_code, 0) << cancel.out;
  EXPECT_NE(cancel.out.find("is now cancelled"), std::string::npos) << cancel.out;
  CliRun again = Stereospot("jobs cancel " + job_.job_id);
  EXPECT_EQ(again.exit_code, 1) << "a cancelled job cannot be cancelled again: " << again.out;
  CliRun retry = Stereospot("jobs retry " + job_.job_id);
  ASSERT_EQ(retry.exit_code, 0) << retry.out;
  EXPECT_NE(retry.out.find("is now created"), std::string::npos) << retry.out;
  CliRun running = Stereospot("jobs delete " + job_.job_id);
  EXPECT_EQ(running.exit_code, 1) << "a job still open is not deleted: " << running.out;
  ASSERT_EQ(Stereospot("jobs cancel " + job_.job_id).exit_code, 0);
  CliRun deleted = Stereospot("jobs delete " + job_.job_id);
  ASSERT_EQ(deleted.exit_code, 0) << deleted.out;
  EXPECT_EQ(nlohmann::json::parse(Stereospot("queues --json").out)["deletion"]["visible"], 3)
      << "each cancel and the delete enqueue a deletion message";
  EXPECT_EQ(Stereospot("jobs retry " + NewJobId()).exit_code, 1);
  EXPECT_EQ(Stereospot("jobs cancel not-a-job").exit_code, 2);
}

TEST_F(CliTest, RecoverChunkingAndTriggerReassembly) {
  fs::create_directories(dir_ / "data");
  auto db = local::SqliteDatabase::Open(dir_ / "data" / "stereospot.db");
  ASSERT_TRUE(db.ok());
  local::SqliteJobStore sqlite_store(*db);
  JobStore& store = sqlite_store;  // default arguments live on the port
  auto objects = local::FsObjectStore::Open(dir_ / "data");
  ASSERT_TRUE(objects.ok());
  // A job whose chunker died after writing segments 0 and 1 of 3.
  Job job;
  job.job_id = NewJobId();
  ASSERT_TRUE(store.Create(job).ok());
  ASSERT_TRUE(
      store.TransitionStatus(job.job_id, JobStatus::kCreated, JobStatus::kChunkingInProgress).ok());
  std::FILE* f = std::fopen((dir_ / "segment").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("segment bytes", f);
  std::fclose(f);
  auto put = [&](int index) {
    ASSERT_TRUE((*objects)
                    ->PutFile(*BuildSegmentKey(job.job_id, index, 3, Layout::kTb), dir_ / "segment")
                    .ok());
  };
  put(0);
  put(1);
  CliRun incomplete = Stereospot("jobs recover-chunking " + job.job_id + " --yes");
  EXPECT_EQ(incomplete.exit_code, 1) << incomplete.out;
  EXPECT_NE(incomplete.out.find("segments 2 of 3 are missing"), std::string::npos)
      << incomplete.out;
  EXPECT_EQ(store.Get(job.job_id)->status, JobStatus::kChunkingInProgress);
  put(2);
  CliRun unconfirmed = Stereospot("jobs recover-chunking " + job.job_id);
  EXPECT_EQ(unconfirmed.exit_code, 1) << "no terminal, no --yes: nothing changes";
  EXPECT_EQ(store.Get(job.job_id)->status, JobStatus::kChunkingInProgress);
  ASSERT_TRUE(store.PutCompletion({job.job_id, 1, "k", 10, 1, 0, "w", 1}).ok());
  CliRun recovered = Stereospot("jobs recover-chunking " + job.job_id + " --yes");
  ASSERT_EQ(recovered.exit_code, 0) << recovered.out;
  auto after = store.Get(job.job_id);
  EXPECT_EQ(after->status, JobStatus::kChunkingComplete);
  EXPECT_EQ(after->total_segments, 3);
  EXPECT_EQ(nlohmann::json::parse(Stereospot("queues --json").out)["segments"]["visible"], 2)
      << "only the segments not yet converted are enqueued";
  CliRun twice = Stereospot("jobs recover-chunking " + job.job_id + " --yes");
  EXPECT_EQ(twice.exit_code, 1) << "a chunking_complete job is refused: " << twice.out;

  CliRun early = Stereospot("jobs trigger-reassembly " + job.job_id);
  EXPECT_EQ(early.exit_code, 1) << early.out;
  EXPECT_NE(early.out.find("1 of 3 segments converted"), std::string::npos) << early.out;
  ASSERT_TRUE(store.PutCompletion({job.job_id, 0, "k", 10, 1, 0, "w", 1}).ok());
  ASSERT_TRUE(store.PutCompletion({job.job_id, 2, "k", 10, 1, 0, "w", 1}).ok());
  CliRun trigger = Stereospot("jobs trigger-reassembly " + job.job_id);
  ASSERT_EQ(trigger.exit_code, 0) << trigger.out;
  EXPECT_EQ(store.Get(job.job_id)->status, JobStatus::kReassembling);
  CliRun resend = Stereospot("jobs trigger-reassembly " + job.job_id);
  ASSERT_EQ(resend.exit_code, 0) << resend.out;
  EXPECT_NE(resend.out.find("re-sent"), std::string::npos) << resend.out;
  EXPECT_EQ(nlohmann::json::parse(Stereospot("queues --json").out)["reassembly"]["visible"], 2);
}

TEST_F(CliTest, ConfigCheckPrintsEffectiveValuesWithOrigins) {
  CliRun run = Stereospot("--set queue.max_receives=3 config check");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("queue.max_receives = 3  # flag"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("data_dir = "), std::string::npos);
}

}  // namespace
}  // namespace stereospot
