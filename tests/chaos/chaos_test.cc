// Chaos tests of the pipeline across processes (issue #6, item 5): the real stereospot binary
// runs as `worker` and `serve` subprocesses over one embedded backend (SQLite in WAL mode and the
// directory object store), and is killed with SIGKILL mid-job. Jobs are submitted the way the
// in-process harness does it (src/pipeline/processors_test.cc): a job record, the source object,
// a chunking message, written through the local adapters on the same data directory.
//
// Short lavfi clips (320x180, 8 s, a keyframe every second, a sine tone) and fast settings
// (preset ultrafast, 3 s visibility) keep the suite within a few minutes under ASan. Every
// process runs one media and one video worker, so each converts with the same codec threads and
// a job's output does not depend on which process converted which segment.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "adapters/local/fs_object_store.h"
#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
#include "child_process.h"
#include "core/conversion_params.h"
#include "core/ids.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "media/test_clips.h"
#include "pipeline/job_service.h"

namespace stereospot {
namespace {

namespace fs = std::filesystem;
using media::testing::Ffmpeg;
using media::testing::TempDir;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ChildProcess;
using Clock = std::chrono::steady_clock;

constexpr int kVisibilitySeconds = 3;
// Work in hand is re-checked against the job every third of the visibility (cli/workers.cc).
constexpr milliseconds kHeartbeat{kVisibilitySeconds * 1000 / 3};
constexpr int kClipFrames = 200;  // 8 s at 25 fps

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The stereospot binary under test: $TEST_STEREOSPOT_BIN when set (another build, or a copy
// that a concurrent rebuild cannot replace mid-run), else the one built beside this test.
std::string StereospotBinary() {
  const char* bin = std::getenv("TEST_STEREOSPOT_BIN");
  return bin != nullptr && *bin != '\0' ? bin : STEREOSPOT_BIN;
}

// One line per decoded frame of the file's `stream` ("v:0", "a:0"): ffmpeg's framemd5, the
// checksum of each decoded picture or audio frame (timestamps dropped; order kept).
std::vector<std::string> FrameChecksums(const std::string& path, const std::string& stream) {
  bool ok = false;
  const std::string out = media::testing::Run("ffmpeg -nostdin -hide_banner -v error -i '" + path +
                                                  "' -map 0:" + stream + " -f framemd5 - 2>&1",
                                              &ok);
  EXPECT_TRUE(ok) << "ffmpeg could not decode " << stream << " of " << path << ":\n"
                  << out.substr(0, 2000);
  std::vector<std::string> sums;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    sums.push_back(line.substr(line.find_last_of(", ") + 1));
  }
  return sums;
}

// Counts the lines of `log` that contain both `what` and `job_id`.
int CountLogLines(const std::string& log, const std::string& what, const std::string& job_id) {
  int n = 0;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(what) != std::string::npos && line.find(job_id) != std::string::npos) ++n;
  }
  return n;
}

// The fast parameters of every chaos job.
ConversionParams FastParams() {
  ConversionParams params;
  params.preset = "ultrafast";
  return params;
}

class ChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = dir_.File("data");
    fs::create_directories(data_dir_);
    // Opened (and the schema made) before any worker starts.
    auto db = local::SqliteDatabase::Open(fs::path(data_dir_) / "stereospot.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    jobs_ = std::make_unique<local::SqliteJobStore>(db_);
    local::SqliteQueueOptions q;
    q.max_receives = 5;
    q.poll_interval = milliseconds(50);
    for (std::string_view name : kAllQueueNames) {
      queues_[std::string(name)] =
          std::make_unique<local::SqliteWorkQueue>(db_, std::string(name), q);
    }
    auto objects = local::FsObjectStore::Open(data_dir_);
    ASSERT_TRUE(objects.ok()) << objects.status().ToString();
    objects_ = std::move(*objects);
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const auto& [name, process] : processes_) {
        std::cerr << "---- " << name << " (" << process->log_path() << "), last lines:\n"
                  << process->LogTail(4000) << "\n";
      }
    }
    processes_.clear();  // SIGKILLs what still runs
  }

  WorkQueue& queue(std::string_view name) { return *queues_.at(std::string(name)); }

  // False (with a failure showing its log) when a process that should run has exited.
  bool AllAlive() {
    for (const std::string& name : should_run_) {
      ChildProcess& p = *processes_.at(name);
      if (!p.Running()) {
        auto status = p.Wait(std::chrono::milliseconds(0));
        ADD_FAILURE() << name << " exited on its own ("
                      << (status ? testing::DescribeWaitStatus(*status) : "?") << "):\n"
                      << p.LogTail(6000);
        should_run_.erase(name);
        return false;
      }
    }
    return true;
  }

  // Polls `done` every 50 ms for up to `limit`; false on timeout or when a process died.
  bool WaitUntil(const std::function<bool()>& done, milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() >= deadline || !AllAlive()) return false;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return true;
  }

  // An 8 s 320x180 clip at 25 fps, a keyframe every second, with a sine tone.
  std::string MakeClip() {
    const std::string path = dir_.File("clip.mp4");
    EXPECT_TRUE(
        Ffmpeg("-f lavfi -i testsrc2=size=320x180:rate=25 -f lavfi -i sine=frequency=440 -t 8 "
               "-c:v libx264 -preset ultrafast -g 25 -keyint_min 25 -sc_threshold 0 "
               "-pix_fmt yuv420p -c:a aac -b:a 64k -shortest " +
               path));
    return path;
  }

  // A job for `clip`, its source stored and its chunking message sent.
  std::string Submit(const std::string& clip, const ConversionParams& params = FastParams()) {
    Job job;
    job.job_id = NewJobId();
    job.params = params.ToJson();
    job.source_key = *BuildSourceKey(job.job_id, "mp4");
    job.uploaded_at = NowMillis();
    EXPECT_TRUE(jobs_->Create(job).ok());
    EXPECT_TRUE(objects_->PutFile(job.source_key, clip).ok());
    EXPECT_TRUE(queue(kChunkingQueue).Send(EncodeJobMessage({job.job_id})).ok());
    return job.job_id;
  }

  Job GetJob(const std::string& job_id) {
    auto job = jobs_->Get(job_id);
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    return job.ok() ? *job : Job{};
  }

  bool Ended(const std::string& job_id) {
    auto job = jobs_->Get(job_id);
    return job.ok() && IsTerminal(job->status);
  }

  // Waits for the job to end and returns it. A job left reassembling by a killed worker waits
  // for its lease to expire and the janitor to re-send it (DESIGN.md section 5): `janitor
  // --once` runs every few seconds while the job is reassembling, as `serve`'s janitor would.
  Job WaitEnded(const std::string& job_id, seconds limit = seconds(240)) {
    const auto deadline = Clock::now() + limit;
    auto next_janitor = Clock::now() + seconds(10);
    while (Clock::now() < deadline && !Ended(job_id) && AllAlive()) {
      if (Clock::now() >= next_janitor && GetJob(job_id).status == JobStatus::kReassembling) {
        janitor_runs_++;
        media::testing::Run(Command({"janitor", "--once"}) + " >/dev/null 2>&1");
        next_janitor = Clock::now() + seconds(5);
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    Job job = GetJob(job_id);
    EXPECT_TRUE(IsTerminal(job.status))
        << "job " << job_id << " still " << JobStatusName(job.status) << " after " << limit.count()
        << " s";
    return job;
  }

  // The flags every stereospot process of the test gets, then `args`.
  std::vector<std::string> Argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {StereospotBinary(), "--data-dir", data_dir_};
    for (const std::string& set :
         {"queue.visibility_seconds=" + std::to_string(kVisibilitySeconds),
          std::string("queue.wait_seconds=1"), std::string("queue.max_receives=5"),
          std::string("queue.poll_interval_ms=100"), std::string("workers.media=1"),
          std::string("workers.video=1")}) {
      argv.push_back("--set");
      argv.push_back(set);
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  std::string Command(const std::vector<std::string>& args) const {
    std::string cmd;
    for (const std::string& a : Argv(args)) cmd += (cmd.empty() ? "" : " ") + ("'" + a + "'");
    return cmd + " </dev/null";
  }

  // Starts (or restarts) the process called `name`: `stereospot <args>` with the common flags.
  // Each start logs to a file of its own (name.N.log).
  ChildProcess& Start(const std::string& name, const std::vector<std::string>& args) {
    const int n = ++starts_[name];
    auto process = std::make_unique<ChildProcess>(
        Argv(args), dir_.File(name + "." + std::to_string(n) + ".log"));
    EXPECT_TRUE(process->started()) << "fork failed for " << name;
    processes_[name] = std::move(process);
    should_run_.insert(name);
    return *processes_[name];
  }

  ChildProcess& StartWorker(const std::string& name, const std::string& role = "all") {
    return Start(name, {"worker", "--role", role});
  }

  ChildProcess& StartServe(int port) {
    return Start("serve", {"serve", "--listen", "127.0.0.1:" + std::to_string(port)});
  }

  ChildProcess& process(const std::string& name) { return *processes_.at(name); }

  // SIGKILLs the process and reaps it.
  void KillNine(const std::string& name) {
    should_run_.erase(name);
    ChildProcess& p = process(name);
    ASSERT_TRUE(p.Signal(SIGKILL)) << name << " had already exited:\n" << p.LogTail(3000);
    auto status = p.Wait(seconds(10));
    ASSERT_TRUE(status.has_value()) << name << " survived SIGKILL";
    EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL)
        << name << " " << testing::DescribeWaitStatus(*status);
  }

  // SIGTERM: the process releases what it holds and exits 0 (with no leak under LSan).
  void StopGracefully(const std::string& name) {
    should_run_.erase(name);
    ChildProcess& p = process(name);
    ASSERT_TRUE(p.Signal(SIGTERM)) << name << " had already exited:\n" << p.LogTail(3000);
    auto status = p.Wait(seconds(60));
    ASSERT_TRUE(status.has_value()) << name << " did not stop within 60 s of SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << name << " " << testing::DescribeWaitStatus(*status) << ":\n"
        << p.LogTail(6000);
  }

  // Every log of every start of every process, concatenated.
  std::string AllLogs() const {
    std::string all;
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
      if (entry.path().extension() != ".log") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      all += text.str();
    }
    return all;
  }

  std::string FetchFinal(const std::string& job_id) {
    const std::string out = dir_.File(job_id + "-final.mp4");
    Status s = objects_->GetFile(*BuildFinalKey(job_id), out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::vector<std::string> Keys(const std::string& prefix) {
    std::vector<std::string> keys;
    auto page = objects_->List(prefix, "", 1000);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (page.ok()) {
      for (const auto& object : page->objects) keys.push_back(object.key);
    }
    return keys;
  }

  QueueDepth Depth(std::string_view name) {
    auto depth = queue(name).Depth();
    EXPECT_TRUE(depth.ok()) << depth.status().ToString();
    return depth.ok() ? *depth : QueueDepth{};
  }

  bool Drained(std::string_view name) {
    QueueDepth d = Depth(name);
    return d.visible + d.in_flight + d.delayed == 0;
  }

  // The job completed with one completion per segment, a final file that decodes to every frame
  // of the clip and keeps its audio.
  void ExpectCompleteAndWhole(const std::string& job_id) {
    Job job = GetJob(job_id);
    ASSERT_EQ(job.status, JobStatus::kCompleted)
        << JobStatusName(job.status) << ": " << (job.error ? job.error->message : "no error");
    EXPECT_GT(job.total_segments, 2);
    auto completions = jobs_->ListCompletions(job_id);
    ASSERT_TRUE(completions.ok()) << completions.status().ToString();
    std::set<int> indices;
    for (const auto& c : *completions) indices.insert(c.segment_index);
    EXPECT_EQ(completions->size(), static_cast<std::size_t>(job.total_segments));
    EXPECT_EQ(indices.size(), static_cast<std::size_t>(job.total_segments));
    EXPECT_EQ(Keys(*BuildFinalKey(job_id)).size(), 1u);
  }

  // An uninterrupted run of `clip` by one worker process: the final file's video and audio
  // frame checksums.
  std::pair<std::vector<std::string>, std::vector<std::string>> Baseline(const std::string& clip) {
    StartWorker("baseline");
    const std::string job_id = Submit(clip);
    WaitEnded(job_id, seconds(180));
    ExpectCompleteAndWhole(job_id);
    StopGracefully("baseline");
    const std::string final_path = FetchFinal(job_id);
    auto video = FrameChecksums(final_path, "v:0");
    EXPECT_EQ(video.size(), static_cast<std::size_t>(kClipFrames));
    auto audio = FrameChecksums(final_path, "a:0");
    EXPECT_FALSE(audio.empty()) << "the baseline lost its audio";
    return {video, audio};
  }

  TempDir dir_;
  std::string data_dir_;
  std::shared_ptr<local::SqliteDatabase> db_;
  std::unique_ptr<local::SqliteJobStore> jobs_;
  std::map<std::string, std::unique_ptr<local::SqliteWorkQueue>> queues_;
  std::unique_ptr<local::FsObjectStore> objects_;
  std::map<std::string, std::unique_ptr<ChildProcess>> processes_;
  std::map<std::string, int> starts_;
  std::set<std::string> should_run_;  // started and neither killed nor stopped by the test
  int janitor_runs_ = 0;
};

// Two worker processes; one of them, chosen at random, is SIGKILLed at random moments and
// restarted, several times while a job runs. The job completes and its output decodes to the
// same frames, checksum for checksum, as an uninterrupted run's.
TEST_F(ChaosTest, SigkilledWorkersChangeNoFrame) {
  const std::string clip = MakeClip();
  const auto baseline_start = Clock::now();
  const auto [baseline_video, baseline_audio] = Baseline(clip);
  const double baseline_seconds = SecondsSince(baseline_start);

  const std::vector<std::string> names = {"worker-a", "worker-b"};
  for (const auto& name : names) StartWorker(name);
  const std::string job_id = Submit(clip);

  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("random seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  // A kill every 0.2 to 1.2 s: an uninterrupted job takes several seconds even on an idle
  // machine, and each kill of work in hand adds the 3 s visibility, so several kills land.
  std::uniform_int_distribution<int> pause_ms(200, 1200);
  std::uniform_int_distribution<std::size_t> pick(0, names.size() - 1);
  const auto interrupted = [&] {
    // Work begun more often than there is work: a kill took some of it down mid-way.
    const std::string logs = AllLogs();
    const int total = GetJob(job_id).total_segments;
    return total > 0 && CountLogLines(logs, "segment conversion started", job_id) +
                                CountLogLines(logs, "chunking started", job_id) >
                            total + 1;
  };
  int kills = 0;
  std::string record;
  while (kills < 10 && (kills < 3 || !interrupted())) {
    std::this_thread::sleep_for(milliseconds(pause_ms(rng)));
    if (Ended(job_id)) break;
    const std::string& victim = names[pick(rng)];
    record += " " + victim + "@" + std::string(JobStatusName(GetJob(job_id).status));
    KillNine(victim);
    ++kills;
    StartWorker(victim);
  }
  SCOPED_TRACE("kills:" + record);
  const Job job = WaitEnded(job_id);
  ExpectCompleteAndWhole(job_id);
  EXPECT_GE(kills, 3) << "the job ended before three kills";
  EXPECT_TRUE(interrupted()) << "no kill landed mid-work; the test proved nothing";

  const std::string final_path = FetchFinal(job_id);
  const auto video = FrameChecksums(final_path, "v:0");
  ASSERT_EQ(video.size(), baseline_video.size());
  for (std::size_t i = 0; i < video.size(); ++i) {
    ASSERT_EQ(video[i], baseline_video[i]) << "video frame " << i << " differs from the baseline";
  }
  EXPECT_EQ(FrameChecksums(final_path, "a:0"), baseline_audio) << "audio differs";
  for (const auto& name : names) StopGracefully(name);
  std::cerr << "[chaos] " << kills << " kills:" << record << "; janitor runs " << janitor_runs_
            << "; baseline " << baseline_seconds << " s\n";
}

// Every message is delivered twice, to two worker processes at once: the chunking message is
// sent twice; each segment message and each reassembly message is taken off its queue by the
// test and sent back twice. One completion per segment, one final file, the same frames.
TEST_F(ChaosTest, EveryMessageDeliveredTwice) {
  const std::string clip = MakeClip();
  const auto [baseline_video, baseline_audio] = Baseline(clip);

  const std::string job_id = Submit(clip);
  ASSERT_TRUE(queue(kChunkingQueue).Send(EncodeJobMessage({job_id})).ok());
  StartWorker("media-a", "media");
  StartWorker("media-b", "media");
  ASSERT_TRUE(WaitUntil(
      [&] {
        return GetJob(job_id).status == JobStatus::kChunkingComplete && Drained(kChunkingQueue);
      },
      seconds(120)))
      << "chunking did not complete: " << JobStatusName(GetJob(job_id).status);
  // No video worker yet: the segment messages wait in their queue. Stop the media workers so
  // that the reassembly messages wait too.
  StopGracefully("media-a");
  StopGracefully("media-b");
  const int total = GetJob(job_id).total_segments;
  ASSERT_GT(total, 2);

  // Takes every message off `name` and sends each body back twice; returns how many it took.
  const auto duplicate_all = [&](std::string_view name) {
    std::vector<std::string> bodies;
    for (;;) {
      ReceiveOptions receive;
      receive.max_messages = 10;
      receive.visibility = seconds(600);
      auto got = queue(name).Receive(receive);
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (!got.ok() || got->empty()) break;
      for (const QueueMessage& m : *got) {
        bodies.push_back(m.body);
        EXPECT_TRUE(queue(name).Delete(m.receipt).ok());
      }
    }
    for (const std::string& body : bodies) {
      for (int copy = 0; copy < 2; ++copy) EXPECT_TRUE(queue(name).Send(body).ok());
    }
    return bodies.size();
  };
  const std::size_t segment_messages = duplicate_all(kSegmentsQueue);
  EXPECT_GE(segment_messages, static_cast<std::size_t>(total));

  StartWorker("video-a", "video");
  StartWorker("video-b", "video");
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto done = jobs_->CountCompletions(job_id);
        return done.ok() && *done == total && Drained(kSegmentsQueue);
      },
      seconds(180)))
      << "the segments were not all converted";
  StopGracefully("video-a");
  StopGracefully("video-b");
  EXPECT_EQ(Depth(kSegmentsQueue).dead_letter, 0);
  const std::size_t reassembly_messages = duplicate_all(kReassemblyQueue);
  EXPECT_GE(reassembly_messages, 1u);

  StartWorker("media-a", "media");
  StartWorker("media-b", "media");
  WaitEnded(job_id);
  ASSERT_TRUE(
      WaitUntil([&] { return Drained(kReassemblyQueue) && Drained(kChunkingQueue); }, seconds(60)));
  ExpectCompleteAndWhole(job_id);
  const std::string logs = AllLogs();
  EXPECT_EQ(CountLogLines(logs, "job completed", job_id), 1) << "reassembled more than once";
  // The job's outputs: the converted segments and one final file, nothing else.
  const auto outputs = Keys(*JobOutputPrefix(job_id));
  EXPECT_EQ(outputs.size(), static_cast<std::size_t>(total) + 1);
  const std::string final_path = FetchFinal(job_id);
  EXPECT_EQ(FrameChecksums(final_path, "v:0"), baseline_video);
  EXPECT_EQ(FrameChecksums(final_path, "a:0"), baseline_audio);
  for (const char* name : {"media-a", "media-b"}) StopGracefully(name);
  EXPECT_EQ(Depth(kReassemblyQueue).dead_letter, 0);
  std::cerr << "[chaos] " << segment_messages << " segment and " << reassembly_messages
            << " reassembly messages each delivered twice; conversions started "
            << CountLogLines(logs, "segment conversion started", job_id) << " for " << total
            << " segments\n";
}

// A segment of corrupt bytes goes to the DLQ and fails its job with a clear reason, while
// another job in the same queues, on the same two worker processes, completes.
TEST_F(ChaosTest, PoisonSegmentEndsInTheDlqWhileAnotherJobCompletes) {
  const std::string clip = MakeClip();
  Job poisoned;
  poisoned.job_id = NewJobId();
  poisoned.params = FastParams().ToJson();
  poisoned.source_key = *BuildSourceKey(poisoned.job_id, "mp4");
  poisoned.uploaded_at = NowMillis();
  ASSERT_TRUE(jobs_->Create(poisoned).ok());
  JobUpdate planned;
  planned.total_segments = 1;
  ASSERT_TRUE(jobs_
                  ->TransitionStatus(poisoned.job_id, JobStatus::kCreated,
                                     JobStatus::kChunkingInProgress, planned)
                  .ok());
  const std::string key = *BuildSegmentKey(poisoned.job_id, 0, 1, Layout::kSbs);
  {
    std::ofstream garbage(dir_.File("garbage"), std::ios::binary);
    std::mt19937 rng(7);
    for (int i = 0; i < 65536; ++i) garbage.put(static_cast<char>(rng() & 0xff));
  }
  ASSERT_TRUE(objects_->PutFile(key, dir_.File("garbage")).ok());
  ASSERT_TRUE(queue(kSegmentsQueue)
                  .Send(EncodeSegmentMessage({poisoned.job_id, 0, 1, key, Layout::kSbs}))
                  .ok());
  const std::string healthy = Submit(clip);
  StartWorker("worker-a");
  StartWorker("worker-b");

  const Job failed = WaitEnded(poisoned.job_id);
  EXPECT_EQ(failed.status, JobStatus::kFailed);
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_EQ(failed.error->stage, "conversion");
  EXPECT_NE(failed.error->message.find("segment 0"), std::string::npos) << failed.error->message;
  EXPECT_EQ(failed.error->message.find(data_dir_), std::string::npos)
      << "the reason shows a local path: " << failed.error->message;
  std::cerr << "[chaos] poison segment reason: " << failed.error->message << "\n";

  WaitEnded(healthy);
  ExpectCompleteAndWhole(healthy);
  EXPECT_EQ(FrameChecksums(FetchFinal(healthy), "v:0").size(),
            static_cast<std::size_t>(kClipFrames));
  auto dead = queue(kSegmentsQueue).ListDeadLetters(10);
  ASSERT_TRUE(dead.ok()) << dead.status().ToString();
  ASSERT_EQ(dead->size(), 1u);
  auto body = DecodeSegmentMessage((*dead)[0].body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->job_id, poisoned.job_id);
  EXPECT_FALSE((*dead)[0].dead_letter_reason.empty());
  for (const char* name : {"worker-a", "worker-b"}) StopGracefully(name);
}

// `serve` (workers, janitor and HTTP in one process) is stopped mid-job twice, once with
// SIGTERM and once with SIGKILL, and started again each time: the job resumes and completes
// with the same frames as an uninterrupted run.
TEST_F(ChaosTest, ServeRestartedMidJobResumes) {
  const std::string clip = MakeClip();
  const auto [baseline_video, baseline_audio] = Baseline(clip);

  const int port = testing::FreeLoopbackPort();
  ASSERT_GT(port, 0);
  StartServe(port);
  const std::string job_id = Submit(clip);
  const auto completed_segments = [&] {
    auto done = jobs_->CountCompletions(job_id);
    return done.ok() ? *done : 0;
  };
  ASSERT_TRUE(WaitUntil([&] { return completed_segments() >= 1 || Ended(job_id); }, seconds(120)));
  ASSERT_FALSE(Ended(job_id)) << "the job ended before serve could be restarted";
  const int before_term = completed_segments();
  StopGracefully("serve");
  StartServe(port);
  ASSERT_TRUE(
      WaitUntil([&] { return completed_segments() > before_term || Ended(job_id); }, seconds(120)));
  const bool killed_mid_job = !Ended(job_id);
  if (killed_mid_job) {
    KillNine("serve");
    StartServe(port);
  }
  WaitEnded(job_id);
  ExpectCompleteAndWhole(job_id);
  EXPECT_TRUE(killed_mid_job) << "the job ended before serve could be SIGKILLed";
  const std::string final_path = FetchFinal(job_id);
  EXPECT_EQ(FrameChecksums(final_path, "v:0"), baseline_video);
  EXPECT_EQ(FrameChecksums(final_path, "a:0"), baseline_audio);
  StopGracefully("serve");
}

// A job is cancelled while both worker processes convert its segments: within one heartbeat
// they drop its work, the job ends cancelled and its intermediate objects are deleted (the
// source stays for a retry).
TEST_F(ChaosTest, CancelMidJobDropsItsWork) {
  const std::string clip = MakeClip();
  StartWorker("worker-a");
  StartWorker("worker-b");
  ConversionParams slow = FastParams();
  slow.preset = "veryslow";  // keeps both conversions running long enough to cancel them mid-way
  const std::string job_id = Submit(clip, slow);
  ASSERT_TRUE(WaitUntil([&] { return Depth(kSegmentsQueue).in_flight >= 2 || Ended(job_id); },
                        seconds(120)))
      << "the two workers never converted at the same time";
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_FALSE(Ended(job_id)) << "the job ended before it could be cancelled";
  ASSERT_EQ(jobs_->CountCompletions(job_id).value_or(-1), 0)
      << "a segment finished before the cancel; slow the conversion down";

  pipeline::JobService service(*jobs_, *objects_, queue(kChunkingQueue), queue(kDeletionQueue));
  const auto cancelled_at = Clock::now();
  auto cancelled = service.Cancel(job_id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return Drained(kSegmentsQueue); }, seconds(60)))
      << "the workers kept the cancelled job's segments";
  const double dropped_after = SecondsSince(cancelled_at);
  // One heartbeat for the job check to notice, plus the frame in hand and the acknowledgement
  // on two busy cores under ASan.
  EXPECT_LE(dropped_after, std::chrono::duration<double>(kHeartbeat).count() + 1.5)
      << "segments were dropped " << dropped_after << " s after the cancel";
  ASSERT_TRUE(WaitUntil([&] { return Drained(kDeletionQueue); }, seconds(60)));
  EXPECT_EQ(GetJob(job_id).status, JobStatus::kCancelled);
  EXPECT_EQ(jobs_->CountCompletions(job_id).value_or(-1), 0);
  EXPECT_TRUE(Keys(*SegmentsPrefix(job_id)).empty());
  EXPECT_TRUE(Keys(*JobOutputPrefix(job_id)).empty());
  EXPECT_EQ(Keys(*InputPrefix(job_id)).size(), 1u) << "the source is kept for a retry";
  EXPECT_EQ(Depth(kSegmentsQueue).dead_letter, 0);
  const std::string logs = AllLogs();
  EXPECT_EQ(CountLogLines(logs, "segment completed", job_id), 0);
  // Nothing of the dropped work is left in the workers' scratch space.
  std::error_code ec;
  const fs::path scratch = fs::path(data_dir_) / "scratch";
  int leftovers = 0;
  for (auto it = fs::directory_iterator(scratch, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    ++leftovers;
  }
  EXPECT_EQ(leftovers, 0) << "scratch directories left in " << scratch;
  for (const char* name : {"worker-a", "worker-b"}) StopGracefully(name);
  std::cerr << "[chaos] the cancelled job's segments were dropped " << dropped_after
            << " s after the cancel (heartbeat " << kHeartbeat.count() << " ms)\n";
}

}  // namespace
}  // namespace stereospot
