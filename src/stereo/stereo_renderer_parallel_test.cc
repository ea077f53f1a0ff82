// StereoRenderer's row-parallel fused path (issue 5, speed): the output must not depend on the
// number of OpenCV threads.
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "stereo/stereo_renderer.h"

namespace stereospot::stereo {
namespace {

class ThreadCount {
 public:
  ThreadCount() : saved_(cv::getNumThreads()) {}
  ~ThreadCount() { cv::setNumThreads(saved_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

TEST(StereoRendererParallel, OutputDoesNotDependOnTheThreadCount) {
  const ThreadCount restore;
  cv::RNG rng(5);
  cv::Mat frame(124, 302, CV_8UC3);
  rng.fill(frame, cv::RNG::UNIFORM, 0, 256);
  // Depth with sharp edges (folds and gaps in both eyes) and a smooth ramp.
  cv::Mat depth(31, 57, CV_32FC1);
  rng.fill(depth, cv::RNG::UNIFORM, 0.0f, 1.0f);
  cv::Mat ramp(31, 57, CV_32FC1);
  for (int x = 0; x < ramp.cols; ++x) ramp.col(x).setTo(static_cast<float>(x) / ramp.cols);
  for (const cv::Mat& d : {depth, ramp}) {
    for (Layout layout : {Layout::kSbs, Layout::kHalfSbs, Layout::kTb}) {
      for (RenderMethod method : {RenderMethod::kForwardSplat, RenderMethod::kBackwardWarp}) {
        StereoOptions options;
        options.layout = layout;
        options.renderer = method;
        options.divergence = 4.0;
        auto renderer = StereoRenderer::Create(options);
        ASSERT_TRUE(renderer.ok());
        cv::setNumThreads(1);
        cv::Mat serial;
        ASSERT_TRUE(renderer->Render(frame, d, &serial).ok());
        for (int threads : {2, 3, 8}) {
          cv::setNumThreads(threads);
          cv::Mat parallel;
          ASSERT_TRUE(renderer->Render(frame, d, &parallel).ok());
          ASSERT_EQ(parallel.size(), serial.size());
          EXPECT_EQ(cv::norm(parallel, serial, cv::NORM_INF), 0.0)
              << LayoutName(layout) << " " << RenderMethodName(method) << " threads " << threads;
          // A second frame reuses every buffer and gives the same result.
          cv::Mat again = parallel.clone();
          ASSERT_TRUE(renderer->Render(frame, d, &parallel).ok());
          EXPECT_EQ(cv::norm(parallel, again, cv::NORM_INF), 0.0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace stereospot::stereo
