#include "pipeline/job_service.h"

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/local/fs_object_store.h"
#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
#include "core/ids.h"
#include "core/messages.h"

namespace stereospot::pipeline {
namespace {

namespace fs = std::filesystem;

// A 1 s 160x90 H.264 clip made once per test binary with ffmpeg's lavfi source.
struct ClipFile {
  fs::path path;
  ~ClipFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

const fs::path& TestClip() {
  static const ClipFile clip{[] {
    fs::path path = fs::path(::testing::TempDir()) / ("job-service-clip-" + RandomHex(4) + ".mp4");
    const std::string command =
        "ffmpeg -v error -y -f lavfi -i testsrc2=size=160x90:rate=25:duration=1 "
        "-c:v libx264 -pix_fmt yuv420p '" +
        path.string() + "'";
    if (std::system(command.c_str()) != 0 || !fs::exists(path)) {
      ADD_FAILURE() << "cannot make a test clip with ffmpeg (install it: apt-get install ffmpeg, "
                       "or run scripts/install-deps.sh)";
    }
    return path;
  }()};
  return clip.path;
}

class JobServiceTest : public ::testing::Test {
 protected:
  JobServiceTest() : dir_(fs::path(::testing::TempDir()) / ("job-service-" + RandomHex(6))) {
    fs::create_directories(dir_);
    auto db = local::SqliteDatabase::Open(":memory:");
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    jobs_ = std::make_unique<local::SqliteJobStore>(db_);
    chunking_ = std::make_unique<local::SqliteWorkQueue>(db_, "chunking");
    deletion_ = std::make_unique<local::SqliteWorkQueue>(db_, "deletion");
    auto objects = local::FsObjectStore::Open(dir_ / "objects");
    EXPECT_TRUE(objects.ok()) << objects.status().ToString();
    objects_ = std::move(*objects);
    JobServiceOptions options;
    options.stalled_after = std::chrono::minutes(30);
    options.clock_for_testing = [this] { return NowMillis() + clock_offset_ms_; };
    service_ = std::make_unique<JobService>(*jobs_, *objects_, *chunking_, *deletion_, options);
  }
  ~JobServiceTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Job CreateJob(std::string_view filename = "clip.mp4") {
    auto job = service_->Create(ConversionParams{}, "", filename);
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    return job.ok() ? *job : Job{};
  }

  Job UploadedJob() {
    Job job = CreateJob();
    auto uploaded = service_->SubmitSource(job.job_id, TestClip());
    EXPECT_TRUE(uploaded.ok()) << uploaded.status().ToString();
    return uploaded.ok() ? *uploaded : job;
  }

  fs::path TextFile() {
    fs::path path = dir_ / "notes.mp4";
    std::ofstream(path) << "this is a text file, not a video\n";
    return path;
  }

  // Messages waiting in `queue`, received and deleted (their job ids).
  static std::vector<std::string> Drain(WorkQueue& queue) {
    std::vector<std::string> ids;
    for (;;) {
      ReceiveOptions options;
      options.max_messages = 10;
      auto messages = queue.Receive(options);
      EXPECT_TRUE(messages.ok());
      if (!messages.ok() || messages->empty()) return ids;
      for (const QueueMessage& m : *messages) {
        auto decoded = DecodeJobMessage(m.body);
        EXPECT_TRUE(decoded.ok()) << m.body;
        if (decoded.ok()) ids.push_back(decoded->job_id);
        EXPECT_TRUE(queue.Delete(m.receipt).ok());
      }
    }
  }

  void Move(const std::string& id, JobStatus from, JobStatus to, const JobUpdate& update = {}) {
    Status s = jobs_->TransitionStatus(id, from, to, update);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void Complete(const std::string& id, int index, std::int64_t at) {
    SegmentCompletion c;
    c.job_id = id;
    c.segment_index = index;
    c.output_key = "jobs/" + id + "/segments/0000" + std::to_string(index) + ".mp4";
    c.completed_at = at;
    ASSERT_TRUE(jobs_->PutCompletion(c).ok());
  }

  fs::path dir_;
  std::shared_ptr<local::SqliteDatabase> db_;
  std::unique_ptr<local::SqliteJobStore> jobs_;
  std::unique_ptr<local::SqliteWorkQueue> chunking_;
  std::unique_ptr<local::SqliteWorkQueue> deletion_;
  std::unique_ptr<local::FsObjectStore> objects_;
  std::unique_ptr<JobService> service_;
  std::int64_t clock_offset_ms_ = 0;
};

TEST_F(JobServiceTest, CreateMakesACreatedJobWithTheSourceKeyFromTheFileName) {
  ConversionParams params;
  params.layout = Layout::kHalfSbs;
  params.divergence = 3.5;
  auto job = service_->Create(params, "", "Holiday Film.MKV");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_TRUE(IsValidJobId(job->job_id));
  EXPECT_EQ(job->status, JobStatus::kCreated);
  EXPECT_EQ(job->source_key, "input/" + job->job_id + "/source.mkv");
  EXPECT_EQ(job->title, "Holiday Film");
  EXPECT_EQ(job->params["layout"], "half-sbs");
  EXPECT_EQ(job->params["divergence"], 3.5);
  EXPECT_EQ(job->uploaded_at, 0);
  EXPECT_TRUE(Drain(*chunking_).empty());

  auto unnamed = service_->Create(ConversionParams{}, "t", "");
  ASSERT_TRUE(unnamed.ok());
  EXPECT_EQ(unnamed->source_key, "input/" + unnamed->job_id + "/source.mp4");
}

TEST_F(JobServiceTest, CreateRejectsUnknownExtensionsAndLongTitles) {
  for (std::string_view name : {"movie.exe", "movie", "../../etc/passwd", "a.mp4/../x.sh"}) {
    auto job = service_->Create(ConversionParams{}, "", name);
    ASSERT_FALSE(job.ok()) << name;
    EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(job.status().message().find("extension"), std::string::npos);
  }
  auto long_title = service_->Create(ConversionParams{}, std::string(201, 'x'), "a.mp4");
  EXPECT_EQ(long_title.status().code(), StatusCode::kInvalidArgument);
  auto page = jobs_->List(JobListQuery{});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->jobs.empty());
}

TEST_F(JobServiceTest, SubmitSourceStoresTheFileAndStartsChunking) {
  Job job = CreateJob();
  auto uploaded = service_->SubmitSource(job.job_id, TestClip());
  ASSERT_TRUE(uploaded.ok()) << uploaded.status().ToString();
  EXPECT_EQ(uploaded->status, JobStatus::kCreated);
  EXPECT_GT(uploaded->uploaded_at, 0);
  EXPECT_EQ(uploaded->source_bytes, static_cast<std::int64_t>(fs::file_size(TestClip())));
  auto head = objects_->Head(job.source_key);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, fs::file_size(TestClip()));
  EXPECT_EQ(Drain(*chunking_), std::vector<std::string>{job.job_id});
}

TEST_F(JobServiceTest, SubmitSourceIsIdempotentForTheSameFile) {
  Job job = UploadedJob();
  Drain(*chunking_);
  auto again = service_->SubmitSource(job.job_id, TestClip());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->uploaded_at, job.uploaded_at);
  // Still created: the chunking message goes out again (a duplicate is harmless).
  EXPECT_EQ(Drain(*chunking_), std::vector<std::string>{job.job_id});

  fs::path other = dir_ / "other.mp4";
  std::ofstream(other) << "short";
  auto different = service_->SubmitSource(job.job_id, other);
  EXPECT_EQ(different.status().code(), StatusCode::kConflict);
}

TEST_F(JobServiceTest, SubmitSourceRefusesATextFileAndChangesNothing) {
  Job job = CreateJob();
  auto refused = service_->SubmitSource(job.job_id, TextFile());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message().rfind("not a video: ", 0), 0u) << refused.status().message();
  auto after = jobs_->Get(job.job_id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->uploaded_at, 0);
  EXPECT_EQ(after->source_bytes, 0);
  EXPECT_TRUE(objects_->Head(job.source_key).status().IsNotFound());
  EXPECT_TRUE(Drain(*chunking_).empty());

  // An empty file is refused the same way.
  fs::path empty = dir_ / "empty.mp4";
  std::ofstream(empty).flush();
  EXPECT_EQ(service_->SubmitSource(job.job_id, empty).status().code(),
            StatusCode::kInvalidArgument);
  // And the real clip is still accepted afterwards.
  EXPECT_TRUE(service_->SubmitSource(job.job_id, TestClip()).ok());
}

TEST_F(JobServiceTest, AcceptStoredSourceProbesTheObjectWhereItLies) {
  Job job = CreateJob();
  // Nothing at the source key yet: the client has not PUT the file.
  auto early = service_->AcceptStoredSource(job.job_id, 1 << 30);
  EXPECT_EQ(early.status().code(), StatusCode::kConflict) << early.status().ToString();
  EXPECT_TRUE(Drain(*chunking_).empty());

  ASSERT_TRUE(objects_->PutFile(job.source_key, TestClip()).ok());
  auto accepted = service_->AcceptStoredSource(job.job_id, 1 << 30);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_GT(accepted->uploaded_at, 0);
  EXPECT_EQ(accepted->source_bytes, static_cast<std::int64_t>(fs::file_size(TestClip())));
  EXPECT_EQ(Drain(*chunking_), std::vector<std::string>{job.job_id});

  // Repeated (a client retrying after a lost answer): same job, the message again.
  auto again = service_->AcceptStoredSource(job.job_id, 1 << 30);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->uploaded_at, accepted->uploaded_at);
  EXPECT_EQ(Drain(*chunking_), std::vector<std::string>{job.job_id});
}

TEST_F(JobServiceTest, AcceptStoredSourceDeletesARefusedObjectAndKeepsTheJobCreated) {
  Job job = CreateJob();
  ASSERT_TRUE(objects_->PutFile(job.source_key, TextFile()).ok());
  auto refused = service_->AcceptStoredSource(job.job_id, 1 << 30);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message().rfind("not a video: ", 0), 0u) << refused.status().message();
  EXPECT_TRUE(objects_->Head(job.source_key).status().IsNotFound());

  ASSERT_TRUE(objects_->PutFile(job.source_key, TestClip()).ok());
  auto too_big = service_->AcceptStoredSource(job.job_id, 100);
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(too_big.status().message().rfind("upload larger than the limit of 100 bytes", 0), 0u)
      << too_big.status().message();
  EXPECT_TRUE(objects_->Head(job.source_key).status().IsNotFound());

  auto after = jobs_->Get(job.job_id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, JobStatus::kCreated);
  EXPECT_EQ(after->uploaded_at, 0);
  EXPECT_TRUE(Drain(*chunking_).empty());
}

TEST_F(JobServiceTest, SubmitSourceRefusesAJobPastCreated) {
  Job job = UploadedJob();
  Move(job.job_id, JobStatus::kCreated, JobStatus::kCancelled);
  fs::path copy = dir_ / "copy.mp4";
  fs::copy_file(TestClip(), copy);
  std::ofstream(copy, std::ios::app) << "x";  // a different size: a new file
  EXPECT_EQ(service_->SubmitSource(job.job_id, copy).status().code(), StatusCode::kConflict);
}

TEST_F(JobServiceTest, UnknownAndMalformedIds) {
  const std::string unknown = NewJobId();
  EXPECT_EQ(service_->Get(unknown).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Cancel(unknown).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Retry(unknown).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Delete(unknown).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Progress(unknown).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->SubmitSource(unknown, TestClip()).status().code(), StatusCode::kNotFound);
  for (std::string_view bad : {"", "../etc", "ABC", "3F0C1A2B-9D4E-4F6A-8B7C-0D1E2F3A4B5C"}) {
    EXPECT_EQ(service_->Get(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(service_->Cancel(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(service_->Retry(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(service_->Delete(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(service_->Progress(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(service_->SubmitSource(bad, TestClip()).status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(JobServiceTest, CancelMovesARunningJobAndSendsADeletionMessage) {
  Job job = UploadedJob();
  Move(job.job_id, JobStatus::kCreated, JobStatus::kChunkingInProgress);
  auto cancelled = service_->Cancel(job.job_id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  EXPECT_EQ(cancelled->status, JobStatus::kCancelled);
  EXPECT_EQ(Drain(*deletion_), std::vector<std::string>{job.job_id});

  auto twice = service_->Cancel(job.job_id);
  EXPECT_EQ(twice.status().code(), StatusCode::kConflict);
  EXPECT_NE(twice.status().message().find("cancelled"), std::string::npos);
  EXPECT_TRUE(Drain(*deletion_).empty());
}

TEST_F(JobServiceTest, CancelWorksFromEveryNonTerminalStatus) {
  for (JobStatus status : {JobStatus::kCreated, JobStatus::kChunkingInProgress,
                           JobStatus::kChunkingComplete, JobStatus::kReassembling}) {
    Job job = CreateJob();
    JobStatus at = JobStatus::kCreated;
    for (JobStatus next :
         {JobStatus::kChunkingInProgress, JobStatus::kChunkingComplete, JobStatus::kReassembling}) {
      if (at == status) break;
      Move(job.job_id, at, next);
      at = next;
    }
    auto cancelled = service_->Cancel(job.job_id);
    ASSERT_TRUE(cancelled.ok()) << JobStatusName(status) << ": " << cancelled.status().ToString();
    EXPECT_EQ(cancelled->status, JobStatus::kCancelled);
  }
}

TEST_F(JobServiceTest, RetryResetsProgressKeepsTheSourceAndStartsChunkingAgain) {
  Job job = UploadedJob();
  Drain(*chunking_);
  JobUpdate planned;
  planned.total_segments = 2;
  Move(job.job_id, JobStatus::kCreated, JobStatus::kChunkingInProgress);
  Move(job.job_id, JobStatus::kChunkingInProgress, JobStatus::kChunkingComplete, planned);
  Complete(job.job_id, 0, NowMillis());
  JobUpdate failure;
  failure.error = JobError{"conversion", "the encoder crashed"};
  Move(job.job_id, JobStatus::kChunkingComplete, JobStatus::kFailed, failure);

  auto retried = service_->Retry(job.job_id);
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(retried->status, JobStatus::kCreated);
  EXPECT_FALSE(retried->error.has_value());
  EXPECT_EQ(retried->attempts, 1);
  EXPECT_EQ(retried->total_segments, 0);
  EXPECT_EQ(retried->uploaded_at, job.uploaded_at);
  EXPECT_EQ(retried->source_key, job.source_key);
  EXPECT_TRUE(objects_->Head(job.source_key).ok());
  auto count = jobs_->CountCompletions(job.job_id);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);
  EXPECT_EQ(Drain(*chunking_), std::vector<std::string>{job.job_id});

  // Not failed or cancelled any more: a second retry is refused.
  EXPECT_EQ(service_->Retry(job.job_id).status().code(), StatusCode::kConflict);
}

TEST_F(JobServiceTest, RetryOfAJobNeverUploadedSendsNothing) {
  Job job = CreateJob();
  ASSERT_TRUE(service_->Cancel(job.job_id).ok());
  auto retried = service_->Retry(job.job_id);
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(retried->status, JobStatus::kCreated);
  EXPECT_TRUE(Drain(*chunking_).empty());
}

TEST_F(JobServiceTest, DeleteOnlyFinishedJobs) {
  Job running = UploadedJob();
  Move(running.job_id, JobStatus::kCreated, JobStatus::kChunkingInProgress);
  auto refused = service_->Delete(running.job_id);
  EXPECT_EQ(refused.status().code(), StatusCode::kConflict);
  EXPECT_NE(refused.status().message().find("chunking_in_progress"), std::string::npos);
  EXPECT_TRUE(Drain(*deletion_).empty());

  ASSERT_TRUE(service_->Cancel(running.job_id).ok());
  Drain(*deletion_);
  auto deleted = service_->Delete(running.job_id);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->status, JobStatus::kDeleted);
  EXPECT_EQ(Drain(*deletion_), std::vector<std::string>{running.job_id});
  // Repeating a delete re-sends the message.
  ASSERT_TRUE(service_->Delete(running.job_id).ok());
  EXPECT_EQ(Drain(*deletion_), std::vector<std::string>{running.job_id});
  EXPECT_EQ(service_->Retry(running.job_id).status().code(), StatusCode::kConflict);
}

TEST_F(JobServiceTest, ProgressOfAWaitingJob) {
  Job job = CreateJob();
  auto p = service_->Progress(job.job_id);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->stage, "waiting_for_upload");
  EXPECT_EQ(p->percent, 0);
  EXPECT_FALSE(p->eta_seconds.has_value());
  EXPECT_TRUE(p->segments.empty());
  clock_offset_ms_ = 24LL * 3600 * 1000;
  p = service_->Progress(job.job_id);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->stalled) << "a job waiting for its upload is not the pipeline's to report";
}

TEST_F(JobServiceTest, ProgressCountsSegmentsEstimatesTheRestAndReportsStalls) {
  Job job = UploadedJob();
  const std::int64_t start = NowMillis();
  JobUpdate planned;
  planned.total_segments = 4;
  planned.started_at = start - 40'000;
  Move(job.job_id, JobStatus::kCreated, JobStatus::kChunkingInProgress);
  Move(job.job_id, JobStatus::kChunkingInProgress, JobStatus::kChunkingComplete, planned);
  Complete(job.job_id, 0, start - 20'000);
  Complete(job.job_id, 2, start);

  auto p = service_->Progress(job.job_id);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->stage, "converting");
  EXPECT_EQ(p->segments_completed, 2);
  EXPECT_EQ(p->total_segments, 4);
  EXPECT_EQ(p->segments, (std::vector<SegmentState>{SegmentState::kDone, SegmentState::kPending,
                                                    SegmentState::kDone, SegmentState::kPending}));
  EXPECT_DOUBLE_EQ(p->percent, 50);
  // Two segments in 40 s: the other two need about 40 s more.
  ASSERT_TRUE(p->eta_seconds.has_value());
  EXPECT_NEAR(*p->eta_seconds, 40, 2);
  EXPECT_FALSE(p->stalled);

  nlohmann::json json = ProgressToJson(*p);
  EXPECT_EQ(json["job_id"], job.job_id);
  EXPECT_EQ(json["progress"]["segments"][1], "pending");
  EXPECT_EQ(json["progress"]["segments_completed"], 2);
  EXPECT_EQ(json["progress"]["stalled"], false);

  clock_offset_ms_ = 31LL * 60 * 1000;
  p = service_->Progress(job.job_id);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->stalled);
  EXPECT_GE(p->idle_ms, 30LL * 60 * 1000);
  EXPECT_EQ(ProgressToJson(*p)["progress"]["stalled"], true);
}

TEST_F(JobServiceTest, ProgressOfFinishedJobs) {
  Job job = UploadedJob();
  JobUpdate planned;
  planned.total_segments = 1;
  Move(job.job_id, JobStatus::kCreated, JobStatus::kChunkingInProgress);
  Move(job.job_id, JobStatus::kChunkingInProgress, JobStatus::kChunkingComplete, planned);
  Complete(job.job_id, 0, NowMillis());
  Move(job.job_id, JobStatus::kChunkingComplete, JobStatus::kReassembling);
  auto p = service_->Progress(job.job_id);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->stage, "reassembling");
  EXPECT_DOUBLE_EQ(p->percent, 95);
  Move(job.job_id, JobStatus::kReassembling, JobStatus::kCompleted);
  p = service_->Progress(job.job_id);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->stage, "completed");
  EXPECT_DOUBLE_EQ(p->percent, 100);
  EXPECT_FALSE(p->eta_seconds.has_value());
  clock_offset_ms_ = 48LL * 3600 * 1000;
  p = service_->Progress(job.job_id);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->stalled) << "finished jobs never stall";
}

}  // namespace
}  // namespace stereospot::pipeline
