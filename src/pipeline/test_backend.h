// Test-only helpers for the pipeline tests: an embedded backend (SQLite in memory, objects in a
// temp directory) and shortcuts that put jobs into a given state.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "adapters/local/fs_object_store.h"
#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
#include "core/ids.h"

namespace stereospot::pipeline::testing {

class TestBackend {
 public:
  explicit TestBackend(int max_receives = 5)
      : dir_(std::filesystem::path(::testing::TempDir()) / ("pipeline-" + RandomHex(6))) {
    std::filesystem::create_directories(dir_);
    auto db = local::SqliteDatabase::Open(":memory:");
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    local::SqliteQueueOptions options;
    options.max_receives = max_receives;
    options.poll_interval = std::chrono::milliseconds(20);
    jobs_ = std::make_unique<local::SqliteJobStore>(db_);
    segments_ = std::make_unique<local::SqliteWorkQueue>(db_, "segments", options);
    reassembly_ = std::make_unique<local::SqliteWorkQueue>(db_, "reassembly", options);
    auto objects = local::FsObjectStore::Open(dir_ / "objects");
    EXPECT_TRUE(objects.ok()) << objects.status().ToString();
    objects_ = std::move(*objects);
  }
  ~TestBackend() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  JobStore& jobs() { return *jobs_; }
  WorkQueue& segments() { return *segments_; }
  WorkQueue& reassembly() { return *reassembly_; }
  ObjectStore& objects() { return *objects_; }

  // A new job moved along the status machine to `status` (chunking_complete and later carry
  // `total_segments`).
  std::string MakeJob(JobStatus status, int total_segments = 3) {
    Job job;
    job.job_id = NewJobId();
    job.source_key = "input/" + job.job_id + "/source.mp4";
    EXPECT_TRUE(jobs().Create(job).ok());
    if (status == JobStatus::kCreated) return job.job_id;
    JobUpdate uploaded;
    uploaded.uploaded_at = NowMillis();
    Move(job.job_id, JobStatus::kCreated, JobStatus::kChunkingInProgress, uploaded);
    if (status == JobStatus::kChunkingInProgress) return job.job_id;
    if (status == JobStatus::kFailed || status == JobStatus::kCancelled) {
      Move(job.job_id, JobStatus::kChunkingInProgress, status);
      return job.job_id;
    }
    JobUpdate planned;
    planned.total_segments = total_segments;
    Move(job.job_id, JobStatus::kChunkingInProgress, JobStatus::kChunkingComplete, planned);
    if (status == JobStatus::kChunkingComplete) return job.job_id;
    Move(job.job_id, JobStatus::kChunkingComplete, JobStatus::kReassembling);
    if (status == JobStatus::kReassembling) return job.job_id;
    Move(job.job_id, JobStatus::kReassembling, status);
    return job.job_id;
  }

  void Complete(const std::string& job_id, int segment_index) {
    SegmentCompletion c;
    c.job_id = job_id;
    c.segment_index = segment_index;
    c.output_key = "jobs/" + job_id + "/segments/" + std::to_string(segment_index) + ".mp4";
    Status s = jobs().PutCompletion(c);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  JobStatus StatusOf(const std::string& job_id) {
    auto job = jobs().Get(job_id);
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    return job.ok() ? job->status : JobStatus::kDeleted;
  }

  void Put(const std::string& key) {
    bool done = false;
    Status s = objects().PutStream(key, [&](std::span<char> buffer) -> Result<std::size_t> {
      if (done) return std::size_t{0};
      done = true;
      buffer[0] = 'x';
      return std::size_t{1};
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  bool Exists(const std::string& key) { return objects().Head(key).ok(); }

  static std::int64_t Depth(WorkQueue& queue, bool dead = false) {
    auto depth = queue.Depth();
    EXPECT_TRUE(depth.ok());
    if (!depth.ok()) return -1;
    return dead ? depth->dead_letter : depth->visible + depth->in_flight + depth->delayed;
  }

 private:
  void Move(const std::string& id, JobStatus from, JobStatus to, const JobUpdate& update = {}) {
    Status s = jobs().TransitionStatus(id, from, to, update);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  std::filesystem::path dir_;
  std::shared_ptr<local::SqliteDatabase> db_;
  std::unique_ptr<local::SqliteJobStore> jobs_;
  std::unique_ptr<local::SqliteWorkQueue> segments_;
  std::unique_ptr<local::SqliteWorkQueue> reassembly_;
  std::unique_ptr<local::FsObjectStore> objects_;
};

}  // namespace stereospot::pipeline::testing
