#include "stereo/view_synth.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "stereo/temporal.h"
#include "stereo/test_scene.h"

namespace stereospot::stereo {
namespace {

using test_scene::GreenCentroidX;
using test_scene::GreenMask;
using test_scene::MakeTestScene;

// Far plane 2 px behind the screen, square 4 px in front (per-eye shifts).
cv::Mat ExplicitShift(const test_scene::TestScene& scene) {
  cv::Mat shift(scene.image.size(), CV_32FC1, cv::Scalar(-2.0f));
  shift(scene.square).setTo(4.0f);
  return shift;
}

class ViewSynthTest : public ::testing::TestWithParam<RenderMethod> {};

TEST_P(ViewSynthTest, SquareInFrontLandsRightInLeftEyeAndLeftInRightEye) {
  const auto scene = MakeTestScene(64, 32, cv::Rect(24, 8, 16, 16));
  const cv::Mat shift = ExplicitShift(scene);
  ViewSynthesizer synth;
  cv::Mat left, right;
  ASSERT_TRUE(synth.Render(scene.image, shift, Eye::kLeft, GetParam(), &left).ok());
  ASSERT_TRUE(synth.Render(scene.image, shift, Eye::kRight, GetParam(), &right).ok());
  for (int y = 10; y < 22; ++y) {
    // Crossed (positive) parallax: in front of the screen.
    EXPECT_GT(GreenCentroidX(left, y) - GreenCentroidX(right, y), 0.5) << "row " << y;
    if (GetParam() == RenderMethod::kForwardSplat) {
      // Source centroid is 31.5; the left eye shows it 4 px right, the right eye 4 px left.
      // (The backward warp reads the shift at the output pixel, so a sharp depth edge lands in
      // the wrong place; only its parallax sign is checked.)
      EXPECT_NEAR(GreenCentroidX(left, y), 35.5, 0.6) << "row " << y;
      EXPECT_NEAR(GreenCentroidX(right, y), 27.5, 0.6) << "row " << y;
    }
  }
  // Rows outside the square stay free of green.
  EXPECT_EQ(cv::countNonZero(GreenMask(left).rowRange(0, 8)), 0);
  EXPECT_EQ(cv::countNonZero(GreenMask(right).rowRange(24, 32)), 0);
}

TEST_P(ViewSynthTest, FarPlaneMovesTheOtherWay) {
  const auto scene = MakeTestScene(64, 32, cv::Rect(24, 8, 16, 16));
  const cv::Mat shift = ExplicitShift(scene);
  ViewSynthesizer synth;
  cv::Mat left, right;
  ASSERT_TRUE(synth.Render(scene.image, shift, Eye::kLeft, GetParam(), &left).ok());
  ASSERT_TRUE(synth.Render(scene.image, shift, Eye::kRight, GetParam(), &right).ok());
  // Behind the screen (shift -2): the left eye sees source x + 2 at x, the right eye x - 2.
  for (int x = 4; x < 16; ++x) {
    EXPECT_EQ(left.at<cv::Vec3b>(2, x), scene.image.at<cv::Vec3b>(2, x + 2)) << x;
    EXPECT_EQ(right.at<cv::Vec3b>(2, x + 4), scene.image.at<cv::Vec3b>(2, x + 2)) << x;
  }
}

INSTANTIATE_TEST_SUITE_P(Renderers, ViewSynthTest,
                         ::testing::Values(RenderMethod::kForwardSplat,
                                           RenderMethod::kBackwardWarp));

TEST(ForwardSplat, DisocclusionIsFilledFromTheBackground) {
  const auto scene = MakeTestScene(64, 32, cv::Rect(24, 8, 16, 16));
  const cv::Mat shift = ExplicitShift(scene);
  ViewSynthesizer synth;
  cv::Mat left, right;
  ASSERT_TRUE(
      synth.Render(scene.image, shift, Eye::kLeft, RenderMethod::kForwardSplat, &left).ok());
  ASSERT_TRUE(
      synth.Render(scene.image, shift, Eye::kRight, RenderMethod::kForwardSplat, &right).ok());
  const cv::Mat green_left = GreenMask(left);
  const cv::Mat green_right = GreenMask(right);
  for (int y = 8; y < 24; ++y) {
    // Left eye: square spans [28, 44), background gap opens at [22, 28).
    for (int x = 22; x < 28; ++x) EXPECT_EQ(green_left.at<uint8_t>(y, x), 0) << y << "," << x;
    for (int x = 28; x < 44; ++x) EXPECT_EQ(green_left.at<uint8_t>(y, x), 255) << y << "," << x;
    // Right eye: square spans [20, 36), gap at [36, 42).
    for (int x = 20; x < 36; ++x) EXPECT_EQ(green_right.at<uint8_t>(y, x), 255) << y << "," << x;
    for (int x = 36; x < 42; ++x) EXPECT_EQ(green_right.at<uint8_t>(y, x), 0) << y << "," << x;
  }
}

TEST(ForwardSplat, SubPixelShiftInterpolates) {
  cv::Mat ramp(1, 16, CV_8UC3);
  for (int x = 0; x < 16; ++x) ramp.at<cv::Vec3b>(0, x) = cv::Vec3b(10 * x, 10 * x, 10 * x);
  const cv::Mat shift(1, 16, CV_32FC1, cv::Scalar(0.5f));
  ViewSynthesizer synth;
  cv::Mat right;
  ASSERT_TRUE(synth.Render(ramp, shift, Eye::kRight, RenderMethod::kForwardSplat, &right).ok());
  // Right eye shows source x + 0.5 at x: halfway between neighbours.
  for (int x = 2; x < 14; ++x) EXPECT_EQ(right.at<cv::Vec3b>(0, x)[0], 10 * x + 5) << x;
}

TEST(ForwardSplat, RowEndsUncoveredByAConstantShiftRepeatTheEdgePixel) {
  cv::Mat ramp(1, 16, CV_8UC3);
  for (int x = 0; x < 16; ++x) ramp.at<cv::Vec3b>(0, x) = cv::Vec3b(10 * x, 10 * x, 10 * x);
  const cv::Mat shift(1, 16, CV_32FC1, cv::Scalar(3.0f));
  ViewSynthesizer synth;
  cv::Mat left, right;
  ASSERT_TRUE(synth.Render(ramp, shift, Eye::kLeft, RenderMethod::kForwardSplat, &left).ok());
  ASSERT_TRUE(synth.Render(ramp, shift, Eye::kRight, RenderMethod::kForwardSplat, &right).ok());
  for (int x = 0; x < 16; ++x) {
    EXPECT_EQ(left.at<cv::Vec3b>(0, x)[0], 10 * std::max(x - 3, 0)) << x;
    EXPECT_EQ(right.at<cv::Vec3b>(0, x)[0], 10 * std::min(x + 3, 15)) << x;
  }
}

TEST(ViewSynth, WritesIntoARegionOfALargerImage) {
  const auto scene = MakeTestScene(32, 16, cv::Rect(10, 4, 8, 8));
  const cv::Mat shift(scene.image.size(), CV_32FC1, cv::Scalar(0.0f));
  cv::Mat packed(16, 64, CV_8UC3, cv::Scalar(1, 2, 3));
  cv::Mat half = packed.colRange(32, 64);
  ViewSynthesizer synth;
  ASSERT_TRUE(
      synth.Render(scene.image, shift, Eye::kRight, RenderMethod::kForwardSplat, &half).ok());
  EXPECT_EQ(half.data, packed.data + 32 * 3);  // not reallocated
  EXPECT_EQ(cv::norm(packed.colRange(32, 64), scene.image, cv::NORM_INF), 0.0);
  EXPECT_EQ(packed.at<cv::Vec3b>(0, 0), cv::Vec3b(1, 2, 3));
}

TEST(ViewSynth, NonFiniteShiftsDoNotCrash) {
  const auto scene = MakeTestScene(32, 16, cv::Rect(10, 4, 8, 8));
  cv::Mat shift(scene.image.size(), CV_32FC1, cv::Scalar(1.0f));
  shift.at<float>(3, 5) = std::numeric_limits<float>::quiet_NaN();
  shift.at<float>(4, 5) = std::numeric_limits<float>::infinity();
  shift.at<float>(5, 5) = 1e30f;
  ViewSynthesizer synth;
  cv::Mat out;
  for (auto method : {RenderMethod::kForwardSplat, RenderMethod::kBackwardWarp}) {
    for (auto eye : {Eye::kLeft, Eye::kRight}) {
      EXPECT_TRUE(synth.Render(scene.image, shift, eye, method, &out).ok());
    }
  }
}

TEST(ViewSynth, RejectsBadInputs) {
  ViewSynthesizer synth;
  cv::Mat out;
  const cv::Mat image(8, 8, CV_8UC3, cv::Scalar(0));
  const cv::Mat gray(8, 8, CV_8UC1, cv::Scalar(0));
  const cv::Mat shift(8, 8, CV_32FC1, cv::Scalar(0));
  const cv::Mat small_shift(4, 8, CV_32FC1, cv::Scalar(0));
  const auto splat = RenderMethod::kForwardSplat;
  EXPECT_TRUE(synth.Render(gray, shift, Eye::kLeft, splat, &out).IsInvalidArgument());
  EXPECT_TRUE(synth.Render(image, small_shift, Eye::kLeft, splat, &out).IsInvalidArgument());
  EXPECT_TRUE(synth.Render(image, image, Eye::kLeft, splat, &out).IsInvalidArgument());
  EXPECT_TRUE(synth.Render(image, shift, Eye::kLeft, splat, nullptr).IsInvalidArgument());
  cv::Mat alias = image;
  EXPECT_TRUE(synth.Render(image, shift, Eye::kLeft, splat, &alias).IsInvalidArgument());
}

TEST(ShiftFromDepth, FollowsTheDesignFormula) {
  // 1920x1080, divergence 2 %: 19.2 px per unit depth; convergence 0.5.
  cv::Mat depth(2, 2, CV_32FC1);
  depth.setTo(1.0f);
  cv::Mat shift;
  ASSERT_TRUE(ShiftFromDepth(depth, 2.0, 0.5, 1920, 1080, &shift).ok());
  ASSERT_EQ(shift.size(), cv::Size(1920, 1080));
  EXPECT_NEAR(shift.at<float>(500, 900), 9.6f, 1e-4);
  depth.setTo(0.0f);
  ASSERT_TRUE(ShiftFromDepth(depth, 2.0, 0.5, 1920, 1080, &shift).ok());
  EXPECT_NEAR(shift.at<float>(0, 0), -9.6f, 1e-4);
  ASSERT_TRUE(ShiftFromDepth(depth, 2.0, 0.0, 1080, 1920, &shift).ok());
  EXPECT_NEAR(shift.at<float>(0, 0), 0.0f, 1e-6);  // convergence 0: far plane on the screen
}

// Parallax of the green square of a 256x128 scene rendered from depth at 64x32.
double UpsampledParallax(int edge_dilation) {
  const auto scene = MakeTestScene(256, 128, cv::Rect(96, 32, 64, 64));
  cv::Mat small_depth;
  cv::resize(scene.depth, small_depth, cv::Size(64, 32), 0, 0, cv::INTER_AREA);
  EXPECT_TRUE(DilateForeground(&small_depth, edge_dilation).ok());
  cv::Mat shift;
  EXPECT_TRUE(ShiftFromDepth(small_depth, 4.0, 0.5, 256, 128, &shift).ok());
  ViewSynthesizer synth;
  cv::Mat left, right;
  EXPECT_TRUE(
      synth.Render(scene.image, shift, Eye::kLeft, RenderMethod::kForwardSplat, &left).ok());
  EXPECT_TRUE(
      synth.Render(scene.image, shift, Eye::kRight, RenderMethod::kForwardSplat, &right).ok());
  return GreenCentroidX(left, 64) - GreenCentroidX(right, 64);
}

TEST(ShiftFromDepth, UpsampledDepthWithEdgeDilationMovesTheWholeSquare) {
  // Square shift = (4 / 200) * 256 * 0.5 = 2.56 px per eye: parallax 5.12 px, crossed.
  // Bilinear upsampling blends the square's edge with the plane, so without dilation its edge
  // pixels move less and the measured parallax falls short; two iterations restore it.
  const double plain = UpsampledParallax(0);
  const double dilated = UpsampledParallax(2);
  EXPECT_GT(plain, 0.5);
  EXPECT_NEAR(dilated, 5.12, 0.5);
  EXPECT_GT(dilated, plain + 1.0);
}

TEST(ShiftFromDepth, RejectsBadParameters) {
  const cv::Mat depth(4, 4, CV_32FC1, cv::Scalar(0.5f));
  cv::Mat shift;
  EXPECT_TRUE(ShiftFromDepth(depth, -1.0, 0.5, 8, 8, &shift).IsInvalidArgument());
  EXPECT_TRUE(ShiftFromDepth(depth, 11.0, 0.5, 8, 8, &shift).IsInvalidArgument());
  EXPECT_TRUE(ShiftFromDepth(depth, 2.0, 1.5, 8, 8, &shift).IsInvalidArgument());
  EXPECT_TRUE(ShiftFromDepth(depth, 2.0, std::nan(""), 8, 8, &shift).IsInvalidArgument());
  EXPECT_TRUE(ShiftFromDepth(depth, 2.0, 0.5, 0, 8, &shift).IsInvalidArgument());
  EXPECT_TRUE(ShiftFromDepth(cv::Mat(), 2.0, 0.5, 8, 8, &shift).IsInvalidArgument());
  EXPECT_TRUE(ShiftFromDepth(cv::Mat(4, 4, CV_8UC1), 2.0, 0.5, 8, 8, &shift).IsInvalidArgument());
}

}  // namespace
}  // namespace stereospot::stereo
