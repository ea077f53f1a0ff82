// The processors end to end on the embedded backend, in one process: real clips made by ffmpeg,
// real conversions, the real SQLite queues and directory store.
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "adapters/local/fs_object_store.h"
#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
#include "core/conversion_params.h"
#include "core/ids.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "media/frame_pipeline.h"
#include "media/probe.h"
#include "media/test_clips.h"
#include "pipeline/stereo_segment.h"
#include "pipeline/worker_pool.h"

namespace stereospot::pipeline {
namespace {

namespace fs = std::filesystem;
using media::testing::Ffmpeg;
using media::testing::TempDir;
using std::chrono::milliseconds;

// A 320x180 clip with a keyframe every second and a sine tone.
std::string MakeClip(const TempDir& dir, const std::string& name, double seconds) {
  const std::string path = dir.File(name);
  EXPECT_TRUE(
      Ffmpeg("-f lavfi -i testsrc2=size=320x180:rate=25 -f lavfi -i sine=frequency=440 "
             "-t " +
             std::to_string(seconds) +
             " -c:v libx264 -preset ultrafast -g 25 -keyint_min 25 -sc_threshold 0 "
             "-pix_fmt yuv420p -c:a aac -b:a 64k -shortest " +
             path));
  return path;
}

// FNV-1a of every decoded frame's pixels: equal digests mean equal pictures.
std::vector<uint64_t> FrameDigests(const std::string& path) {
  std::vector<uint64_t> digests;
  auto n = media::DecodeFrames(path, {}, [&](const media::FrameInfo&, const media::VideoImage& f) {
    uint64_t h = 1469598103934665603ULL;
    for (uint8_t b : f.planes[0]) h = (h ^ b) * 1099511628211ULL;
    digests.push_back(h);
    return Status::OK();
  });
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return digests;
}

ConversionParams FastParams(Layout layout = Layout::kSbs) {
  ConversionParams params;
  params.layout = layout;
  params.preset = "ultrafast";
  return params;
}

TEST(WorkerCountsTest, OneVideoWorkerPerTwoCoresAndFourGigabytes) {
  constexpr std::uint64_t kGb = 1ULL << 30;
  EXPECT_EQ(DefaultWorkerCounts(2, 24 * kGb).video, 1);
  EXPECT_EQ(DefaultWorkerCounts(16, 64 * kGb).video, 8);
  EXPECT_EQ(DefaultWorkerCounts(16, 16 * kGb).video, 4);  // memory bounds it
  EXPECT_EQ(DefaultWorkerCounts(1, 1 * kGb).video, 1);    // never none
  EXPECT_EQ(DefaultWorkerCounts(16, 64 * kGb).media, 1);
}

TEST(StereoSegmentTest, ConvertsEveryFrameDeterministically) {
  TempDir dir;
  const std::string clip = MakeClip(dir, "clip.mp4", 2);
  StereoSegmentOptions options;
  options.threads = 1;
  std::vector<std::int64_t> progress;
  options.progress_every = 20;
  options.progress = [&](const StereoSegmentProgress& p) { progress.push_back(p.frames); };
  auto first = ConvertStereoSegment(clip, "", dir.File("a.mp4"), FastParams(), options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->frames, 50);
  EXPECT_EQ(first->width_out, 640);
  EXPECT_EQ(first->height_out, 180);
  EXPECT_EQ(progress, (std::vector<std::int64_t>{20, 40}));
  // Analysis runs on its own thread ahead of the encoder: the output must not depend on how
  // the two threads happen to interleave.
  options.progress = nullptr;
  auto second = ConvertStereoSegment(clip, "", dir.File("b.mp4"), FastParams(), options);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  const auto a = FrameDigests(dir.File("a.mp4"));
  EXPECT_EQ(a.size(), 50u);
  EXPECT_EQ(a, FrameDigests(dir.File("b.mp4")));
  // Temporal normalisation off: every frame on its own, same frame count.
  ConversionParams per_frame = FastParams();
  per_frame.temporal = false;
  auto plain = ConvertStereoSegment(clip, "", dir.File("c.mp4"), per_frame, options);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(FrameDigests(dir.File("c.mp4")).size(), 50u);
}

TEST(StereoSegmentTest, WarmupIsUsedAndDeterministic) {
  TempDir dir;
  const std::string clip = MakeClip(dir, "clip.mp4", 2);
  ASSERT_TRUE(Ffmpeg("-i " + clip + " -t 1 -c copy -an " + dir.File("first.mp4")));
  ASSERT_TRUE(Ffmpeg("-ss 1 -i " + clip + " -c copy -an " + dir.File("second.mp4")));
  StereoSegmentOptions options;
  options.threads = 1;
  auto warm = ConvertStereoSegment(dir.File("second.mp4"), dir.File("first.mp4"), dir.File("a.mp4"),
                                   FastParams(), options);
  ASSERT_TRUE(warm.ok()) << warm.status().ToString();
  EXPECT_EQ(warm->warmup_frames, 25);
  auto again = ConvertStereoSegment(dir.File("second.mp4"), dir.File("first.mp4"),
                                    dir.File("b.mp4"), FastParams(), options);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(FrameDigests(dir.File("a.mp4")), FrameDigests(dir.File("b.mp4")));
  // warmup_frames = 0 ignores the previous segment.
  options.warmup_frames = 0;
  auto cold = ConvertStereoSegment(dir.File("second.mp4"), dir.File("first.mp4"), dir.File("c.mp4"),
                                   FastParams(), options);
  ASSERT_TRUE(cold.ok()) << cold.status().ToString();
  EXPECT_EQ(cold->warmup_frames, 0);
  // The warm-up runs beside the conversion: a warm-up segment that cannot be decoded still fails
  // the call, with its reason, and leaves no output.
  options.warmup_frames = 32;
  std::ofstream(dir.File("broken.mp4")) << "not a video";
  auto broken = ConvertStereoSegment(dir.File("second.mp4"), dir.File("broken.mp4"),
                                     dir.File("d.mp4"), FastParams(), options);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("warm-up segment"), std::string::npos)
      << broken.status().ToString();
  EXPECT_FALSE(fs::exists(dir.File("d.mp4")));
}

TEST(StereoSegmentTest, CancelAndBadInputLeaveNoOutput) {
  TempDir dir;
  const std::string clip = MakeClip(dir, "clip.mp4", 1);
  StereoSegmentOptions options;
  int calls = 0;
  options.cancelled = [&] { return ++calls > 10; };
  auto cancelled = ConvertStereoSegment(clip, "", dir.File("out.mp4"), FastParams(), options);
  EXPECT_EQ(cancelled.status().code(), StatusCode::kCancelled);
  EXPECT_FALSE(fs::exists(dir.File("out.mp4")));

  std::ofstream(dir.File("text.mp4")) << "hello, not a video";
  auto text = ConvertStereoSegment(dir.File("text.mp4"), "", dir.File("out.mp4"), FastParams());
  EXPECT_FALSE(text.ok());
  EXPECT_FALSE(fs::exists(dir.File("out.mp4")));

  ConversionParams capped = FastParams();
  capped.max_fps = 10;
  auto unsupported = ConvertStereoSegment(clip, "", dir.File("out.mp4"), capped);
  EXPECT_EQ(unsupported.status().code(), StatusCode::kPermanent);
}

// The layouts made of whole views render in the decoder's Y Cb Cr, anaglyph in RGB: either way
// the output has the source's colours where the views agree (a flat field), and a long warm-up
// segment is decoded from its tail only (still the full warm-up).
TEST(StereoSegmentTest, EveryLayoutKeepsTheSourceColours) {
  TempDir dir;
  ASSERT_TRUE(
      Ffmpeg("-f lavfi -i color=c=0x3366CC:s=320x180:r=25:d=1 -c:v libx264 -preset "
             "ultrafast -g 25 -pix_fmt yuv420p " +
             dir.File("flat.mp4")));
  ASSERT_TRUE(
      Ffmpeg("-f lavfi -i color=c=0x3366CC:s=320x180:r=25:d=4 -c:v libx264 -preset "
             "ultrafast -g 25 -pix_fmt yuv420p " +
             dir.File("before.mp4")));
  StereoSegmentOptions options;
  options.threads = 1;
  for (Layout layout : {Layout::kSbs, Layout::kHalfSbs, Layout::kTb, Layout::kHalfTb,
                        Layout::kCross, Layout::kAnaglyph}) {
    const std::string name = std::string(LayoutName(layout));
    ConversionParams params = FastParams(layout);
    params.anaglyph = AnaglyphMethod::kColor;  // a flat field keeps its colour exactly
    auto stats = ConvertStereoSegment(dir.File("flat.mp4"), dir.File("before.mp4"),
                                      dir.File(name + ".mp4"), params, options);
    ASSERT_TRUE(stats.ok()) << name << ": " << stats.status().ToString();
    EXPECT_EQ(stats->frames, 25) << name;
    EXPECT_EQ(stats->warmup_frames, options.warmup_frames) << name;
    int checked = 0;
    auto decoded = media::DecodeFrames(
        dir.File(name + ".mp4"), {}, [&](const media::FrameInfo&, const media::VideoImage& f) {
          // A point inside each view: a quarter and three quarters across and down.
          for (auto [fx, fy] : {std::pair{0.25, 0.25}, std::pair{0.75, 0.75}}) {
            const int x = static_cast<int>(f.width * fx), y = static_cast<int>(f.height * fy);
            const uint8_t* px = f.planes[0].data() + y * f.stride[0] + 3 * x;
            EXPECT_NEAR(px[0], 0x33, 5) << name;
            EXPECT_NEAR(px[1], 0x66, 5) << name;
            EXPECT_NEAR(px[2], 0xCC, 5) << name;
          }
          ++checked;
          return Status::OK();
        });
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(checked, 25) << name;
  }
}

// An embedded backend in a temp directory with the four queues and a worker pool over it.
class PipelineHarness {
 public:
  explicit PipelineHarness(const TempDir& dir, int max_receives = 3) : dir_(dir) {
    auto db = local::SqliteDatabase::Open(fs::path(dir.File("db.sqlite")));
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    jobs_ = std::make_unique<local::SqliteJobStore>(db_);
    local::SqliteQueueOptions q;
    q.max_receives = max_receives;
    q.poll_interval = milliseconds(20);
    for (auto name : kAllQueueNames) {
      queues_.push_back(std::make_unique<local::SqliteWorkQueue>(db_, std::string(name), q));
    }
    auto objects = local::FsObjectStore::Open(fs::path(dir.File("objects")));
    EXPECT_TRUE(objects.ok());
    objects_ = std::move(*objects);
    ports_.jobs = jobs_.get();
    ports_.objects = objects_.get();
    ports_.chunking = queues_[0].get();
    ports_.segments = queues_[1].get();
    ports_.reassembly = queues_[2].get();
    ports_.deletion = queues_[3].get();
    ports_.metrics = &metrics_;
  }

  WorkerPoolOptions PoolOptions() const {
    WorkerPoolOptions options;
    options.media_workers = 1;
    options.video_workers = 2;
    options.loop.visibility = std::chrono::seconds(10);
    options.loop.wait = milliseconds(200);
    options.loop.stop_latency = milliseconds(100);
    options.loop.max_receives = 3;
    options.loop.backoff.base = milliseconds(50);
    options.loop.backoff.max = milliseconds(200);
    options.loop.abandon_in_flight = true;
    options.processor.scratch_dir = dir_.File("scratch");
    options.processor.job_check_interval = milliseconds(100);
    options.processor.plan.target_seconds = 1.0;
    options.processor.plan.min_segment_seconds = 0.5;
    options.processor.codec_threads = 1;
    return options;
  }

  // A job with `params` whose source is `clip`, uploaded and sent to chunking.
  std::string Submit(const std::string& clip, const ConversionParams& params) {
    Job job;
    job.job_id = NewJobId();
    job.params = params.ToJson();
    job.source_key = *BuildSourceKey(job.job_id, "mp4");
    job.uploaded_at = NowMillis();
    EXPECT_TRUE(jobs_->Create(job).ok());
    EXPECT_TRUE(objects_->PutFile(job.source_key, clip).ok());
    EXPECT_TRUE(ports_.chunking->Send(EncodeJobMessage({job.job_id})).ok());
    return job.job_id;
  }

  // Waits until the job reaches a terminal status; returns it.
  Job WaitEnded(const std::string& job_id, std::chrono::seconds limit = std::chrono::seconds(120)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto job = jobs_->Get(job_id);
      if (job.ok() && IsTerminal(job->status)) return *job;
      std::this_thread::sleep_for(milliseconds(50));
    }
    ADD_FAILURE() << "job " << job_id << " did not end in time";
    return *jobs_->Get(job_id);
  }

  std::string FetchFinal(const std::string& job_id) {
    const std::string out = dir_.File(job_id + "-final.mp4");
    Status s = objects_->GetFile(*BuildFinalKey(job_id), out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  const PipelinePorts& ports() const { return ports_; }
  JobStore& jobs() { return *jobs_; }
  ObjectStore& objects() { return *objects_; }
  const MetricsRegistry& metrics() const { return metrics_; }

 private:
  const TempDir& dir_;
  std::shared_ptr<local::SqliteDatabase> db_;
  std::unique_ptr<local::SqliteJobStore> jobs_;
  std::vector<std::unique_ptr<local::SqliteWorkQueue>> queues_;
  std::unique_ptr<local::FsObjectStore> objects_;
  MetricsRegistry metrics_;
  PipelinePorts ports_;
};

std::uint64_t CountObjects(ObjectStore& objects, const std::string& prefix) {
  auto page = objects.List(prefix, "", 1000);
  EXPECT_TRUE(page.ok());
  return page.ok() ? page->objects.size() : 0;
}

TEST(PipelineTest, JobCompletesWithAudioAndEveryFrame) {
  TempDir dir;
  const std::string clip = MakeClip(dir, "clip.mp4", 4);
  PipelineHarness harness(dir);
  WorkerPool pool(harness.ports(), harness.PoolOptions());
  ASSERT_TRUE(pool.Start().ok());
  const std::string job_id = harness.Submit(clip, FastParams(Layout::kHalfSbs));
  const Job job = harness.WaitEnded(job_id);
  ASSERT_EQ(job.status, JobStatus::kCompleted) << (job.error ? job.error->message : "");
  EXPECT_GE(job.total_segments, 3);
  auto completions = harness.jobs().ListCompletions(job_id);
  ASSERT_TRUE(completions.ok());
  EXPECT_EQ(static_cast<int>(completions->size()), job.total_segments);

  const std::string final_path = harness.FetchFinal(job_id);
  auto info = media::Probe(final_path);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->video_packets, 100);
  EXPECT_TRUE(info->has_audio());
  EXPECT_NEAR(info->duration_seconds, 4.0, 0.1);
  EXPECT_EQ(FrameDigests(final_path).size(), 100u);
  // Segments' conversions were warmed by their predecessors: every frame is there and the
  // same input converted again (a redelivery) gives the same pictures.
  pool.Stop();
  pool.Join();
  // The live count of encoded frames (what `convert` shows progress from) ends at every frame,
  // as does the count of frames in completed segments.
  const std::string metrics = harness.metrics().RenderPrometheus();
  EXPECT_NE(metrics.find("\nstereospot_frames_encoded_total 100\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nstereospot_frames_converted_total 100\n"), std::string::npos)
      << metrics;
}

TEST(PipelineTest, DuplicateDeliveriesGiveOneResult) {
  TempDir dir;
  const std::string clip = MakeClip(dir, "clip.mp4", 3);
  PipelineHarness harness(dir);
  const std::string job_id = harness.Submit(clip, FastParams());
  // Every chunking and segment message is sent twice.
  ASSERT_TRUE(harness.ports().chunking->Send(EncodeJobMessage({job_id})).ok());
  WorkerPoolOptions options = harness.PoolOptions();
  WorkerPool pool(harness.ports(), options);
  ASSERT_TRUE(pool.Start().ok());
  const Job job = harness.WaitEnded(job_id);
  ASSERT_EQ(job.status, JobStatus::kCompleted) << (job.error ? job.error->message : "");
  ASSERT_TRUE(harness.ports().reassembly->Send(EncodeJobMessage({job_id})).ok());
  std::this_thread::sleep_for(milliseconds(500));
  pool.Stop();
  pool.Join();
  auto completions = harness.jobs().ListCompletions(job_id);
  ASSERT_TRUE(completions.ok());
  EXPECT_EQ(static_cast<int>(completions->size()), job.total_segments);
  EXPECT_EQ(CountObjects(harness.objects(), "jobs/" + job_id + "/final.mp4"), 1u);
  EXPECT_EQ(harness.jobs().Get(job_id)->status, JobStatus::kCompleted);
  EXPECT_EQ(FrameDigests(harness.FetchFinal(job_id)).size(), 75u);
}

TEST(PipelineTest, NonVideoFailsTheJobWithAReason) {
  TempDir dir;
  std::ofstream(dir.File("notes.mp4")) << "this is a text file, not a video\n";
  PipelineHarness harness(dir);
  WorkerPool pool(harness.ports(), harness.PoolOptions());
  ASSERT_TRUE(pool.Start().ok());
  const std::string job_id = harness.Submit(dir.File("notes.mp4"), FastParams());
  const Job job = harness.WaitEnded(job_id);
  ASSERT_EQ(job.status, JobStatus::kFailed);
  ASSERT_TRUE(job.error.has_value());
  EXPECT_EQ(job.error->stage, "chunking");
  EXPECT_NE(job.error->message.find("not a decodable video"), std::string::npos)
      << job.error->message;
  auto depth = harness.ports().chunking->Depth();
  ASSERT_TRUE(depth.ok());
  EXPECT_EQ(depth->dead_letter, 1);
}

TEST(PipelineTest, PoisonSegmentGoesToTheDlqWhileAnotherJobCompletes) {
  TempDir dir;
  const std::string clip = MakeClip(dir, "clip.mp4", 2);
  PipelineHarness harness(dir);
  // A job whose segment is corrupt bytes, sent straight to the segments queue.
  Job poisoned;
  poisoned.job_id = NewJobId();
  poisoned.params = FastParams().ToJson();
  poisoned.source_key = *BuildSourceKey(poisoned.job_id, "mp4");
  poisoned.uploaded_at = NowMillis();
  ASSERT_TRUE(harness.jobs().Create(poisoned).ok());
  JobUpdate planned;
  planned.total_segments = 1;
  ASSERT_TRUE(harness.jobs()
                  .TransitionStatus(poisoned.job_id, JobStatus::kCreated,
                                    JobStatus::kChunkingInProgress, planned)
                  .ok());
  const std::string key = *BuildSegmentKey(poisoned.job_id, 0, 1, Layout::kSbs);
  std::ofstream(dir.File("garbage")) << std::string(4096, '\x17');
  ASSERT_TRUE(harness.objects().PutFile(key, dir.File("garbage")).ok());
  ASSERT_TRUE(harness.ports()
                  .segments->Send(EncodeSegmentMessage({poisoned.job_id, 0, 1, key, Layout::kSbs}))
                  .ok());
  const std::string healthy = harness.Submit(clip, FastParams());
  WorkerPool pool(harness.ports(), harness.PoolOptions());
  ASSERT_TRUE(pool.Start().ok());
  const Job failed = harness.WaitEnded(poisoned.job_id);
  EXPECT_EQ(failed.status, JobStatus::kFailed);
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_EQ(failed.error->stage, "conversion");
  const Job done = harness.WaitEnded(healthy);
  EXPECT_EQ(done.status, JobStatus::kCompleted) << (done.error ? done.error->message : "");
  pool.Stop();
  pool.Join();
  auto depth = harness.ports().segments->Depth();
  ASSERT_TRUE(depth.ok());
  EXPECT_EQ(depth->dead_letter, 1);
}

TEST(PipelineTest, CancelStopsWorkAndDeletesIntermediates) {
  TempDir dir;
  const std::string clip = MakeClip(dir, "clip.mp4", 6);
  PipelineHarness harness(dir);
  WorkerPoolOptions options = harness.PoolOptions();
  options.processor.codec_threads = 1;
  WorkerPool pool(harness.ports(), options);
  ConversionParams slow = FastParams();
  slow.preset = "veryslow";  // keeps conversions running long enough to be cancelled mid-way
  const std::string job_id = harness.Submit(clip, slow);
  ASSERT_TRUE(pool.Start().ok());
  // Wait for conversions to start, then cancel as a user would.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         harness.jobs().Get(job_id)->status == JobStatus::kCreated) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::this_thread::sleep_for(milliseconds(300));
  auto job = harness.jobs().Get(job_id);
  ASSERT_TRUE(job.ok());
  ASSERT_FALSE(IsTerminal(job->status)) << "the job ended before it could be cancelled";
  ASSERT_TRUE(harness.jobs().TransitionStatus(job_id, job->status, JobStatus::kCancelled).ok());
  ASSERT_TRUE(harness.ports().deletion->Send(EncodeJobMessage({job_id})).ok());
  // Within a few job checks every worker has dropped the job: the queues drain.
  const auto drained_by = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool drained = false;
  while (!drained && std::chrono::steady_clock::now() < drained_by) {
    drained = true;
    for (WorkQueue* q :
         {harness.ports().chunking, harness.ports().segments, harness.ports().deletion}) {
      auto d = q->Depth();
      drained = drained && d.ok() && d->visible + d->in_flight + d->delayed == 0;
    }
    if (!drained) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(drained) << "workers kept the cancelled job's messages";
  pool.Stop();
  pool.Join();
  EXPECT_EQ(harness.jobs().Get(job_id)->status, JobStatus::kCancelled);
  EXPECT_EQ(CountObjects(harness.objects(), "segments/" + job_id + "/"), 0u);
  EXPECT_EQ(CountObjects(harness.objects(), "jobs/" + job_id + "/"), 0u);
  EXPECT_EQ(CountObjects(harness.objects(), "input/" + job_id + "/"), 1u);  // kept for a retry
  EXPECT_FALSE(harness.objects().Head("jobs/" + job_id + "/final.mp4").ok());
}

}  // namespace
}  // namespace stereospot::pipeline
