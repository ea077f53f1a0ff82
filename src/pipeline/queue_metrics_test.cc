#include "pipeline/queue_metrics.h"

#include <gtest/gtest.h>

#include "pipeline/test_backend.h"

namespace stereospot::pipeline {
namespace {

using std::chrono::milliseconds;

TEST(QueueMetricsTest, PublishesEveryStateOfEveryQueue) {
  testing::TestBackend backend(1);
  ASSERT_TRUE(backend.segments().Send("a", milliseconds(0)).ok());
  ASSERT_TRUE(backend.segments().Send("b", milliseconds(0)).ok());
  ASSERT_TRUE(backend.segments().Send("c", std::chrono::hours(1)).ok());
  ReceiveOptions receive;
  auto received = backend.segments().Receive(receive);
  ASSERT_TRUE(received.ok() && received->size() == 1);
  ASSERT_TRUE(backend.segments().MoveToDeadLetter(received->front().receipt, "poison").ok());
  received = backend.segments().Receive(receive);
  ASSERT_TRUE(received.ok() && received->size() == 1);

  MetricsRegistry registry;
  WorkQueue* queues[] = {&backend.segments(), &backend.reassembly()};
  ASSERT_TRUE(PublishQueueDepths(registry, queues).ok());
  const std::string text = registry.RenderPrometheus();
  for (const char* line : {"stereospot_queue_depth{queue=\"segments\",state=\"dead_letter\"} 1\n",
                           "stereospot_queue_depth{queue=\"segments\",state=\"delayed\"} 1\n",
                           "stereospot_queue_depth{queue=\"segments\",state=\"in_flight\"} 1\n",
                           "stereospot_queue_depth{queue=\"segments\",state=\"visible\"} 0\n",
                           "stereospot_queue_depth{queue=\"reassembly\",state=\"visible\"} 0\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " missing from\n" << text;
  }
}

}  // namespace
}  // namespace stereospot::pipeline
