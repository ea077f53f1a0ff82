#include "stereo/builtin_depth.h"

#include <cmath>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "stereo/depth_factory.h"

namespace stereospot::stereo {
namespace {

cv::Mat Noise(int width, int height) {
  cv::Mat m(height, width, CV_8UC3);
  cv::RNG rng(7);
  rng.fill(m, cv::RNG::UNIFORM, cv::Scalar::all(0), cv::Scalar::all(255));
  return m;
}

TEST(BuiltinDepth, WorkingSizeFollowsTheShortSide) {
  BuiltinDepthEstimator estimator(DepthEstimatorOptions{});
  DepthMap map;
  const cv::Mat frame = Noise(1280, 720);
  ASSERT_TRUE(estimator.Estimate(ImageViewOf(frame), &map).ok());
  EXPECT_EQ(map.height, 384);
  EXPECT_EQ(map.width, 683);
  ASSERT_EQ(map.values.size(), static_cast<size_t>(683 * 384));
  for (float v : map.values) ASSERT_TRUE(std::isfinite(v));
  // Never upscales a small frame.
  const cv::Mat small_frame = Noise(64, 48);
  ASSERT_TRUE(estimator.Estimate(ImageViewOf(small_frame), &map).ok());
  EXPECT_EQ(map.width, 64);
  EXPECT_EQ(map.height, 48);
  DepthEstimatorOptions options;
  options.depth_resolution = 96;
  BuiltinDepthEstimator custom(options);
  ASSERT_TRUE(custom.Estimate(ImageViewOf(frame), &map).ok());
  EXPECT_EQ(map.height, 96);
}

TEST(BuiltinDepth, SteadyStreamReusesTheOutput) {
  BuiltinDepthEstimator estimator(DepthEstimatorOptions{});
  DepthMap map;
  const cv::Mat frame = Noise(320, 180);
  ASSERT_TRUE(estimator.Estimate(ImageViewOf(frame), &map).ok());
  const float* data = map.values.data();
  ASSERT_TRUE(estimator.Estimate(ImageViewOf(frame), &map).ok());
  EXPECT_EQ(map.values.data(), data);
}

TEST(BuiltinDepth, LowerIsNearerOnAFeaturelessFrame) {
  BuiltinDepthEstimator estimator(DepthEstimatorOptions{});
  DepthMap map;
  const cv::Mat flat(180, 320, CV_8UC3, cv::Scalar(90, 120, 150));
  ASSERT_TRUE(estimator.Estimate(ImageViewOf(flat), &map).ok());
  const cv::Mat d(map.height, map.width, CV_32FC1, map.values.data());
  EXPECT_GT(d.at<float>(map.height - 1, map.width / 2), d.at<float>(0, map.width / 2));
}

TEST(BuiltinDepth, MovingObjectComesForward) {
  // A static textured background; a bright block appears in the second frame.
  cv::Mat a = Noise(320, 180);
  cv::Mat b = a.clone();
  b(cv::Rect(40, 40, 40, 40)).setTo(cv::Scalar::all(255));
  DepthEstimatorOptions options;
  BuiltinDepthEstimator with_motion(options);
  options.motion_cue = false;
  BuiltinDepthEstimator without(options);
  DepthMap m1, m2;
  for (const cv::Mat* f : {&a, &b}) {
    ASSERT_TRUE(with_motion.Estimate(ImageViewOf(*f), &m1).ok());
    ASSERT_TRUE(without.Estimate(ImageViewOf(*f), &m2).ok());
  }
  const size_t i = static_cast<size_t>(60 * m1.width + 60);
  EXPECT_GT(m1.values[i], m2.values[i]);
}

TEST(BuiltinDepth, RejectsMalformedViews) {
  BuiltinDepthEstimator estimator(DepthEstimatorOptions{});
  DepthMap map;
  const cv::Mat frame = Noise(32, 16);
  ImageView view = ImageViewOf(frame);
  EXPECT_TRUE(estimator.Estimate(view, nullptr).IsInvalidArgument());
  ImageView bad = view;
  bad.data = nullptr;
  EXPECT_TRUE(estimator.Estimate(bad, &map).IsInvalidArgument());
  bad = view;
  bad.stride = 10;
  EXPECT_TRUE(estimator.Estimate(bad, &map).IsInvalidArgument());
  bad = view;
  bad.width = 0;
  EXPECT_TRUE(estimator.Estimate(bad, &map).IsInvalidArgument());
  EXPECT_EQ(ImageViewOf(cv::Mat(4, 4, CV_8UC1)).data, nullptr);
}

TEST(DepthFactory, SpecsAndErrors) {
  auto builtin = MakeDepthEstimator("builtin", DepthEstimatorOptions{});
  ASSERT_TRUE(builtin.ok());
  EXPECT_EQ((*builtin)->name(), "builtin");
  auto onnx = MakeDepthEstimator("onnx:/models/x.onnx", DepthEstimatorOptions{});
  ASSERT_FALSE(onnx.ok());
  EXPECT_EQ(onnx.status().code(), StatusCode::kPermanent);
  EXPECT_TRUE(MakeDepthEstimator("midas", DepthEstimatorOptions{}).status().IsInvalidArgument());
  DepthEstimatorOptions bad;
  bad.depth_resolution = -1;
  EXPECT_TRUE(MakeDepthEstimator("builtin", bad).status().IsInvalidArgument());
}

}  // namespace
}  // namespace stereospot::stereo

namespace stereospot::stereo {
namespace {

TEST(BuiltinDepth, RgbFlagGivesTheSameDepthAsBgr) {
  const cv::Mat bgr = Noise(160, 90);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  BuiltinDepthEstimator a(DepthEstimatorOptions{}), b(DepthEstimatorOptions{});
  DepthMap da, db;
  ASSERT_TRUE(a.Estimate(ImageViewOf(bgr), &da).ok());
  ASSERT_TRUE(b.Estimate(ImageViewOf(rgb, ChannelOrder::kRgb), &db).ok());
  ASSERT_EQ(da.values.size(), db.values.size());
  for (size_t i = 0; i < da.values.size(); ++i) ASSERT_NEAR(da.values[i], db.values[i], 1e-5);
}

}  // namespace
}  // namespace stereospot::stereo
