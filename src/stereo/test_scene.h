// Test helpers shared by the stereo tests: a synthetic scene of known depth and the shared media.
#pragma once

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

namespace stereospot::stereo::test_scene {

// A textured far plane (blue-ish noise) with a flat green square in front of it.
struct TestScene {
  cv::Mat image;  // CV_8UC3
  cv::Mat depth;  // CV_32FC1, 0 on the far plane, 1 on the square
  cv::Rect square;
};

inline TestScene MakeTestScene(int width, int height, cv::Rect square) {
  TestScene scene;
  scene.square = square;
  scene.image.create(height, width, CV_8UC3);
  cv::RNG rng(1234);
  rng.fill(scene.image, cv::RNG::UNIFORM, cv::Scalar(100, 0, 0), cv::Scalar(255, 90, 90));
  scene.image(square).setTo(cv::Scalar(0, 255, 0));
  scene.depth = cv::Mat::zeros(height, width, CV_32FC1);
  scene.depth(square).setTo(1.0f);
  return scene;
}

// Mask of pure-green pixels (the square) in a BGR image.
inline cv::Mat GreenMask(const cv::Mat& image) {
  cv::Mat mask(image.size(), CV_8UC1);
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) {
      const cv::Vec3b p = image.at<cv::Vec3b>(y, x);
      mask.at<uint8_t>(y, x) = (p[0] < 60 && p[1] > 200 && p[2] < 60) ? 255 : 0;
    }
  }
  return mask;
}

// Mean x of the green pixels of row y; -1 when the row has none.
inline double GreenCentroidX(const cv::Mat& image, int y) {
  const cv::Mat mask = GreenMask(image);
  double sum = 0.0;
  int n = 0;
  for (int x = 0; x < mask.cols; ++x) {
    if (mask.at<uint8_t>(y, x)) {
      sum += x;
      ++n;
    }
  }
  return n ? sum / n : -1.0;
}

// Path of the Tsukuba pair; fails the calling test (with how to get it) when it is missing.
inline std::string TsukubaDir() {
  const std::string dir = std::string(STEREOSPOT_SHARED_DIR) + "/media/stereo/tsukuba/";
  EXPECT_TRUE(std::filesystem::exists(dir + "scene1.row3.col3.ppm"))
      << "Tsukuba pair not found in " << dir
      << ": the shared media folder must sit beside the checkout (../shared/media, see "
         "../shared/media/README.md); copy stereo/tsukuba/ there from the project's shared data.";
  return dir;
}

}  // namespace stereospot::stereo::test_scene
