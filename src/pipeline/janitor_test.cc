#include "pipeline/janitor.h"

#include <thread>

#include <gtest/gtest.h>

#include "core/messages.h"
#include "core/object_keys.h"
#include "pipeline/test_backend.h"
#include "pipeline/trigger.h"

namespace stereospot::pipeline {
namespace {

using std::chrono::minutes;
using testing::TestBackend;

constexpr std::int64_t kMinute = 60 * 1000;

// A janitor whose clock is the real one shifted by `*offset_ms` (so a test can move time on).
Janitor MakeJanitor(TestBackend& backend, const std::int64_t* offset_ms,
                    MetricsRegistry* metrics = nullptr) {
  JanitorOptions options;
  options.recovery_grace = minutes(2);
  options.stalled_after = minutes(30);
  options.retention = std::chrono::hours(24);
  options.page_size = 2;  // several pages even with few jobs
  options.metrics = metrics;
  options.clock_for_testing = [offset_ms] { return NowMillis() + *offset_ms; };
  return Janitor(backend.jobs(), backend.reassembly(), backend.objects(), options);
}

JanitorFindings Pass(Janitor& janitor) {
  auto findings = janitor.RunOnce();
  EXPECT_TRUE(findings.ok()) << findings.status().ToString();
  return findings.ok() ? *findings : JanitorFindings{};
}

std::string CompleteAll(TestBackend& backend, int segments) {
  const std::string id = backend.MakeJob(JobStatus::kChunkingComplete, segments);
  for (int i = 0; i < segments; ++i) backend.Complete(id, i);
  return id;
}

// Crash window 1: every completion is recorded but nobody ran the trigger.
TEST(JanitorTest, RerunsAMissedTrigger) {
  TestBackend backend;
  const std::string id = CompleteAll(backend, 3);
  const std::string waiting = backend.MakeJob(JobStatus::kChunkingComplete, 3);
  backend.Complete(waiting, 0);
  std::int64_t offset = 0;
  Janitor janitor = MakeJanitor(backend, &offset);
  JanitorFindings findings = Pass(janitor);
  EXPECT_EQ(findings.triggers_rerun, std::vector<std::string>{id});
  EXPECT_TRUE(findings.reassembly_resent.empty());
  EXPECT_EQ(backend.StatusOf(id), JobStatus::kReassembling);
  EXPECT_EQ(backend.StatusOf(waiting), JobStatus::kChunkingComplete);
  EXPECT_EQ(TestBackend::Depth(backend.reassembly()), 1);
  // A second pass finds nothing to do.
  findings = Pass(janitor);
  EXPECT_TRUE(findings.triggers_rerun.empty());
  EXPECT_EQ(TestBackend::Depth(backend.reassembly()), 1);
}

// Crash window 2: the trigger was created, then its creator died before moving the job.
TEST(JanitorTest, FinishesATriggerWhoseCreatorDied) {
  TestBackend backend;
  const std::string id = CompleteAll(backend, 2);
  ASSERT_TRUE(*backend.jobs().CreateTriggerOnce(id));
  std::int64_t offset = 0;
  Janitor janitor = MakeJanitor(backend, &offset);
  // Within the grace the creator may still be on its way.
  EXPECT_TRUE(Pass(janitor).triggers_rerun.empty());
  EXPECT_EQ(backend.StatusOf(id), JobStatus::kChunkingComplete);
  offset = 3 * kMinute;
  JanitorFindings findings = Pass(janitor);
  EXPECT_EQ(findings.triggers_rerun, std::vector<std::string>{id});
  EXPECT_EQ(backend.StatusOf(id), JobStatus::kReassembling);
  EXPECT_EQ(TestBackend::Depth(backend.reassembly()), 1);
}

// Crash window 3: the job moved to reassembling but the message was never sent.
TEST(JanitorTest, ResendsAReassemblyMessageThatWasNeverSent) {
  TestBackend backend;
  const std::string id = CompleteAll(backend, 2);
  ASSERT_TRUE(*backend.jobs().CreateTriggerOnce(id));
  ASSERT_TRUE(backend.jobs()
                  .TransitionStatus(id, JobStatus::kChunkingComplete, JobStatus::kReassembling)
                  .ok());
  std::int64_t offset = 0;
  Janitor janitor = MakeJanitor(backend, &offset);
  EXPECT_TRUE(Pass(janitor).reassembly_resent.empty());
  offset = 3 * kMinute;
  EXPECT_EQ(Pass(janitor).reassembly_resent, std::vector<std::string>{id});
  EXPECT_EQ(TestBackend::Depth(backend.reassembly()), 1);
  // Not again within the grace, even though nobody took the lease yet.
  EXPECT_TRUE(Pass(janitor).reassembly_resent.empty());
  EXPECT_EQ(TestBackend::Depth(backend.reassembly()), 1);
}

// Crash window 4: the reassembler took the lease and died.
TEST(JanitorTest, ResendsWhenTheLeaseExpiredButNotWhileItIsLive) {
  TestBackend backend;
  const std::string id = CompleteAll(backend, 2);
  auto triggered = MaybeTriggerReassembly(backend.jobs(), backend.reassembly(), id);
  ASSERT_TRUE(triggered.ok() && *triggered == TriggerOutcome::kTriggered);
  ReceiveOptions receive;
  auto message = backend.reassembly().Receive(receive);
  ASSERT_TRUE(message.ok() && message->size() == 1);
  ASSERT_TRUE(backend.reassembly().Delete(message->front().receipt).ok());
  ASSERT_TRUE(*backend.jobs().AcquireLease(id, "worker-1", minutes(10)));

  std::int64_t offset = 5 * kMinute;
  Janitor janitor = MakeJanitor(backend, &offset);
  JanitorFindings findings = Pass(janitor);
  EXPECT_TRUE(findings.reassembly_resent.empty()) << "lease is live";
  EXPECT_TRUE(findings.stalled.empty());
  offset = 11 * kMinute;  // expired, but only a minute ago
  EXPECT_TRUE(Pass(janitor).reassembly_resent.empty());
  offset = 13 * kMinute;
  EXPECT_EQ(Pass(janitor).reassembly_resent, std::vector<std::string>{id});
  EXPECT_EQ(TestBackend::Depth(backend.reassembly()), 1);
}

// An operator moved the job to reassembling by hand: no trigger row exists to hold a lease.
TEST(JanitorTest, ReassemblingJobWithoutTriggerGetsOneAndAMessage) {
  TestBackend backend;
  const std::string id = backend.MakeJob(JobStatus::kReassembling, 1);
  std::int64_t offset = 3 * kMinute;
  Janitor janitor = MakeJanitor(backend, &offset);
  EXPECT_EQ(Pass(janitor).reassembly_resent, std::vector<std::string>{id});
  EXPECT_TRUE(backend.jobs().GetTrigger(id).ok());
  EXPECT_EQ(TestBackend::Depth(backend.reassembly()), 1);
}

TEST(JanitorTest, ReportsStalledJobs) {
  TestBackend backend;
  MetricsRegistry metrics;
  const std::string stuck = backend.MakeJob(JobStatus::kChunkingInProgress);
  const std::string awaiting_upload = backend.MakeJob(JobStatus::kCreated);
  const std::string progressing = backend.MakeJob(JobStatus::kChunkingComplete, 5);
  const std::string done = backend.MakeJob(JobStatus::kCompleted);
  // A completion recorded "now" in janitor time is progress even though the job row is old.
  SegmentCompletion recent;
  recent.job_id = progressing;
  recent.segment_index = 0;
  recent.completed_at = NowMillis() + 40 * kMinute;
  ASSERT_TRUE(backend.jobs().PutCompletion(recent).ok());

  std::int64_t offset = 45 * kMinute;
  Janitor janitor = MakeJanitor(backend, &offset, &metrics);
  JanitorFindings findings = Pass(janitor);
  ASSERT_EQ(findings.stalled.size(), 1u);
  EXPECT_EQ(findings.stalled[0].job_id, stuck);
  EXPECT_EQ(findings.stalled[0].status, JobStatus::kChunkingInProgress);
  EXPECT_GE(findings.stalled[0].idle_ms, 45 * kMinute);
  EXPECT_NE(metrics.RenderPrometheus().find("stereospot_janitor_stalled_jobs 1\n"),
            std::string::npos);
  (void)awaiting_upload;
  (void)done;
}

TEST(JanitorTest, DeletesExpiredIntermediatesOnly) {
  TestBackend backend;
  const std::string finished = backend.MakeJob(JobStatus::kCompleted);
  const std::string failed = backend.MakeJob(JobStatus::kFailed);
  const std::string running = backend.MakeJob(JobStatus::kChunkingInProgress);
  for (const std::string& id : {finished, failed, running}) {
    backend.Put("segments/" + id + "/00000_00002_sbs.mp4");
    backend.Put("segments/" + id + "/00001_00002_sbs.mp4");
    backend.Put("jobs/" + id + "/segments/00000.mp4");
    backend.Put("jobs/" + id + "/final.mp4");
    backend.Put("input/" + id + "/source.mp4");
  }
  std::int64_t offset = 0;
  Janitor janitor = MakeJanitor(backend, &offset);
  EXPECT_EQ(Pass(janitor).objects_deleted, 0u) << "within retention";
  EXPECT_TRUE(backend.Exists("segments/" + finished + "/00000_00002_sbs.mp4"));

  offset = 25 * 60 * kMinute;
  JanitorFindings findings = Pass(janitor);
  EXPECT_EQ(findings.objects_deleted, 6u);
  EXPECT_EQ(findings.intermediates_deleted.size(), 2u);
  for (const std::string& id : {finished, failed}) {
    EXPECT_FALSE(backend.Exists("segments/" + id + "/00000_00002_sbs.mp4"));
    EXPECT_FALSE(backend.Exists("jobs/" + id + "/segments/00000.mp4"));
    EXPECT_TRUE(backend.Exists("jobs/" + id + "/final.mp4"));
    EXPECT_TRUE(backend.Exists("input/" + id + "/source.mp4"));
  }
  EXPECT_TRUE(backend.Exists("segments/" + running + "/00000_00002_sbs.mp4"));
  EXPECT_TRUE(backend.Exists("jobs/" + running + "/segments/00000.mp4"));
  EXPECT_EQ(Pass(janitor).objects_deleted, 0u);
}

}  // namespace
}  // namespace stereospot::pipeline

namespace stereospot::pipeline {
namespace {

// Moves one message for `job_id` to the segments DLQ the way a dead worker leaves it: received
// up to max_receives (1 here) without a settle, then found by the next receive.
void DeadLetter(TestBackend& backend, const std::string& job_id) {
  const std::string key = *BuildSegmentKey(job_id, 0, 3, Layout::kSbs);
  ASSERT_TRUE(
      backend.segments().Send(EncodeSegmentMessage({job_id, 0, 3, key, Layout::kSbs})).ok());
  ReceiveOptions receive;
  receive.visibility = std::chrono::milliseconds(1);
  ASSERT_EQ(backend.segments().Receive(receive)->size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(backend.segments().Receive(receive)->empty());
}

TEST(JanitorTest, DeadLettersFailTheirRunningJob) {
  TestBackend backend(/*max_receives=*/1);
  const std::string dying = backend.MakeJob(JobStatus::kChunkingComplete, 3);
  DeadLetter(backend, dying);
  // A job retried after its message died: its current attempt started after the dead letter.
  const std::string retried = backend.MakeJob(JobStatus::kChunkingInProgress, 3);
  DeadLetter(backend, retried);
  JobUpdate restarted;
  restarted.started_at = NowMillis() + 60 * kMinute;
  ASSERT_TRUE(backend.jobs().UpdateFields(retried, restarted).ok());
  ASSERT_EQ(TestBackend::Depth(backend.segments(), /*dead=*/true), 2);

  std::int64_t offset = 0;
  JanitorOptions options;
  options.clock_for_testing = [&offset] { return NowMillis() + offset; };
  options.dead_letter_stages = {{&backend.segments(), "conversion"}};
  Janitor janitor(backend.jobs(), backend.reassembly(), backend.objects(), options);
  JanitorFindings findings = Pass(janitor);
  EXPECT_EQ(findings.failed_from_dead_letters, std::vector<std::string>{dying});
  auto failed = backend.jobs().Get(dying);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->status, JobStatus::kFailed);
  ASSERT_TRUE(failed->error.has_value());
  EXPECT_EQ(failed->error->stage, "conversion");
  EXPECT_NE(failed->error->message.find("dead-letter queue after 1 deliveries"), std::string::npos)
      << failed->error->message;
  EXPECT_EQ(backend.StatusOf(retried), JobStatus::kChunkingInProgress);
  // Idempotent: the failed job is not touched again.
  EXPECT_TRUE(Pass(janitor).failed_from_dead_letters.empty());
}

}  // namespace
}  // namespace stereospot::pipeline
