#include "media/segment_plan.h"

#include <gtest/gtest.h>

namespace stereospot::media {
namespace {

// A video of `seconds` with a keyframe every `gop` seconds at `fps`, `bytes_per_frame` each.
MediaInfo Synthetic(double seconds, double gop, int fps, int64_t bytes_per_frame) {
  MediaInfo info;
  const int64_t frames = static_cast<int64_t>(seconds * fps);
  const int64_t frames_per_gop = static_cast<int64_t>(gop * fps);
  for (int64_t f = 0; f < frames; f += frames_per_gop) {
    info.keyframes.push_back({f, f, static_cast<double>(f) / fps, f * bytes_per_frame});
  }
  info.video_packets = frames;
  info.video_bytes = frames * bytes_per_frame;
  info.video_end_seconds = seconds;
  return info;
}

void ExpectCoversAll(const MediaInfo& info, const SegmentPlan& plan) {
  ASSERT_FALSE(plan.segments.empty());
  EXPECT_EQ(plan.segments.front().first_packet, info.keyframes.front().packet_index);
  EXPECT_EQ(plan.segments.back().end_packet, info.video_packets);
  int64_t bytes = 0;
  for (size_t i = 0; i < plan.segments.size(); ++i) {
    const auto& s = plan.segments[i];
    EXPECT_EQ(s.index, static_cast<int>(i));
    EXPECT_LT(s.first_packet, s.end_packet);
    if (i + 1 < plan.segments.size()) {
      EXPECT_EQ(s.end_packet, plan.segments[i + 1].first_packet);
    }
    bytes += s.bytes;
  }
  EXPECT_EQ(bytes, info.video_bytes - info.keyframes.front().byte_offset);
}

TEST(SegmentPlanTest, LongVideoUsesTargetDuration) {
  MediaInfo info = Synthetic(3600, 2, 25, 100);
  auto plan = PlanSegments(info);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->total(), 12);
  for (const auto& s : plan->segments) EXPECT_NEAR(s.end_seconds - s.start_seconds, 300, 2);
  ExpectCoversAll(info, *plan);
}

TEST(SegmentPlanTest, ShortVideoStillGetsMinSegments) {
  MediaInfo info = Synthetic(60, 1, 25, 100);
  auto plan = PlanSegments(info);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->total(), 4);
  ExpectCoversAll(info, *plan);
}

TEST(SegmentPlanTest, VeryShortVideoRespectsMinSegmentSeconds) {
  MediaInfo info = Synthetic(3, 0.5, 25, 100);
  auto plan = PlanSegments(info);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->total(), 1);
  ExpectCoversAll(info, *plan);
}

TEST(SegmentPlanTest, MaxBytesSplitsFurther) {
  MediaInfo info = Synthetic(600, 2, 25, 10'000);  // 250 KB/s: a 300 s segment is 75 MB
  auto plan = PlanSegments(info);
  ASSERT_TRUE(plan.ok());
  for (const auto& s : plan->segments) EXPECT_LE(s.bytes, 50'000'000);
  EXPECT_GE(plan->total(), 3);
  ExpectCoversAll(info, *plan);
}

TEST(SegmentPlanTest, SparseKeyframesLimitTheCount) {
  MediaInfo info = Synthetic(20, 10, 25, 100);  // keyframes at 0 and 10 s only
  auto plan = PlanSegments(info);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->total(), 2);
  EXPECT_EQ(plan->segments[1].first_packet, 250);
  ExpectCoversAll(info, *plan);
}

TEST(SegmentPlanTest, LeadingPacketsBeforeFirstKeyframeAreLeftOut) {
  MediaInfo info = Synthetic(20, 2, 25, 100);
  info.keyframes.erase(info.keyframes.begin());
  auto plan = PlanSegments(info);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->segments.front().first_packet, 50);
  ExpectCoversAll(info, *plan);
}

TEST(SegmentPlanTest, OpenGopKeyframesAreNeverCutPoints) {
  MediaInfo info = Synthetic(60, 1, 25, 100);
  for (size_t k = 1; k < info.keyframes.size(); ++k) info.keyframes[k].closed = k % 15 == 0;
  auto plan = PlanSegments(info);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->total(), 4);
  for (const auto& s : plan->segments) EXPECT_EQ(s.first_packet % (15 * 25), 0) << s.index;
  ExpectCoversAll(info, *plan);
}

TEST(SegmentPlanTest, RejectsBadInput) {
  MediaInfo info = Synthetic(20, 2, 25, 100);
  SegmentPlanOptions bad;
  bad.target_seconds = 0;
  EXPECT_EQ(PlanSegments(info, bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanSegments(MediaInfo{}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace stereospot::media
