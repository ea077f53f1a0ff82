#include "pipeline/trigger.h"

#include <thread>

#include <gtest/gtest.h>

#include "core/messages.h"
#include "pipeline/test_backend.h"

namespace stereospot::pipeline {
namespace {

using testing::TestBackend;

TriggerOutcome Trigger(TestBackend& backend, const std::string& job_id) {
  auto outcome = MaybeTriggerReassembly(backend.jobs(), backend.reassembly(), job_id);
  EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
  return outcome.value_or(TriggerOutcome::kNotReady);
}

TEST(TriggerTest, NotReadyUntilEveryCompletionIsPresent) {
  TestBackend backend;
  const std::string id = backend.MakeJob(JobStatus::kChunkingComplete, 3);
  EXPECT_EQ(Trigger(backend, id), TriggerOutcome::kNotReady);
  backend.Complete(id, 0);
  backend.Complete(id, 1);
  EXPECT_EQ(Trigger(backend, id), TriggerOutcome::kNotReady);
  EXPECT_FALSE(backend.jobs().GetTrigger(id).ok());
  backend.Complete(id, 2);
  EXPECT_EQ(Trigger(backend, id), TriggerOutcome::kTriggered);
  EXPECT_EQ(backend.StatusOf(id), JobStatus::kReassembling);
  EXPECT_TRUE(backend.jobs().GetTrigger(id).ok());

  ReceiveOptions options;
  auto messages = backend.reassembly().Receive(options);
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 1u);
  auto decoded = DecodeJobMessage(messages->front().body);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->job_id, id);
  // Repeating is harmless.
  EXPECT_EQ(Trigger(backend, id), TriggerOutcome::kAlreadyTriggered);
  EXPECT_EQ(TestBackend::Depth(backend.reassembly()), 1);
}

TEST(TriggerTest, ChunkerPathTriggersWhenSegmentsFinishedFirst) {
  TestBackend backend;
  const std::string id = backend.MakeJob(JobStatus::kChunkingInProgress);
  for (int i = 0; i < 2; ++i) backend.Complete(id, i);
  EXPECT_EQ(Trigger(backend, id), TriggerOutcome::kNotReady);
  JobUpdate planned;
  planned.total_segments = 2;
  ASSERT_TRUE(backend.jobs()
                  .TransitionStatus(id, JobStatus::kChunkingInProgress,
                                    JobStatus::kChunkingComplete, planned)
                  .ok());
  EXPECT_EQ(Trigger(backend, id), TriggerOutcome::kTriggered);
  EXPECT_EQ(backend.StatusOf(id), JobStatus::kReassembling);
}

TEST(TriggerTest, CancelledJobIsNeverTriggered) {
  TestBackend backend;
  const std::string id = backend.MakeJob(JobStatus::kCancelled);
  EXPECT_EQ(Trigger(backend, id), TriggerOutcome::kNotReady);
  EXPECT_EQ(TestBackend::Depth(backend.reassembly()), 0);
}

TEST(TriggerTest, UnknownJobIsNotFound) {
  TestBackend backend;
  auto outcome = MaybeTriggerReassembly(backend.jobs(), backend.reassembly(), NewJobId());
  EXPECT_TRUE(outcome.status().IsNotFound());
}

TEST(TriggerTest, ResumeDoesNothingOnceTheJobMovedOn) {
  TestBackend backend;
  const std::string id = backend.MakeJob(JobStatus::kReassembling);
  auto outcome = ResumeTrigger(backend.jobs(), backend.reassembly(), id);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(*outcome, TriggerOutcome::kAlreadyTriggered);
  EXPECT_EQ(TestBackend::Depth(backend.reassembly()), 0);
}

// Every worker records its completion and then runs the trigger, all at once: exactly one of
// them triggers and exactly one message is sent.
TEST(TriggerTest, ExactlyOnceUnderConcurrentCompletions) {
  for (int round = 0; round < 5; ++round) {
    TestBackend backend;
    constexpr int kSegments = 8;
    const std::string id = backend.MakeJob(JobStatus::kChunkingComplete, kSegments);
    MetricsRegistry metrics;
    std::atomic<int> triggered{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> workers;
    for (int i = 0; i < kSegments; ++i) {
      workers.emplace_back([&, i] {
        // Each segment is "delivered" twice to exercise duplicates as well.
        for (int attempt = 0; attempt < 2; ++attempt) {
          backend.Complete(id, i);
          auto outcome = MaybeTriggerReassembly(backend.jobs(), backend.reassembly(), id, &metrics);
          if (!outcome.ok()) {
            ++errors;
          } else if (*outcome == TriggerOutcome::kTriggered) {
            ++triggered;
          }
        }
      });
    }
    for (auto& t : workers) t.join();
    EXPECT_EQ(errors, 0);
    EXPECT_EQ(triggered, 1);
    EXPECT_EQ(TestBackend::Depth(backend.reassembly()), 1);
    EXPECT_EQ(backend.StatusOf(id), JobStatus::kReassembling);
    EXPECT_NE(metrics.RenderPrometheus().find("stereospot_reassembly_triggers_total 1\n"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace stereospot::pipeline
