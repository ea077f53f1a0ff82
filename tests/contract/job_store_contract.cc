// The JobStore contract (ports/job_store.h, DESIGN.md section 4), run on every backend.
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "core/ids.h"
#include "tests/contract/contract_suites.h"

namespace stereospot::contract {
namespace {

using namespace std::chrono_literals;
using S = JobStatus;

Job NewJob(std::int64_t created_at = 0) {
  Job job;
  job.job_id = NewJobId();
  job.title = "clip";
  job.params = {{"layout", "sbs"}};
  job.created_at = created_at;
  return job;
}

TEST_P(JobStoreContract, CreateAndGet) {
  auto store = backend_->NewJobStore();
  Job job = NewJob();
  job.source_key = "input/" + job.job_id + "/source.mp4";
  job.source_bytes = 1234;
  ASSERT_TRUE(store->Create(job).ok());
  auto got = store->Get(job.job_id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->job_id, job.job_id);
  EXPECT_EQ(got->status, S::kCreated);
  EXPECT_EQ(got->params, job.params);
  EXPECT_EQ(got->title, "clip");
  EXPECT_EQ(got->source_bytes, 1234);
  EXPECT_GT(got->created_at, 0);
  EXPECT_FALSE(got->error.has_value());
  EXPECT_EQ(store->Create(job).code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(store->Get(NewJobId()).status().IsNotFound());
  EXPECT_TRUE(store->Get("../../etc/passwd").status().IsInvalidArgument());
  Job bad = NewJob();
  bad.job_id = "not-a-uuid";
  EXPECT_TRUE(store->Create(bad).IsInvalidArgument());
  Job not_new = NewJob();
  not_new.status = S::kCompleted;
  EXPECT_TRUE(store->Create(not_new).IsInvalidArgument());
}

TEST_P(JobStoreContract, TransitionsAreConditionalAndChecked) {
  auto store = backend_->NewJobStore();
  Job job = NewJob();
  ASSERT_TRUE(store->Create(job).ok());
  JobUpdate started;
  started.started_at = 42;
  ASSERT_TRUE(
      store->TransitionStatus(job.job_id, S::kCreated, S::kChunkingInProgress, started).ok());
  // A duplicate event expecting the old status loses and changes nothing.
  JobUpdate other;
  other.title = "changed";
  EXPECT_TRUE(
      store->TransitionStatus(job.job_id, S::kCreated, S::kChunkingInProgress, other).IsConflict());
  // A transition outside the table is refused before touching the store.
  EXPECT_TRUE(
      store->TransitionStatus(job.job_id, S::kChunkingInProgress, S::kCreated).IsInvalidArgument());
  EXPECT_TRUE(store->TransitionStatus(NewJobId(), S::kCreated, S::kFailed).IsNotFound());
  auto got = store->Get(job.job_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, S::kChunkingInProgress);
  EXPECT_EQ(got->started_at, 42);
  EXPECT_EQ(got->title, "clip");

  JobUpdate fail;
  fail.error = JobError{"chunking", "not a video"};
  ASSERT_TRUE(store->TransitionStatus(job.job_id, S::kChunkingInProgress, S::kFailed, fail).ok());
  got = store->Get(job.job_id);
  ASSERT_TRUE(got->error.has_value());
  EXPECT_EQ(got->error->stage, "chunking");
  EXPECT_EQ(got->error->message, "not a video");
  // Retry clears the error.
  JobUpdate retry;
  retry.error = std::optional<JobError>();
  retry.attempts = 1;
  ASSERT_TRUE(store->TransitionStatus(job.job_id, S::kFailed, S::kCreated, retry).ok());
  got = store->Get(job.job_id);
  EXPECT_FALSE(got->error.has_value());
  EXPECT_EQ(got->attempts, 1);
}

TEST_P(JobStoreContract, UpdateFieldsWithAndWithoutCondition) {
  auto store = backend_->NewJobStore();
  Job job = NewJob();
  ASSERT_TRUE(store->Create(job).ok());
  JobUpdate u;
  u.total_segments = 7;
  ASSERT_TRUE(store->UpdateFields(job.job_id, u).ok());
  u.total_segments = 9;
  EXPECT_TRUE(store->UpdateFields(job.job_id, u, S::kChunkingInProgress).IsConflict());
  ASSERT_TRUE(store->UpdateFields(job.job_id, u, S::kCreated).ok());
  EXPECT_EQ(store->Get(job.job_id)->total_segments, 9);
  EXPECT_TRUE(store->UpdateFields(NewJobId(), u).IsNotFound());
}

TEST_P(JobStoreContract, ConditionalUpdatesUnderContention) {
  auto store = backend_->NewJobStore();
  Job job = NewJob();
  ASSERT_TRUE(store->Create(job).ok());
  // Eight workers race through the forward path, each trying every step; every step must be won
  // exactly once and the others must see kConflict.
  const std::pair<S, S> steps[] = {{S::kCreated, S::kChunkingInProgress},
                                   {S::kChunkingInProgress, S::kChunkingComplete},
                                   {S::kChunkingComplete, S::kReassembling},
                                   {S::kReassembling, S::kCompleted}};
  std::atomic<int> wins[4] = {0, 0, 0, 0};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto my_store = backend_->NewJobStore();
      for (int i = 0; i < 4; ++i) {
        // Keep trying the step until it is done by someone (it may not be reachable yet).
        for (int attempt = 0; attempt < 2000; ++attempt) {
          Status s = my_store->TransitionStatus(job.job_id, steps[i].first, steps[i].second);
          if (s.ok()) {
            ++wins[i];
            break;
          }
          if (!s.IsConflict() && !s.IsUnavailable()) ++unexpected;
          auto current = my_store->Get(job.job_id);
          if (current.ok() && current->status != steps[i].first &&
              static_cast<int>(current->status) > static_cast<int>(steps[i].first)) {
            break;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(unexpected.load(), 0);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(wins[i].load(), 1) << "step " << i;
  EXPECT_EQ(store->Get(job.job_id)->status, S::kCompleted);
}

TEST_P(JobStoreContract, ListPagesInOrderAndFilters) {
  auto store = backend_->NewJobStore();
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) {
    Job job = NewJob(1'000'000 + i);
    ids.push_back(job.job_id);
    ASSERT_TRUE(store->Create(job).ok());
  }
  ASSERT_TRUE(store->TransitionStatus(ids[3], S::kCreated, S::kCancelled).ok());
  JobListQuery q;
  q.limit = 10;
  std::vector<std::string> listed;
  for (int page = 0; page < 5; ++page) {
    auto result = store->List(q);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    for (const auto& j : result->jobs) listed.push_back(j.job_id);
    if (result->next_cursor.empty()) break;
    q.cursor = result->next_cursor;
  }
  ASSERT_EQ(listed.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(listed[i], ids[24 - i]) << "newest first";

  JobListQuery cancelled;
  cancelled.status = S::kCancelled;
  auto only = store->List(cancelled);
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->jobs.size(), 1u);
  EXPECT_EQ(only->jobs[0].job_id, ids[3]);

  JobListQuery bad;
  bad.cursor = "garbage";
  EXPECT_TRUE(store->List(bad).status().IsInvalidArgument());
  bad.cursor.clear();
  bad.limit = 0;
  EXPECT_TRUE(store->List(bad).status().IsInvalidArgument());
}

TEST_P(JobStoreContract, PaginationIsStableUnderInserts) {
  auto store = backend_->NewJobStore();
  std::set<std::string> original;
  for (int i = 0; i < 30; ++i) {
    Job job = NewJob(2'000'000 + i * 10);
    original.insert(job.job_id);
    ASSERT_TRUE(store->Create(job).ok());
  }
  JobListQuery q;
  q.limit = 7;
  std::multiset<std::string> seen;
  int inserted = 0;
  while (true) {
    auto page = store->List(q);
    ASSERT_TRUE(page.ok());
    for (const auto& j : page->jobs) seen.insert(j.job_id);
    // New jobs arrive between pages: newer ones, and ones created in the middle of the range.
    ASSERT_TRUE(store->Create(NewJob(3'000'000 + inserted)).ok());
    ASSERT_TRUE(store->Create(NewJob(2'000'000 + inserted * 10 + 5)).ok());
    ++inserted;
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  for (const auto& id : original) EXPECT_EQ(seen.count(id), 1u) << id;
  for (const auto& id : seen) EXPECT_EQ(seen.count(id), 1u) << "repeated " << id;
}

TEST_P(JobStoreContract, ListByCompletedTime) {
  auto store = backend_->NewJobStore();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    Job job = NewJob(5'000 + i);
    ids.push_back(job.job_id);
    ASSERT_TRUE(store->Create(job).ok());
  }
  // Complete in reverse creation order.
  for (int i = 0; i < 2; ++i) {
    JobUpdate u;
    u.completed_at = 9'000 + (10 - i);
    const std::string& id = ids[static_cast<std::size_t>(i)];
    ASSERT_TRUE(store->TransitionStatus(id, S::kCreated, S::kChunkingInProgress).ok());
    ASSERT_TRUE(store->TransitionStatus(id, S::kChunkingInProgress, S::kChunkingComplete).ok());
    ASSERT_TRUE(store->TransitionStatus(id, S::kChunkingComplete, S::kReassembling).ok());
    ASSERT_TRUE(store->TransitionStatus(id, S::kReassembling, S::kCompleted, u).ok());
  }
  JobListQuery q;
  q.order = JobOrder::kCompletedDesc;
  q.limit = 1;
  auto first = store->List(q);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->jobs.size(), 1u);
  EXPECT_EQ(first->jobs[0].job_id, ids[0]);
  q.cursor = first->next_cursor;
  auto second = store->List(q);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->jobs.size(), 1u);
  EXPECT_EQ(second->jobs[0].job_id, ids[1]);
  EXPECT_TRUE(second->next_cursor.empty()) << "never-completed jobs are left out";
  JobListQuery foreign;
  foreign.cursor = first->next_cursor;  // a completed-order cursor used for created order
  EXPECT_TRUE(store->List(foreign).status().IsInvalidArgument());
}

TEST_P(JobStoreContract, CompletionsAreIdempotent) {
  auto store = backend_->NewJobStore();
  Job job = NewJob();
  ASSERT_TRUE(store->Create(job).ok());
  SegmentCompletion c{job.job_id, 2, "jobs/x/segments/00002.mp4", 300, 10.0, 0, "w1", 3.5};
  ASSERT_TRUE(store->PutCompletion(c).ok());
  SegmentCompletion dup = c;
  dup.worker_id = "w2";
  ASSERT_TRUE(store->PutCompletion(dup).ok()) << "putting twice is harmless";
  c.segment_index = 0;
  ASSERT_TRUE(store->PutCompletion(c).ok());
  EXPECT_EQ(*store->CountCompletions(job.job_id), 2);
  auto list = store->ListCompletions(job.job_id);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].segment_index, 0);
  EXPECT_EQ((*list)[1].segment_index, 2);
  EXPECT_EQ((*list)[1].worker_id, "w1") << "the first completion is kept";
  EXPECT_EQ((*list)[1].frames, 300);
  EXPECT_GT((*list)[1].completed_at, 0);
  c.job_id = NewJobId();
  EXPECT_TRUE(store->PutCompletion(c).IsNotFound());
  EXPECT_TRUE(store->CountCompletions(c.job_id).status().IsNotFound());
}

TEST_P(JobStoreContract, CountByStatusCountsEveryJob) {
  auto store = backend_->NewJobStore();
  auto before = store->CountByStatus();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  auto count = [](const std::map<JobStatus, std::int64_t>& counts, JobStatus status) {
    auto it = counts.find(status);
    return it == counts.end() ? std::int64_t{0} : it->second;
  };
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->Create(NewJob()).ok());
  Job moved = NewJob();
  ASSERT_TRUE(store->Create(moved).ok());
  ASSERT_TRUE(
      store->TransitionStatus(moved.job_id, JobStatus::kCreated, JobStatus::kCancelled, {}).ok());
  auto after = store->CountByStatus();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(count(*after, JobStatus::kCreated) - count(*before, JobStatus::kCreated), 3);
  EXPECT_EQ(count(*after, JobStatus::kCancelled) - count(*before, JobStatus::kCancelled), 1);
  for (const auto& [status, n] : *after) EXPECT_GT(n, 0) << JobStatusName(status);
}

TEST_P(JobStoreContract, TriggerIsCreatedExactlyOnceUnderConcurrentCallers) {
  auto store = backend_->NewJobStore();
  Job job = NewJob();
  ASSERT_TRUE(store->Create(job).ok());
  EXPECT_TRUE(store->GetTrigger(job.job_id).status().IsNotFound());
  std::atomic<int> created{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto my_store = backend_->NewJobStore();
      auto r = my_store->CreateTriggerOnce(job.job_id);
      if (!r.ok()) {
        ++errors;
      } else if (*r) {
        ++created;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(created.load(), 1);
  EXPECT_TRUE(store->GetTrigger(job.job_id).ok());
  EXPECT_FALSE(*store->CreateTriggerOnce(job.job_id));
  EXPECT_TRUE(store->CreateTriggerOnce(NewJobId()).status().IsNotFound());
}

TEST_P(JobStoreContract, LeaseIsExclusiveAndAnExpiredOneIsTakenOver) {
  auto store = backend_->NewJobStore();
  Job job = NewJob();
  ASSERT_TRUE(store->Create(job).ok());
  EXPECT_TRUE(store->AcquireLease(job.job_id, "a", 1s).status().IsNotFound()) << "no trigger yet";
  ASSERT_TRUE(*store->CreateTriggerOnce(job.job_id));
  ASSERT_TRUE(*store->AcquireLease(job.job_id, "a", 200ms));
  EXPECT_FALSE(*store->AcquireLease(job.job_id, "b", 200ms)) << "held by a";
  EXPECT_TRUE(*store->AcquireLease(job.job_id, "a", 200ms)) << "re-acquire renews";
  ASSERT_TRUE(store->RenewLease(job.job_id, "a", 200ms).ok());
  EXPECT_TRUE(store->RenewLease(job.job_id, "b", 200ms).IsConflict());
  auto trigger = store->GetTrigger(job.job_id);
  ASSERT_TRUE(trigger.ok());
  EXPECT_EQ(trigger->lease_owner, "a");
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(*store->AcquireLease(job.job_id, "b", 10s)) << "an expired lease is taken over";
  EXPECT_TRUE(store->RenewLease(job.job_id, "a", 1s).IsConflict()) << "a must stop";
  ASSERT_TRUE(store->ReleaseLease(job.job_id, "a").ok()) << "releasing another's is a no-op";
  EXPECT_EQ(store->GetTrigger(job.job_id)->lease_owner, "b");
  ASSERT_TRUE(store->ReleaseLease(job.job_id, "b").ok());
  EXPECT_TRUE(*store->AcquireLease(job.job_id, "a", 1s));
}

TEST_P(JobStoreContract, ResetProgressClearsCompletionsAndTrigger) {
  auto store = backend_->NewJobStore();
  Job job = NewJob();
  ASSERT_TRUE(store->Create(job).ok());
  ASSERT_TRUE(store->PutCompletion({job.job_id, 0, "k", 1, 1, 0, "w", 1}).ok());
  ASSERT_TRUE(*store->CreateTriggerOnce(job.job_id));
  ASSERT_TRUE(store->ResetProgress(job.job_id).ok());
  EXPECT_EQ(*store->CountCompletions(job.job_id), 0);
  EXPECT_TRUE(store->GetTrigger(job.job_id).status().IsNotFound());
  ASSERT_TRUE(store->ResetProgress(job.job_id).ok()) << "idempotent";
}

}  // namespace
}  // namespace stereospot::contract
