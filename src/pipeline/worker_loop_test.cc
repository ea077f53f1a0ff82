#include "pipeline/worker_loop.h"

#include <thread>

#include <gtest/gtest.h>

#include "core/messages.h"
#include "pipeline/test_backend.h"
#include "tests/fakes/work_queue_wrapper.h"

namespace stereospot::pipeline {
namespace {

using std::chrono::milliseconds;
using testing::TestBackend;

constexpr int kMaxReceives = 3;
constexpr milliseconds kVisibility{250};

WorkerLoopOptions FastOptions() {
  WorkerLoopOptions options;
  options.component = "stereospot.test_worker";
  options.visibility = kVisibility;
  options.wait = milliseconds(500);
  options.stop_latency = milliseconds(50);
  options.max_receives = kMaxReceives;
  options.backoff = {milliseconds(20), milliseconds(40), 0.0};
  options.receive_error_pause = milliseconds(20);
  return options;
}

std::string SegmentBody(const std::string& job_id = NewJobId()) {
  return "{\"job_id\":\"" + job_id + "\",\"segment_index\":1}";
}

struct Calls {
  std::atomic<int> handled{0};
  std::atomic<int> final_failures{0};
  Status last_final;
};

FinalFailureHook CountingHook(Calls& calls) {
  return [&calls](const QueueMessage&, const Status& status) {
    ++calls.final_failures;
    calls.last_final = status;
    return Status::OK();
  };
}

// Runs RunOnce until `done` holds or a generous limit passes.
template <typename F>
void RunUntil(WorkerLoop& loop, F done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(loop.RunOnce(milliseconds(200)).ok());
  }
  ASSERT_TRUE(done());
}

TEST(WorkerLoopTest, DoneDeletesTheMessage) {
  TestBackend backend(kMaxReceives);
  fakes::FaultyWorkQueue queue(backend.segments());
  ASSERT_TRUE(queue.Send(SegmentBody(), milliseconds(0)).ok());
  Calls calls;
  WorkerLoop loop(
      queue,
      [&](const QueueMessage& m, WorkContext& ctx) {
        EXPECT_EQ(ctx.receive_count(), 1);
        EXPECT_FALSE(ctx.cancelled());
        EXPECT_FALSE(m.body.empty());
        ++calls.handled;
        return HandlerOutcome::Done();
      },
      CountingHook(calls), FastOptions());
  auto handled = loop.RunOnce(milliseconds(500));
  ASSERT_TRUE(handled.ok());
  EXPECT_TRUE(*handled);
  EXPECT_EQ(calls.handled, 1);
  EXPECT_EQ(queue.deletes, 1);
  EXPECT_EQ(TestBackend::Depth(queue), 0);
  EXPECT_EQ(calls.final_failures, 0);
}

TEST(WorkerLoopTest, HeartbeatKeepsLongWorkInvisible) {
  TestBackend backend(kMaxReceives);
  ASSERT_TRUE(backend.segments().Send(SegmentBody(), milliseconds(0)).ok());
  bool seen_by_other = false;
  WorkerLoop loop(
      backend.segments(),
      [&](const QueueMessage&, WorkContext&) {
        std::this_thread::sleep_for(kVisibility * 3);
        ReceiveOptions other;
        other.visibility = kVisibility;
        auto messages = backend.segments().Receive(other);
        seen_by_other = !messages.ok() || !messages->empty();
        return HandlerOutcome::Done();
      },
      nullptr, FastOptions());
  ASSERT_TRUE(loop.RunOnce(milliseconds(500)).ok());
  EXPECT_FALSE(seen_by_other);
  EXPECT_EQ(TestBackend::Depth(backend.segments()), 0);
}

TEST(WorkerLoopTest, LostHeartbeatDropsTheMessageWithoutDeleting) {
  TestBackend backend(kMaxReceives);
  fakes::FaultyWorkQueue queue(backend.segments());
  ASSERT_TRUE(queue.Send(SegmentBody(), milliseconds(0)).ok());
  queue.fail_extensions = true;
  Calls calls;
  bool saw_cancel = false;
  WorkerLoop loop(
      queue,
      [&](const QueueMessage&, WorkContext& ctx) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
        while (!ctx.cancelled() && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(milliseconds(5));
        }
        saw_cancel = ctx.cancelled() && ctx.heartbeat_lost();
        // Even a handler that claims success must not get its message deleted.
        return HandlerOutcome::Done();
      },
      CountingHook(calls), FastOptions());
  ASSERT_TRUE(loop.RunOnce(milliseconds(500)).ok());
  EXPECT_TRUE(saw_cancel);
  EXPECT_EQ(queue.deletes, 0);
  EXPECT_EQ(queue.dead_letters, 0);
  EXPECT_EQ(calls.final_failures, 0);
  // Only the failed extensions touched the receipt: no backoff, no release.
  for (milliseconds v : queue.visibility_changes()) EXPECT_EQ(v, kVisibility);
  // The message comes back to another worker once its visibility ends.
  ReceiveOptions again;
  again.wait = milliseconds(2000);
  auto messages = backend.segments().Receive(again);
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ(messages->front().receive_count, 2);
}

TEST(WorkerLoopTest, TransientErrorsBackOffThenDeadLetterWithOneFinalFailure) {
  TestBackend backend(kMaxReceives);
  fakes::FaultyWorkQueue queue(backend.segments());
  ASSERT_TRUE(queue.Send(SegmentBody(), milliseconds(0)).ok());
  Calls calls;
  std::vector<int> receive_counts;
  WorkerLoop loop(
      queue,
      [&](const QueueMessage&, WorkContext& ctx) {
        receive_counts.push_back(ctx.receive_count());
        EXPECT_EQ(ctx.last_delivery(), ctx.receive_count() == kMaxReceives);
        ++calls.handled;
        return HandlerOutcome::Error(Status::Unavailable("decoder busy"));
      },
      CountingHook(calls), FastOptions());
  RunUntil(loop, [&] { return TestBackend::Depth(queue, true) == 1; });
  EXPECT_EQ(receive_counts, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(calls.final_failures, 1);
  EXPECT_EQ(calls.last_final.code(), StatusCode::kUnavailable);
  EXPECT_NE(calls.last_final.message().find("decoder busy"), std::string::npos);
  EXPECT_EQ(queue.deletes, 0);
  // Backoffs of base * 2^(n-1), capped: 20 ms after the first delivery, 40 ms after the second.
  std::vector<milliseconds> backoffs;
  for (milliseconds v : queue.visibility_changes()) {
    if (v != kVisibility) backoffs.push_back(v);
  }
  EXPECT_EQ(backoffs, (std::vector<milliseconds>{milliseconds(20), milliseconds(40)}));
  auto dead = queue.ListDeadLetters(10);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_NE(dead->front().dead_letter_reason.find("decoder busy"), std::string::npos);
  EXPECT_EQ(TestBackend::Depth(queue), 0);
}

TEST(WorkerLoopTest, PermanentErrorDeadLettersAtOnce) {
  TestBackend backend(kMaxReceives);
  ASSERT_TRUE(backend.segments().Send(SegmentBody(), milliseconds(0)).ok());
  Calls calls;
  WorkerLoop loop(
      backend.segments(),
      [&](const QueueMessage&, WorkContext&) {
        ++calls.handled;
        return HandlerOutcome::Error(Status::Permanent("not a video"));
      },
      CountingHook(calls), FastOptions());
  ASSERT_TRUE(loop.RunOnce(milliseconds(500)).ok());
  EXPECT_EQ(calls.handled, 1);
  EXPECT_EQ(calls.final_failures, 1);
  EXPECT_EQ(calls.last_final.code(), StatusCode::kPermanent);
  EXPECT_EQ(TestBackend::Depth(backend.segments(), true), 1);
  EXPECT_EQ(TestBackend::Depth(backend.segments()), 0);
  auto dead = backend.segments().ListDeadLetters(10);
  ASSERT_TRUE(dead.ok() && dead->size() == 1);
  EXPECT_NE(dead->front().dead_letter_reason.find("not a video"), std::string::npos);
}

TEST(WorkerLoopTest, FailedFinalFailureHookStillDeadLetters) {
  TestBackend backend(kMaxReceives);
  ASSERT_TRUE(backend.segments().Send(SegmentBody(), milliseconds(0)).ok());
  int hook_calls = 0;
  WorkerLoop loop(
      backend.segments(),
      [](const QueueMessage&, WorkContext&) {
        return HandlerOutcome::Error(Status::InvalidArgument("bad parameters"));
      },
      [&](const QueueMessage&, const Status&) {
        ++hook_calls;
        return Status::Unavailable("job store busy");
      },
      FastOptions());
  ASSERT_TRUE(loop.RunOnce(milliseconds(500)).ok());
  EXPECT_EQ(hook_calls, 1);
  EXPECT_EQ(TestBackend::Depth(backend.segments(), true), 1);
}

TEST(WorkerLoopTest, UndecodableBodyGoesToTheDeadLetterQueue) {
  TestBackend backend(kMaxReceives);
  ASSERT_TRUE(backend.segments().Send("this is not json", milliseconds(0)).ok());
  Calls calls;
  WorkerLoop loop(
      backend.segments(),
      [&](const QueueMessage& m, WorkContext&) {
        auto decoded = DecodeSegmentMessage(m.body);
        if (!decoded.ok()) return HandlerOutcome::Undecodable(decoded.status());
        return HandlerOutcome::Done();
      },
      CountingHook(calls), FastOptions());
  ASSERT_TRUE(loop.RunOnce(milliseconds(500)).ok());
  EXPECT_EQ(calls.final_failures, 0);
  EXPECT_EQ(TestBackend::Depth(backend.segments(), true), 1);
  EXPECT_EQ(TestBackend::Depth(backend.segments()), 0);
}

TEST(WorkerLoopTest, RunReturnsPromptlyAfterStopWhenIdle) {
  TestBackend backend(kMaxReceives);
  WorkerLoopOptions options = FastOptions();
  options.wait = std::chrono::seconds(20);
  WorkerLoop loop(
      backend.segments(), [](const QueueMessage&, WorkContext&) { return HandlerOutcome::Done(); },
      nullptr, options);
  Status result = Status::Internal("not run");
  std::thread runner([&] { result = loop.Run(); });
  std::this_thread::sleep_for(milliseconds(100));
  auto start = std::chrono::steady_clock::now();
  loop.Stop();
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
  EXPECT_TRUE(result.ok()) << result.ToString();
}

TEST(WorkerLoopTest, RunPausesAfterReceiveErrorsAndGoesOn) {
  TestBackend backend(kMaxReceives);
  fakes::FaultyWorkQueue queue(backend.segments());
  queue.receive_failures = 3;
  ASSERT_TRUE(queue.Send(SegmentBody(), milliseconds(0)).ok());
  std::atomic<int> handled{0};
  WorkerLoop loop(
      queue,
      [&](const QueueMessage&, WorkContext&) {
        ++handled;
        return HandlerOutcome::Done();
      },
      nullptr, FastOptions());
  std::thread runner([&] { EXPECT_TRUE(loop.Run().ok()); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (handled == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  loop.Stop();
  runner.join();
  EXPECT_EQ(handled, 1);
  EXPECT_EQ(queue.receive_failures, 0);
  EXPECT_EQ(TestBackend::Depth(queue), 0);
}

TEST(WorkerLoopTest, StopFinishesTheMessageInHand) {
  TestBackend backend(kMaxReceives);
  ASSERT_TRUE(backend.segments().Send(SegmentBody(), milliseconds(0)).ok());
  std::atomic<bool> in_handler{false};
  bool cancelled_seen = true;
  WorkerLoop* loop_ptr = nullptr;
  WorkerLoop loop(
      backend.segments(),
      [&](const QueueMessage&, WorkContext& ctx) {
        in_handler = true;
        std::this_thread::sleep_for(milliseconds(200));
        cancelled_seen = ctx.cancelled();
        EXPECT_TRUE(loop_ptr->stopping());
        return HandlerOutcome::Done();
      },
      nullptr, FastOptions());
  loop_ptr = &loop;
  std::thread runner([&] { EXPECT_TRUE(loop.Run().ok()); });
  while (!in_handler) std::this_thread::sleep_for(milliseconds(2));
  loop.Stop();
  runner.join();
  EXPECT_FALSE(cancelled_seen);
  EXPECT_EQ(TestBackend::Depth(backend.segments()), 0);
}

TEST(WorkerLoopTest, StopCanAbandonTheMessageInHand) {
  TestBackend backend(kMaxReceives);
  ASSERT_TRUE(backend.segments().Send(SegmentBody(), milliseconds(0)).ok());
  WorkerLoopOptions options = FastOptions();
  options.abandon_in_flight = true;
  std::atomic<bool> in_handler{false};
  WorkerLoop loop(
      backend.segments(),
      [&](const QueueMessage&, WorkContext& ctx) {
        in_handler = true;
        while (!ctx.cancelled()) std::this_thread::sleep_for(milliseconds(2));
        EXPECT_FALSE(ctx.heartbeat_lost());
        return HandlerOutcome::Error(Status::Cancelled("shutting down"));
      },
      nullptr, options);
  std::thread runner([&] { EXPECT_TRUE(loop.Run().ok()); });
  while (!in_handler) std::this_thread::sleep_for(milliseconds(2));
  loop.Stop();
  runner.join();
  // Released at once: another worker gets it without waiting out the visibility.
  ReceiveOptions now;
  auto messages = backend.segments().Receive(now);
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ(TestBackend::Depth(backend.segments(), true), 0);
}

TEST(WorkerLoopTest, CountsOutcomesInMetrics) {
  TestBackend backend(kMaxReceives);
  MetricsRegistry metrics;
  WorkerLoopOptions options = FastOptions();
  options.metrics = &metrics;
  ASSERT_TRUE(backend.segments().Send(SegmentBody(), milliseconds(0)).ok());
  WorkerLoop loop(
      backend.segments(), [](const QueueMessage&, WorkContext&) { return HandlerOutcome::Done(); },
      nullptr, options);
  ASSERT_TRUE(loop.RunOnce(milliseconds(500)).ok());
  EXPECT_NE(metrics.RenderPrometheus().find(
                "stereospot_messages_total{outcome=\"done\",queue=\"segments\"} 1\n"),
            std::string::npos)
      << metrics.RenderPrometheus();
}

TEST(WorkerLoopTest, InvalidOptionsAreRejected) {
  TestBackend backend(kMaxReceives);
  WorkerLoopOptions options = FastOptions();
  options.max_receives = 0;
  WorkerLoop loop(
      backend.segments(), [](const QueueMessage&, WorkContext&) { return HandlerOutcome::Done(); },
      nullptr, options);
  EXPECT_TRUE(loop.Run().IsInvalidArgument());
}

TEST(BackoffDelayTest, DoublesFromBaseUpToMaxWithJitterBelow) {
  BackoffPolicy policy{milliseconds(100), milliseconds(1000), 0.5};
  EXPECT_EQ(BackoffDelay(policy, 1, 0.0), milliseconds(100));
  EXPECT_EQ(BackoffDelay(policy, 2, 0.0), milliseconds(200));
  EXPECT_EQ(BackoffDelay(policy, 4, 0.0), milliseconds(800));
  EXPECT_EQ(BackoffDelay(policy, 5, 0.0), milliseconds(1000));
  EXPECT_EQ(BackoffDelay(policy, 1000, 0.0), milliseconds(1000));
  EXPECT_EQ(BackoffDelay(policy, 2, 1.0), milliseconds(100));
  EXPECT_EQ(BackoffDelay(policy, 0, 0.0), milliseconds(100));
}

TEST(MessageLogFieldsTest, JobIdAndSegmentIndexOrQuestionMark) {
  const std::string id = NewJobId();
  auto fields = MessageLogFields(SegmentBody(id));
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].key, "job_id");
  EXPECT_EQ(fields[0].value, id);
  EXPECT_EQ(fields[1].key, "segment_index");
  EXPECT_EQ(fields[1].value, "1");
  fields = MessageLogFields("garbage");
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].value, "?");
}

}  // namespace
}  // namespace stereospot::pipeline
