#include "pipeline/metrics.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace stereospot::pipeline {
namespace {

TEST(MetricsTest, RendersCountersAndGaugesInPrometheusTextFormat) {
  MetricsRegistry registry;
  auto done = registry.GetCounter("stereospot_messages_total", "Messages handled.",
                                  {{"queue", "segments"}, {"outcome", "done"}});
  auto retried = registry.GetCounter("stereospot_messages_total", "Messages handled.",
                                     {{"queue", "segments"}, {"outcome", "retried"}});
  auto depth = registry.GetGauge("stereospot_queue_depth", "Messages by state.",
                                 {{"queue", "segments"}, {"state", "visible"}});
  ASSERT_TRUE(done.ok() && retried.ok() && depth.ok());
  (*done)->Increment();
  (*done)->Increment(2);
  (*retried)->Increment(0.5);
  (*depth)->Set(7);
  (*depth)->Add(-2);
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP stereospot_messages_total Messages handled.\n"
            "# TYPE stereospot_messages_total counter\n"
            "stereospot_messages_total{outcome=\"done\",queue=\"segments\"} 3\n"
            "stereospot_messages_total{outcome=\"retried\",queue=\"segments\"} 0.5\n"
            "# HELP stereospot_queue_depth Messages by state.\n"
            "# TYPE stereospot_queue_depth gauge\n"
            "stereospot_queue_depth{queue=\"segments\",state=\"visible\"} 5\n");
}

TEST(MetricsTest, RendersHistogramsWithCumulativeBucketsSumAndCount) {
  MetricsRegistry registry;
  auto histogram = registry.GetHistogram("conv_seconds", "Seconds.", {1, 5});
  ASSERT_TRUE(histogram.ok());
  (*histogram)->Observe(0.5);
  (*histogram)->Observe(1);  // le is inclusive
  (*histogram)->Observe(3);
  (*histogram)->Observe(10);
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP conv_seconds Seconds.\n"
            "# TYPE conv_seconds histogram\n"
            "conv_seconds_bucket{le=\"1\"} 2\n"
            "conv_seconds_bucket{le=\"5\"} 3\n"
            "conv_seconds_bucket{le=\"+Inf\"} 4\n"
            "conv_seconds_sum 14.5\n"
            "conv_seconds_count 4\n");
}

TEST(MetricsTest, HistogramLabelsComeBeforeLe) {
  MetricsRegistry registry;
  auto histogram = registry.GetHistogram("h", "H.", {2.5}, {{"layout", "sbs"}});
  ASSERT_TRUE(histogram.ok());
  (*histogram)->Observe(1);
  const std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("h_bucket{layout=\"sbs\",le=\"2.5\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_sum{layout=\"sbs\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  auto counter = registry.GetCounter("c", "Line one\nback\\slash", {{"path", "a\"b\\c\nd"}});
  ASSERT_TRUE(counter.ok());
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP c Line one\\nback\\\\slash\n"
            "# TYPE c counter\n"
            "c{path=\"a\\\"b\\\\c\\nd\"} 0\n");
}

TEST(MetricsTest, SameNameAndLabelsGiveTheSameMetric) {
  MetricsRegistry registry;
  auto a = registry.GetCounter("c", "C.", {{"k", "v"}});
  auto b = registry.GetCounter("c", "C.", {{"k", "v"}});
  auto other = registry.GetCounter("c", "C.", {{"k", "w"}});
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *other);
}

TEST(MetricsTest, RejectsInvalidNamesTypeClashesAndBadBuckets) {
  MetricsRegistry registry;
  EXPECT_TRUE(registry.GetCounter("1abc", "").status().IsInvalidArgument());
  EXPECT_TRUE(registry.GetCounter("a-b", "").status().IsInvalidArgument());
  EXPECT_TRUE(registry.GetCounter("ok", "", {{"__reserved", "x"}}).status().IsInvalidArgument());
  EXPECT_TRUE(registry.GetHistogram("h", "", {1}, {{"le", "x"}}).status().IsInvalidArgument());
  EXPECT_TRUE(registry.GetHistogram("h", "", {2, 1}).status().IsInvalidArgument());
  ASSERT_TRUE(registry.GetCounter("x", "").ok());
  EXPECT_TRUE(registry.GetGauge("x", "").status().IsInvalidArgument());
  ASSERT_TRUE(registry.GetHistogram("h", "", {1, 2}).ok());
  EXPECT_TRUE(registry.GetHistogram("h", "", {1, 3}).status().IsInvalidArgument());
}

TEST(MetricsTest, CounterIgnoresNegativeAmounts) {
  Counter counter;
  counter.Increment(-5);
  counter.Increment(2);
  EXPECT_EQ(counter.value(), 2);
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  auto histogram = SegmentConversionSeconds(registry);
  ASSERT_TRUE(histogram.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        auto counter = registry.GetCounter("events_total", "Events.");
        if (counter.ok()) (*counter)->Increment();
        (*histogram)->Observe(12.0);
      }
    });
  }
  std::thread reader([&] {
    for (int i = 0; i < 50; ++i) EXPECT_FALSE(registry.RenderPrometheus().empty());
  });
  for (auto& t : threads) t.join();
  reader.join();
  EXPECT_EQ((*registry.GetCounter("events_total", "Events."))->value(), 4000);
  Histogram::Snapshot snapshot = (*histogram)->Read();
  EXPECT_EQ(snapshot.count, 4000u);
  EXPECT_EQ(snapshot.cumulative.back(), 4000u);
  EXPECT_DOUBLE_EQ(snapshot.sum, 48000.0);
}

}  // namespace
}  // namespace stereospot::pipeline
