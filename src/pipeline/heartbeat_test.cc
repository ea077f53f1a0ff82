#include "pipeline/heartbeat.h"

#include <thread>

#include <gtest/gtest.h>

#include "pipeline/test_backend.h"
#include "tests/fakes/work_queue_wrapper.h"

namespace stereospot::pipeline {
namespace {

using std::chrono::milliseconds;
using testing::TestBackend;

constexpr milliseconds kVisibility{250};

// Sends one message and receives it with kVisibility.
QueueMessage SendAndReceive(WorkQueue& queue) {
  EXPECT_TRUE(queue.Send("{\"job_id\":\"x\"}", milliseconds(0)).ok());
  ReceiveOptions options;
  options.visibility = kVisibility;
  auto messages = queue.Receive(options);
  EXPECT_TRUE(messages.ok() && messages->size() == 1);
  return messages.ok() && !messages->empty() ? messages->front() : QueueMessage{};
}

bool ReceiveNow(WorkQueue& queue) {
  ReceiveOptions options;
  options.visibility = kVisibility;
  auto messages = queue.Receive(options);
  return messages.ok() && !messages->empty();
}

// Polls `condition` for up to `limit`.
template <typename F>
bool Eventually(F condition, milliseconds limit = milliseconds(3000)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return condition();
}

TEST(HeartbeatTest, KeepsMessageInvisiblePastItsVisibility) {
  TestBackend backend;
  QueueMessage message = SendAndReceive(backend.segments());
  {
    Heartbeat heartbeat(backend.segments(), message.receipt, {kVisibility, milliseconds(0), {}});
    std::this_thread::sleep_for(kVisibility * 4);
    EXPECT_FALSE(ReceiveNow(backend.segments())) << "message reappeared despite the heartbeat";
    EXPECT_FALSE(heartbeat.lost());
    EXPECT_GE(heartbeat.extensions(), 3);
  }
  EXPECT_TRUE(backend.segments().Delete(message.receipt).ok());
}

TEST(HeartbeatTest, WithoutHeartbeatTheMessageReappears) {
  TestBackend backend;
  SendAndReceive(backend.segments());
  std::this_thread::sleep_for(kVisibility * 2);
  EXPECT_TRUE(ReceiveNow(backend.segments()));
}

TEST(HeartbeatTest, StaleReceiptIsLost) {
  TestBackend backend;
  fakes::FaultyWorkQueue queue(backend.segments());
  QueueMessage message = SendAndReceive(queue);
  queue.fail_extensions = true;
  Heartbeat heartbeat(queue, message.receipt, {kVisibility, milliseconds(0), {}});
  EXPECT_TRUE(Eventually([&] { return heartbeat.lost(); }));
  EXPECT_TRUE(heartbeat.loss_reason().IsNotFound()) << heartbeat.loss_reason().ToString();
}

TEST(HeartbeatTest, RealRedeliveryMakesTheOldReceiptLost) {
  TestBackend backend;
  QueueMessage message = SendAndReceive(backend.segments());
  // Another worker receives the message after its visibility ran out; the first receipt is stale.
  std::this_thread::sleep_for(kVisibility + milliseconds(30));
  ASSERT_TRUE(ReceiveNow(backend.segments()));
  Heartbeat heartbeat(backend.segments(), message.receipt, {kVisibility, milliseconds(0), {}});
  EXPECT_TRUE(Eventually([&] { return heartbeat.lost(); }));
}

TEST(HeartbeatTest, TransientFailureIsRetriedWithinTheWindow) {
  TestBackend backend;
  fakes::FaultyWorkQueue queue(backend.segments());
  QueueMessage message = SendAndReceive(queue);
  queue.SetExtensionError(Status::Unavailable("injected: database busy"));
  queue.extension_failures_left = 1;
  queue.fail_extensions = true;
  Heartbeat heartbeat(queue, message.receipt, {kVisibility, milliseconds(0), {}});
  EXPECT_TRUE(Eventually([&] { return heartbeat.extensions() >= 2; }));
  EXPECT_FALSE(heartbeat.lost());
}

TEST(HeartbeatTest, PersistentTransientFailureBecomesLostBeforeTheWindowEnds) {
  TestBackend backend;
  fakes::FaultyWorkQueue queue(backend.segments());
  QueueMessage message = SendAndReceive(queue);
  queue.SetExtensionError(Status::Unavailable("injected: database busy"));
  queue.fail_extensions = true;
  auto start = std::chrono::steady_clock::now();
  Heartbeat heartbeat(queue, message.receipt, {kVisibility, milliseconds(0), {}});
  ASSERT_TRUE(Eventually([&] { return heartbeat.lost(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, kVisibility + milliseconds(1000));
  EXPECT_EQ(heartbeat.loss_reason().code(), StatusCode::kUnavailable);
}

TEST(HeartbeatTest, DestructorStopsPromptly) {
  TestBackend backend;
  QueueMessage message = SendAndReceive(backend.segments());
  auto start = std::chrono::steady_clock::now();
  {
    Heartbeat heartbeat(backend.segments(), message.receipt,
                        {std::chrono::seconds(60), milliseconds(0), {}});
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

TEST(HeartbeatTest, StopIsIdempotentAndEndsExtensions) {
  TestBackend backend;
  fakes::FaultyWorkQueue queue(backend.segments());
  QueueMessage message = SendAndReceive(queue);
  Heartbeat heartbeat(queue, message.receipt, {kVisibility, milliseconds(20), {}});
  EXPECT_TRUE(Eventually([&] { return heartbeat.extensions() >= 1; }));
  heartbeat.Stop();
  heartbeat.Stop();
  const int after_stop = queue.extensions.load();
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(queue.extensions.load(), after_stop);
  EXPECT_FALSE(heartbeat.lost());
}

}  // namespace
}  // namespace stereospot::pipeline
