#include "core/handoff_queue.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace stereospot {
namespace {

TEST(HandoffQueueTest, DeliversInOrderThenEndsWhenClosed) {
  HandoffQueue<int> queue(2);
  std::vector<int> received;
  std::thread consumer([&] {
    int item = 0;
    while (queue.Pop(&item)) received.push_back(item);
  });
  // Capacity 2: the producer waits for the consumer, and nothing is lost or reordered.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(queue.Push(i));
  queue.Close();
  queue.Close();  // idempotent
  consumer.join();
  ASSERT_EQ(received.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(received[static_cast<size_t>(i)], i);
  EXPECT_TRUE(queue.status().ok());
}

TEST(HandoffQueueTest, UnboundedNeverBlocksAndClosedQueueDrains) {
  HandoffQueue<std::string> queue;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(queue.Push(std::to_string(i)));
  queue.Close();
  std::string item;
  int count = 0;
  while (queue.Pop(&item)) ++count;
  EXPECT_EQ(count, 1000);
  EXPECT_FALSE(queue.Pop(&item));
}

TEST(HandoffQueueTest, FailureWakesBothSidesAndKeepsTheFirstReason) {
  HandoffQueue<int> queue(1);
  ASSERT_TRUE(queue.Push(1));
  // A producer blocked on a full queue and a consumer blocked on an empty one both return.
  std::thread producer([&] { EXPECT_FALSE(queue.Push(2)); });
  HandoffQueue<int> empty;
  std::thread consumer([&] {
    int item = 0;
    EXPECT_FALSE(empty.Pop(&item));
  });
  queue.Fail(Status::Cancelled("first"));
  empty.Fail(Status::Unavailable("gone"));
  producer.join();
  consumer.join();
  queue.Fail(Status::Internal("second"));
  EXPECT_EQ(queue.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(queue.status().message(), "first");
  // Items queued before the failure are dropped: the consumer stops at once.
  int item = 0;
  EXPECT_FALSE(queue.Pop(&item));
  EXPECT_FALSE(queue.Push(3));
}

}  // namespace
}  // namespace stereospot
