// The builtin depth backend: a classical monocular estimator that needs no weights.
//
// Cues, combined into relative inverse depth (larger = nearer):
//   - a perspective prior: lower in the frame is nearer (ground planes, tables, floors);
//   - a centre prior: subjects are framed near the middle;
//   - local contrast: in-focus, detailed regions are usually the subject, defocused ones
//   background;
//   - motion (optional): pixels that changed since the previous frame are usually foreground.
// The blend is then refined by a guided filter with the frame's luma as guide, so depth edges
// follow image edges. Everything runs at the working resolution (short side depth_resolution,
// default 384) with box filters only, so a frame costs a few milliseconds on one core.
//
// It is a plausibility estimate, not a measurement: it ranks depth better than a plain vertical
// ramp on real scenes (checked on Tsukuba by the tests) and is smooth and stable over time.
#pragma once

#include <string_view>

#include <opencv2/core.hpp>

#include "ports/depth_estimator.h"

namespace stereospot::stereo {

// Threading: as DepthEstimator (one instance per thread).
class BuiltinDepthEstimator final : public DepthEstimator {
 public:
  // Default short side of the working resolution.
  static constexpr int kDefaultResolution = 384;

  // Relative weights of the cues (the result is rescaled, only ratios matter).
  struct Weights {
    float vertical = 1.0f;
    float center = 0.6f;
    float contrast = 0.4f;
    float motion = 0.5f;
  };

  explicit BuiltinDepthEstimator(const DepthEstimatorOptions& options);
  BuiltinDepthEstimator(const DepthEstimatorOptions& options, const Weights& weights);

  std::string_view name() const override { return "builtin"; }
  Status Estimate(const ImageView& frame, DepthMap* out) override;
  void Reset() override;

 private:
  Status EstimateImpl(const cv::Mat& frame, bool rgb, DepthMap* out);
  void BuildPriors(cv::Size size);

  DepthEstimatorOptions options_;
  Weights weights_;
  // Working buffers, reallocated only when the working size changes.
  cv::Mat small_, gray_, prev_gray_, prior_, contrast_, motion_, motion_mean_, depth_;
  cv::Mat mean_i_, mean_p_, corr_ip_, corr_ii_, a_, b_, tmp_;
  bool has_prev_ = false;
  double contrast_scale_ = 1.0;  // running maximum of the contrast cue within the shot
};

}  // namespace stereospot::stereo
