// The SSE4.1 splat rows of ViewSynthesizer against the scalar ones (issue 5, speed).
#include <algorithm>
#include <limits>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "stereo/view_synth.h"

namespace stereospot::stereo {
namespace {

// Every SIMD level must give exactly what the scalar splat does, on smooth rows and on rows with
// folds, gaps, non-finite shifts and row ends, at widths around its four- and eight-pixel blocks.
TEST(ForwardSplat, SimdAndScalarPathsAgreeExactly) {
  ViewSynthesizer probe;
  if (probe.simd() == SimdLevel::kScalar) GTEST_SKIP() << "no SSE4.1 on this CPU";
  ViewSynthesizer scalar;
  scalar.set_simd_for_testing(SimdLevel::kScalar);
  ASSERT_EQ(scalar.simd(), SimdLevel::kScalar);
  std::vector<SimdLevel> levels = {SimdLevel::kSse41};
  if (probe.simd() == SimdLevel::kAvx2) levels.push_back(SimdLevel::kAvx2);
  cv::RNG rng(20261123);
  int cases = 0;
  for (int width : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 17, 31, 64, 257, 1920}) {
    for (float amplitude : {0.3f, 2.0f, 9.0f, 40.0f, 300.0f}) {
      for (bool noisy : {false, true}) {
        cv::Mat image(6, width, CV_8UC3);
        rng.fill(image, cv::RNG::UNIFORM, 0, 256);
        // A smooth shift field (few folds), optionally with per-pixel noise (many folds/gaps).
        cv::Mat coarse(2, std::max(2, width / 16), CV_32FC1);
        rng.fill(coarse, cv::RNG::UNIFORM, -amplitude, amplitude);
        cv::Mat shift;
        cv::resize(coarse, shift, image.size(), 0, 0, cv::INTER_LINEAR);
        if (noisy) {
          cv::Mat noise(image.size(), CV_32FC1);
          rng.fill(noise, cv::RNG::UNIFORM, -0.6f * amplitude, 0.6f * amplitude);
          shift += noise;
          shift.at<float>(0, 0) = std::numeric_limits<float>::quiet_NaN();
          shift.at<float>(1, width / 2) = std::numeric_limits<float>::infinity();
          shift.at<float>(2, width - 1) = -1e30f;
        }
        for (auto eye : {Eye::kLeft, Eye::kRight}) {
          cv::Mat expected;
          ASSERT_TRUE(
              scalar.Render(image, shift, eye, RenderMethod::kForwardSplat, &expected).ok());
          for (SimdLevel level : levels) {
            ViewSynthesizer simd;
            simd.set_simd_for_testing(level);
            ASSERT_EQ(simd.simd(), level);
            cv::Mat got;
            ASSERT_TRUE(simd.Render(image, shift, eye, RenderMethod::kForwardSplat, &got).ok());
            ASSERT_EQ(cv::norm(got, expected, cv::NORM_INF), 0.0)
                << "level " << static_cast<int>(level) << " width " << width << " amplitude "
                << amplitude << " noisy " << noisy << " eye " << static_cast<int>(eye);
          }
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 16 * 5 * 2 * 2);
}

}  // namespace
}  // namespace stereospot::stereo
