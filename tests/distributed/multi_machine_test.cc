// Issue 8, item 5: several machines on one distributed backend. The test process plays the API
// (it creates the job, uploads the source and sends the chunking message through the adapters,
// as the API does); two `stereospot worker` processes share the PostgreSQL and S3 test servers
// with it. One worker is killed with SIGKILL in the middle of a segment; its message reappears
// when its visibility runs out, the other worker converts the segment, and the job completes
// with the same decoded frames as `stereospot convert` (the embedded backend) gives for the same
// input and parameters.
//
// The processes are separate processes on one host, not separate network namespaces: the test
// servers listen on 127.0.0.1 only, and nothing is shared between the processes but the servers.
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "adapters/postgres/pg_database.h"
#include "adapters/postgres/pg_job_store.h"
#include "adapters/postgres/pg_work_queue.h"
#include "adapters/s3/s3_object_store.h"
#include "core/conversion_params.h"
#include "core/ids.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "media/frame_pipeline.h"
#include "media/test_clips.h"
#include "tests/distributed/distributed_env.h"

namespace stereospot::distributed_testing {
namespace {

using media::testing::Ffmpeg;
using media::testing::TempDir;
using Clock = std::chrono::steady_clock;

// 320x180 at 25 fps with a keyframe every second and a tone: 8 s cut into 4 segments of 2 s.
std::string MakeClip(const TempDir& dir) {
  const std::string path = dir.File("clip.mp4");
  EXPECT_TRUE(
      Ffmpeg("-f lavfi -i testsrc2=size=320x180:rate=25 -f lavfi -i sine=frequency=440 -t 8 "
             "-c:v libx264 -preset ultrafast -g 25 -keyint_min 25 -sc_threshold 0 "
             "-pix_fmt yuv420p -c:a aac -b:a 64k -shortest " +
             path));
  return path;
}

// FNV-1a of every plane of every decoded frame: equal lists mean equal pictures.
std::vector<std::uint64_t> FrameDigests(const std::string& path) {
  std::vector<std::uint64_t> digests;
  auto n = media::DecodeFrames(path, {}, [&](const media::FrameInfo&, const media::VideoImage& f) {
    std::uint64_t h = 1469598103934665603ULL;
    for (const auto& plane : f.planes) {
      for (std::uint8_t b : plane) h = (h ^ b) * 1099511628211ULL;
    }
    digests.push_back(h);
    return Status::OK();
  });
  EXPECT_TRUE(n.ok()) << path << ": " << n.status().ToString();
  return digests;
}

// The segment_index field of a log line, or -1.
int SegmentIndexOf(const std::string& line) {
  constexpr std::string_view kField = " segment_index=";
  auto at = line.find(kField);
  if (at == std::string::npos) return -1;
  int index = 0;
  auto begin = line.data() + at + kField.size();
  auto [end, ec] = std::from_chars(begin, line.data() + line.size(), index);
  return ec == std::errc() && end != begin ? index : -1;
}

// The segment indexes of the lines of `log` that contain `message`, in order.
std::vector<int> SegmentsLogged(const std::string& log, const std::string& message) {
  std::vector<int> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(message) != std::string::npos && SegmentIndexOf(line) >= 0) {
      out.push_back(SegmentIndexOf(line));
    }
  }
  return out;
}

bool LogHasCompleted(const std::string& log, int segment_index) {
  for (int index : SegmentsLogged(log, "segment completed")) {
    if (index == segment_index) return true;
  }
  return false;
}

TEST(MultiMachineTest, JobCompletesAfterAWorkerIsKilledMidSegmentWithEmbeddedFrames) {
  const auto started_at = Clock::now();
  TempDir dir;
  const std::string clip = MakeClip(dir);
  DistributedSetup setup = NewDistributedSetup();
  ASSERT_FALSE(setup.servers.pg_conninfo.empty());
  ASSERT_FALSE(setup.servers.s3_endpoint.empty());

  // Short visibility so the killed worker's message reappears within seconds; one video and one
  // media worker per process, so the two processes share the segments.
  const std::string config_path = dir.File("distributed.toml");
  std::ofstream(config_path) << setup.ToToml(
      "[queue]\nvisibility_seconds = 3\nwait_seconds = 1\npoll_interval_ms = 100\n"
      "[workers]\nmedia = 1\nvideo = 1\n");

  // The "API": the job, its source in the bucket, and the chunking message.
  postgres::PostgresOptions pg;
  pg.conninfo = setup.servers.pg_conninfo;
  pg.schema = setup.schema;
  auto db = postgres::PgDatabase::Connect(pg);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  postgres::PgJobStore pg_jobs(*db);
  postgres::PgWorkQueue pg_chunking(*db, std::string(kChunkingQueue));
  postgres::PgWorkQueue pg_segments(*db, std::string(kSegmentsQueue));
  JobStore& jobs = pg_jobs;  // through the ports, as the API uses them
  WorkQueue& chunking = pg_chunking;
  WorkQueue& segments = pg_segments;
  s3::S3Options s3_options;
  s3_options.endpoint = setup.servers.s3_endpoint;
  s3_options.region = setup.servers.s3_region;
  s3_options.bucket = setup.bucket;
  s3_options.access_key_id = setup.servers.s3_access_key;
  s3_options.secret_access_key = setup.servers.s3_secret_key;
  auto objects = s3::S3ObjectStore::Open(s3_options);
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();

  ConversionParams params;
  params.preset = "ultrafast";
  Job job;
  job.job_id = NewJobId();
  job.title = "clip.mp4";
  job.params = params.ToJson();
  job.source_key = *BuildSourceKey(job.job_id, "mp4");
  ASSERT_TRUE(jobs.Create(job).ok());
  ASSERT_TRUE((*objects)->PutFile(job.source_key, clip).ok());
  JobUpdate uploaded;
  uploaded.uploaded_at = NowMillis();
  uploaded.source_bytes = static_cast<std::int64_t>(std::filesystem::file_size(clip));
  ASSERT_TRUE(jobs.UpdateFields(job.job_id, uploaded).ok());
  ASSERT_TRUE(chunking.Send(EncodeJobMessage({job.job_id})).ok());

  // Two worker "machines": separate processes, data directories (scratch) and logs.
  std::vector<std::unique_ptr<ChildProcess>> workers;
  for (const char* name : {"a", "b"}) {
    std::filesystem::create_directories(dir.File(std::string("worker-") + name));
    workers.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{STEREOSPOT_BIN, "--config", config_path, "--data-dir",
                                 dir.File(std::string("worker-") + name), "worker", "--role",
                                 "all"},
        setup.Env(), dir.File(std::string("worker-") + name + ".log")));
    ASSERT_GT(workers.back()->pid(), 0);
  }

  // Once chunking is complete (both workers can only be converting segments), kill the first
  // worker seen starting a segment, within a poll interval of the start.
  int victim = -1;
  int killed_segment = -1;
  bool chunked = false;
  std::vector<std::size_t> starts_seen(2, 0);
  const auto kill_deadline = Clock::now() + std::chrono::seconds(120);
  while (victim < 0 && Clock::now() < kill_deadline) {
    if (!chunked) {
      auto current = jobs.Get(job.job_id);
      ASSERT_TRUE(current.ok()) << current.status().ToString();
      ASSERT_NE(current->status, JobStatus::kFailed);
      chunked = current->status == JobStatus::kChunkingComplete;
    }
    for (int i = 0; i < 2 && victim < 0; ++i) {
      ASSERT_EQ(workers[i]->Wait(0), -1) << "worker exited early:\n" << workers[i]->Log();
      const std::string log = workers[i]->Log();
      const std::vector<int> started = SegmentsLogged(log, "segment conversion started");
      const bool new_start = started.size() > starts_seen[i];
      starts_seen[i] = started.size();
      if (!chunked || !new_start || LogHasCompleted(log, started.back())) continue;
      workers[i]->Signal(SIGKILL);
      victim = i;
      killed_segment = started.back();
    }
    if (victim < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(victim, 0) << "no worker started a segment in time\n--- a:\n"
                       << workers[0]->Log() << "\n--- b:\n"
                       << workers[1]->Log();
  const int status = workers[victim]->Wait(10'000);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  const pid_t victim_pid = workers[victim]->pid();
  ChildProcess& survivor = *workers[1 - victim];
  const std::string victim_log = workers[victim]->Log();
  // It died mid-segment: it never finished the segment it had started.
  ASSERT_FALSE(LogHasCompleted(victim_log, killed_segment)) << victim_log;

  // The job completes on the survivor.
  Result<Job> done = jobs.Get(job.job_id);
  const auto job_deadline = Clock::now() + std::chrono::seconds(240);
  while (Clock::now() < job_deadline) {
    done = jobs.Get(job.job_id);
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    if (IsTerminal(done->status)) break;
    ASSERT_EQ(survivor.Wait(0), -1) << "the surviving worker exited:\n" << survivor.Log();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(done->status, JobStatus::kCompleted)
      << (done->error ? done->error->stage + ": " + done->error->message : "not ended in time")
      << "\n--- survivor:\n"
      << survivor.Log();
  EXPECT_EQ(done->total_segments, 4);
  auto completions = jobs.ListCompletions(job.job_id);
  ASSERT_TRUE(completions.ok()) << completions.status().ToString();
  ASSERT_EQ(static_cast<int>(completions->size()), done->total_segments);
  // The killed worker's segment was redelivered and converted by the other process.
  const std::string survivor_id = ":" + std::to_string(survivor.pid()) + "/";
  bool found = false;
  for (const SegmentCompletion& c : *completions) {
    // The killed worker's completions are only those it finished before it was killed.
    if (c.worker_id.find(":" + std::to_string(victim_pid) + "/") != std::string::npos) {
      EXPECT_TRUE(LogHasCompleted(victim_log, c.segment_index))
          << "segment " << c.segment_index << " completed by the killed worker " << c.worker_id;
    }
    if (c.segment_index == killed_segment) {
      found = true;
      EXPECT_NE(c.worker_id.find(survivor_id), std::string::npos) << c.worker_id;
    }
  }
  EXPECT_TRUE(found) << "no completion for the killed segment " << killed_segment;
  // ...after its message reappeared: delivered a second time, to the survivor.
  bool redelivered = false;
  std::istringstream survivor_log(survivor.Log());
  for (std::string line; std::getline(survivor_log, line);) {
    redelivered = redelivered || (line.find("received") != std::string::npos &&
                                  line.find("queue=segments") != std::string::npos &&
                                  SegmentIndexOf(line) == killed_segment &&
                                  line.find("receive_count=2") != std::string::npos);
  }
  EXPECT_TRUE(redelivered) << survivor.Log();
  auto depth = segments.Depth();
  ASSERT_TRUE(depth.ok());
  EXPECT_EQ(depth->dead_letter, 0);

  // Scale-in drains: SIGTERM releases what is in hand and the worker exits cleanly.
  survivor.Signal(SIGTERM);
  const int term_status = survivor.Wait(30'000);
  EXPECT_TRUE(WIFEXITED(term_status) && WEXITSTATUS(term_status) == 0)
      << "status " << term_status << "\n"
      << survivor.Log();

  // The same input and parameters on the embedded backend, one video worker as above, cut as the
  // workers cut it (at least 4 segments; `convert` alone would cut one per video worker).
  const std::string distributed_out = dir.File("distributed.mp4");
  ASSERT_TRUE((*objects)->GetFile(*BuildFinalKey(job.job_id), distributed_out).ok());
  const std::string embedded_out = dir.File("embedded.mp4");
  CommandResult convert = RunCommand(std::string(STEREOSPOT_BIN) +
                                     " --set workers.video=1 --set workers.media=1"
                                     " --set chunking.min_segments=4 convert " +
                                     clip + " -o " + embedded_out + " --preset ultrafast");
  ASSERT_EQ(convert.exit_code, 0) << convert.out;
  const auto distributed_frames = FrameDigests(distributed_out);
  const auto embedded_frames = FrameDigests(embedded_out);
  EXPECT_EQ(distributed_frames.size(), 200u);
  EXPECT_EQ(distributed_frames, embedded_frames);
  std::cerr << "multi-machine run: "
            << std::chrono::duration<double>(Clock::now() - started_at).count()
            << " s; killed worker " << (victim == 0 ? "a" : "b") << " in segment " << killed_segment
            << "; completions:";
  for (const SegmentCompletion& c : *completions) {
    std::cerr << " " << c.segment_index << "=" << c.worker_id;
  }
  std::cerr << "; frames " << distributed_frames.size() << "\n";
  if (std::getenv("SHOW_WORKER_LOGS") != nullptr) {
    std::cerr << "--- killed worker:\n"
              << workers[victim]->Log() << "--- survivor:\n"
              << survivor.Log() << "--- convert:\n"
              << convert.out;
  }
}

}  // namespace
}  // namespace stereospot::distributed_testing
