#include "stereo/temporal.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

namespace stereospot::stereo {
namespace {

cv::Mat Ramp(float lo, float hi) {
  cv::Mat m(16, 32, CV_32FC1);
  for (int y = 0; y < m.rows; ++y) {
    for (int x = 0; x < m.cols; ++x) m.at<float>(y, x) = lo + (hi - lo) * x / 31.0f;
  }
  return m;
}

std::vector<cv::Mat> RunAll(TemporalNormaliser& n, const std::vector<cv::Mat>& in,
                            const std::vector<bool>& cuts) {
  std::vector<cv::Mat> out;
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_TRUE(n.Push(in[i], cuts[i]).ok());
    cv::Mat o;
    while (n.Pop(&o)) out.push_back(o.clone());
  }
  n.Finish();
  cv::Mat o;
  while (n.Pop(&o)) out.push_back(o.clone());
  return out;
}

TEST(TemporalNormaliser, FramesInEqualFramesOutInOrder) {
  NormaliserOptions options;
  options.lookahead = 3;
  TemporalNormaliser n(options);
  std::vector<cv::Mat> in;
  for (int i = 0; i < 10; ++i) in.push_back(Ramp(0.0f, 1.0f + 0.01f * i));
  const auto out = RunAll(n, in, std::vector<bool>(10, false));
  ASSERT_EQ(out.size(), 10u);
  for (const auto& o : out) {
    double mn, mx;
    cv::minMaxLoc(o, &mn, &mx);
    EXPECT_GE(mn, 0.0);
    EXPECT_LE(mx, 1.0);
  }
}

TEST(TemporalNormaliser, OutputLagsByTheLookahead) {
  NormaliserOptions options;
  options.lookahead = 2;
  TemporalNormaliser n(options);
  cv::Mat o;
  ASSERT_TRUE(n.Push(Ramp(0, 1), true).ok());
  EXPECT_FALSE(n.Pop(&o));
  ASSERT_TRUE(n.Push(Ramp(0, 1), false).ok());
  EXPECT_FALSE(n.Pop(&o));
  ASSERT_TRUE(n.Push(Ramp(0, 1), false).ok());
  EXPECT_TRUE(n.Pop(&o));
  EXPECT_FALSE(n.Pop(&o));
}

TEST(TemporalNormaliser, SmoothsAJumpButResetsAtACut) {
  // The raw range doubles at frame 5. Without a cut the normalised value of a fixed raw depth
  // moves gradually; with a cut it jumps at once.
  std::vector<cv::Mat> in;
  for (int i = 0; i < 10; ++i) in.push_back(i < 5 ? Ramp(0, 1) : Ramp(0, 2));
  NormaliserOptions options;
  options.lookahead = 0;
  options.smoothing = 0.2;
  options.low_percentile = 0.0;
  options.high_percentile = 1.0;
  TemporalNormaliser smooth(options);
  std::vector<bool> no_cut(10, false);
  no_cut[0] = true;
  const auto a = RunAll(smooth, in, no_cut);
  TemporalNormaliser reset(options);
  std::vector<bool> cut = no_cut;
  cut[5] = true;
  const auto b = RunAll(reset, in, cut);
  ASSERT_EQ(a.size(), 10u);
  ASSERT_EQ(b.size(), 10u);
  // Column 15 holds raw 15 * 2 / 31 from frame 5 on. The reset maps it with the new range
  // [0, 2] at once; the smoothed stream uses hi = 1 + 0.2 * (2 - 1) = 1.2 on frame 5.
  const float raw = 15 * 2.0f / 31;
  EXPECT_NEAR(b[5].at<float>(0, 15), raw / 2.0f, 1e-4);
  EXPECT_NEAR(a[5].at<float>(0, 15), raw / 1.2f, 1e-4);
  // ...and converges to the new range over the following frames.
  EXPECT_LT(std::abs(a[9].at<float>(0, 15) - b[9].at<float>(0, 15)),
            0.5f * std::abs(a[5].at<float>(0, 15) - b[5].at<float>(0, 15)));
}

TEST(TemporalNormaliser, LookaheadWidensTheRangeBeforeTheChange) {
  std::vector<cv::Mat> in;
  for (int i = 0; i < 12; ++i) in.push_back(i < 8 ? Ramp(0, 1) : Ramp(0, 2));
  NormaliserOptions options;
  options.lookahead = 4;
  options.low_percentile = 0.0;
  options.high_percentile = 1.0;
  std::vector<bool> cuts(12, false);
  cuts[0] = true;
  TemporalNormaliser with(options);
  const auto a = RunAll(with, in, cuts);
  options.lookahead = 0;
  TemporalNormaliser without(options);
  const auto b = RunAll(without, in, cuts);
  // At frame 6 the look-ahead already sees frame 8's range and has started to widen.
  EXPECT_LT(a[6].at<float>(0, 31), 0.999f);
  EXPECT_NEAR(b[6].at<float>(0, 31), 1.0f, 1e-6);
}

TEST(TemporalNormaliser, WarmupMakesASegmentStartLikeTheContinuousRun) {
  // A continuous run over 40 frames with a drifting range, against a second segment that starts
  // at frame 30 warmed on frames 10..29: frame 30 must come out (almost) as in the whole run.
  std::vector<cv::Mat> in;
  for (int i = 0; i < 40; ++i) in.push_back(Ramp(0.1f * i, 1.0f + 0.2f * i));
  NormaliserOptions options;
  options.lookahead = 2;
  std::vector<bool> cuts(40, false);
  cuts[0] = true;
  TemporalNormaliser whole(options);
  const auto a = RunAll(whole, in, cuts);

  TemporalNormaliser cold(options), warm(options);
  std::vector<cv::Mat> second(in.begin() + 30, in.end());
  std::vector<bool> second_cuts(10, false);
  second_cuts[0] = true;
  const auto b = RunAll(cold, second, second_cuts);
  for (int i = 10; i < 30; ++i) ASSERT_TRUE(warm.Push(in[i], i == 10, /*warmup=*/true).ok());
  const auto c = RunAll(warm, second, std::vector<bool>(10, false));
  ASSERT_EQ(c.size(), 10u);
  const double cold_err = cv::norm(b[0], a[30], cv::NORM_INF);
  const double warm_err = cv::norm(c[0], a[30], cv::NORM_INF);
  EXPECT_GT(cold_err, 0.05);
  EXPECT_LT(warm_err, 0.2 * cold_err);
}

TEST(TemporalNormaliser, RejectsBadInput) {
  TemporalNormaliser n(NormaliserOptions{});
  EXPECT_TRUE(n.Push(cv::Mat(), true).IsInvalidArgument());
  EXPECT_TRUE(n.Push(cv::Mat(4, 4, CV_8UC1), true).IsInvalidArgument());
  ASSERT_TRUE(n.Push(Ramp(0, 1), true).ok());
  EXPECT_TRUE(n.Push(cv::Mat(8, 8, CV_32FC1, cv::Scalar(0)), false).IsInvalidArgument());
  NormaliserOptions bad;
  bad.smoothing = 0.0;
  EXPECT_TRUE(ValidateNormaliserOptions(bad).IsInvalidArgument());
  bad = NormaliserOptions{};
  bad.lookahead = 65;
  EXPECT_TRUE(ValidateNormaliserOptions(bad).IsInvalidArgument());
  bad = NormaliserOptions{};
  bad.low_percentile = 0.9;
  bad.high_percentile = 0.1;
  EXPECT_TRUE(ValidateNormaliserOptions(bad).IsInvalidArgument());
}

TEST(SceneCutDetector, DetectsACutButNotMotion) {
  cv::Mat a(72, 128, CV_8UC3);
  cv::randu(a, cv::Scalar(0, 0, 0), cv::Scalar(120, 120, 255));
  cv::Mat moved;
  cv::Mat m = (cv::Mat_<double>(2, 3) << 1, 0, 3, 0, 1, 1);
  cv::warpAffine(a, moved, m, a.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  cv::Mat other(72, 128, CV_8UC3);
  cv::randu(other, cv::Scalar(130, 130, 0), cv::Scalar(255, 255, 255));
  SceneCutDetector detector;
  EXPECT_TRUE(detector.IsCut(a));  // first frame
  EXPECT_FALSE(detector.IsCut(moved));
  EXPECT_TRUE(detector.IsCut(other));
  EXPECT_FALSE(detector.IsCut(other));
  EXPECT_TRUE(detector.IsCut(cv::Mat()));
}

TEST(DilateForeground, GrowsNearRegions) {
  cv::Mat d = cv::Mat::zeros(16, 16, CV_32FC1);
  d(cv::Rect(6, 6, 4, 4)).setTo(1.0f);
  ASSERT_TRUE(DilateForeground(&d, 2).ok());
  EXPECT_EQ(cv::countNonZero(d), 8 * 8);
  EXPECT_EQ(d.at<float>(4, 4), 1.0f);
  EXPECT_EQ(d.at<float>(3, 3), 0.0f);
  EXPECT_TRUE(DilateForeground(&d, -1).IsInvalidArgument());
  EXPECT_TRUE(DilateForeground(nullptr, 1).IsInvalidArgument());
}

TEST(FlickerMeter, MeasuresChangeOverStaticPixelsOnly) {
  cv::Mat frame(16, 16, CV_8UC3, cv::Scalar(50, 50, 50));
  cv::Mat moved = frame.clone();
  moved(cv::Rect(0, 0, 8, 16)).setTo(cv::Scalar(200, 200, 200));  // half the frame changes
  cv::Mat d0(16, 16, CV_32FC1, cv::Scalar(0.5f)), d1(16, 16, CV_32FC1, cv::Scalar(0.6f));
  d1(cv::Rect(0, 0, 8, 16)).setTo(1.0f);  // changes under motion are not flicker
  FlickerMeter meter;
  ASSERT_TRUE(meter.Add(frame, d0, true).ok());
  ASSERT_TRUE(meter.Add(moved, d1, false).ok());
  EXPECT_EQ(meter.static_pixels(), 8 * 16);
  EXPECT_NEAR(meter.mean(), 0.1, 1e-6);
  ASSERT_TRUE(meter.Add(frame, d0, true).ok());  // across a cut: skipped
  EXPECT_EQ(meter.static_pixels(), 8 * 16);
}

}  // namespace
}  // namespace stereospot::stereo

namespace stereospot::stereo {
namespace {

TEST(PlanDepthRanges, TwoPassEqualsStreaming) {
  std::vector<cv::Mat> in;
  std::vector<bool> cuts(30, false);
  cuts[0] = true;
  cuts[17] = true;
  for (int i = 0; i < 30; ++i) in.push_back(Ramp(0.05f * i, 1.0f + 0.1f * (i % 7)));
  NormaliserOptions options;
  options.lookahead = 4;
  TemporalNormaliser streaming(options);
  const auto expected = RunAll(streaming, in, cuts);
  std::vector<DepthRange> measured;
  for (const auto& m : in) {
    auto r = MeasureDepthRange(m, options);
    ASSERT_TRUE(r.ok());
    measured.push_back(*r);
  }
  auto plan = PlanDepthRanges(measured, cuts, options);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->size(), expected.size());
  for (size_t i = 0; i < in.size(); ++i) {
    cv::Mat out;
    ASSERT_TRUE(ApplyDepthRange(in[i], (*plan)[i], &out).ok());
    EXPECT_LT(cv::norm(out, expected[i], cv::NORM_INF), 1e-4) << "frame " << i;
  }
  EXPECT_TRUE(
      PlanDepthRanges(measured, std::vector<bool>(3, false), options).status().IsInvalidArgument());
}

}  // namespace
}  // namespace stereospot::stereo
