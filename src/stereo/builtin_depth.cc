#include "stereo/builtin_depth.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <opencv2/imgproc.hpp>

namespace stereospot::stereo {
namespace {

// Guided-filter regulariser: luma variance (in [0,1] units) below this counts as flat, so depth is
// smoothed there and kept sharp across stronger image edges.
constexpr double kGuidedEps = 1e-3;
// Mean absolute luma change (0..1) that counts as full motion for the motion cue.
constexpr float kFullMotion = 0.08f;
// Per-frame weight of the newest contrast maximum in the contrast cue's running scale.
constexpr double kScaleSmoothing = 0.05;
// Per-frame weight of the newest frame difference in the motion cue's running mean.
constexpr double kMotionSmoothing = 0.1;

int OddAtLeast3(int v) { return std::max(3, v | 1); }

}  // namespace

BuiltinDepthEstimator::BuiltinDepthEstimator(const DepthEstimatorOptions& options)
    : BuiltinDepthEstimator(options, Weights{}) {}

BuiltinDepthEstimator::BuiltinDepthEstimator(const DepthEstimatorOptions& options,
                                             const Weights& weights)
    : options_(options), weights_(weights) {}

void BuiltinDepthEstimator::Reset() {
  has_prev_ = false;
  motion_mean_.setTo(0.0f);
}

Status BuiltinDepthEstimator::Estimate(const ImageView& frame, DepthMap* out) {
  if (out == nullptr) return Status::InvalidArgument("builtin depth: null output");
  if (frame.data == nullptr || frame.width <= 0 || frame.height <= 0 ||
      frame.stride < 3 * static_cast<size_t>(frame.width)) {
    Reset();
    return Status::InvalidArgument(
        "builtin depth: malformed frame view (" + std::to_string(frame.width) + "x" +
        std::to_string(frame.height) + ", stride " + std::to_string(frame.stride) + ")");
  }
  try {
    // The view is read-only; the Mat header only borrows it for reading.
    const cv::Mat image(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.data),
                        frame.stride);
    const Status status = EstimateImpl(image, frame.rgb, out);
    if (!status.ok()) Reset();
    return status;
  } catch (const cv::Exception& e) {
    Reset();
    return Status::Internal(std::string("builtin depth: OpenCV: ") + e.what());
  }
}

void BuiltinDepthEstimator::BuildPriors(cv::Size size) {
  prior_.create(size, CV_32FC1);
  const float cx = 0.5f * static_cast<float>(size.width - 1);
  const float cy = 0.5f * static_cast<float>(size.height - 1);
  const float inv_h = 1.0f / std::max(1.0f, static_cast<float>(size.height - 1));
  for (int y = 0; y < size.height; ++y) {
    float* row = prior_.ptr<float>(y);
    const float vy = static_cast<float>(y) * inv_h;  // 0 at the top (far), 1 at the bottom (near)
    const float dy = (static_cast<float>(y) - cy) / std::max(1.0f, cy);
    for (int x = 0; x < size.width; ++x) {
      const float dx = (static_cast<float>(x) - cx) / std::max(1.0f, cx);
      const float center = std::max(0.0f, 1.0f - 0.5f * (dx * dx + dy * dy));
      row[x] = weights_.vertical * vy + weights_.center * center;
    }
  }
}

Status BuiltinDepthEstimator::EstimateImpl(const cv::Mat& frame, bool rgb, DepthMap* out) {
  const int short_side = std::min(frame.cols, frame.rows);
  const int target = std::min(
      short_side, options_.depth_resolution > 0 ? options_.depth_resolution : kDefaultResolution);
  const double scale = static_cast<double>(target) / static_cast<double>(short_side);
  const cv::Size size(std::max(1, static_cast<int>(std::lround(frame.cols * scale))),
                      std::max(1, static_cast<int>(std::lround(frame.rows * scale))));

  if (prior_.size() != size) {
    BuildPriors(size);
    has_prev_ = false;
  }
  const cv::Mat* work = &frame;
  if (size != frame.size()) {
    cv::resize(frame, small_, size, 0.0, 0.0, cv::INTER_AREA);
    work = &small_;
  }
  cv::cvtColor(*work, tmp_, rgb ? cv::COLOR_RGB2GRAY : cv::COLOR_BGR2GRAY);
  tmp_.convertTo(gray_, CV_32F, 1.0 / 255.0);

  // Scale-relative window: cues describe regions, not pixels.
  const int window = OddAtLeast3(size.height / 8);

  // Contrast: local mean of |Laplacian|, relative to the frame's strongest region.
  cv::Laplacian(gray_, contrast_, CV_32F, 1);
  contrast_ = cv::abs(contrast_);
  cv::boxFilter(contrast_, contrast_, CV_32F, cv::Size(window, window));
  double max_contrast = 0.0;
  cv::minMaxLoc(contrast_, nullptr, &max_contrast);
  // The scale follows the strongest region slowly within a shot: a per-frame maximum jumps with
  // every highlight that enters or leaves and would make the whole map pump.
  contrast_scale_ = has_prev_ ? contrast_scale_ + kScaleSmoothing * (max_contrast - contrast_scale_)
                              : max_contrast;
  cv::scaleAdd(contrast_, weights_.contrast / std::max(contrast_scale_, 1e-6), prior_, depth_);

  if (options_.motion_cue && has_prev_ && weights_.motion > 0.0f) {
    cv::absdiff(gray_, prev_gray_, motion_);
    cv::boxFilter(motion_, motion_, CV_32F, cv::Size(window, window));
    cv::min(motion_, kFullMotion, motion_);
    // A frame difference switches on and off with every stop and start of motion; its running
    // mean (reset at cuts) is the steadier foreground cue.
    if (motion_mean_.size() != motion_.size()) motion_mean_ = cv::Mat::zeros(size, CV_32FC1);
    cv::addWeighted(motion_mean_, 1.0 - kMotionSmoothing, motion_, kMotionSmoothing, 0.0,
                    motion_mean_);
    cv::scaleAdd(motion_mean_, weights_.motion / kFullMotion, depth_, depth_);
  }
  gray_.copyTo(prev_gray_);
  has_prev_ = true;

  // Guided filter (He et al.): depth becomes locally affine in luma, so its edges snap to
  // image edges while flat areas are smoothed.
  const cv::Size box(OddAtLeast3(size.height / 24), OddAtLeast3(size.height / 24));
  cv::boxFilter(gray_, mean_i_, CV_32F, box);
  cv::boxFilter(depth_, mean_p_, CV_32F, box);
  cv::multiply(gray_, depth_, tmp_);
  cv::boxFilter(tmp_, corr_ip_, CV_32F, box);
  cv::multiply(gray_, gray_, tmp_);
  cv::boxFilter(tmp_, corr_ii_, CV_32F, box);
  cv::multiply(mean_i_, mean_i_, tmp_);
  cv::subtract(corr_ii_, tmp_, corr_ii_);  // variance of luma
  cv::multiply(mean_i_, mean_p_, tmp_);
  cv::subtract(corr_ip_, tmp_, corr_ip_);  // covariance of luma and depth
  cv::add(corr_ii_, kGuidedEps, corr_ii_);
  cv::divide(corr_ip_, corr_ii_, a_);
  cv::multiply(a_, mean_i_, tmp_);
  cv::subtract(mean_p_, tmp_, b_);
  cv::boxFilter(a_, a_, CV_32F, box);
  cv::boxFilter(b_, b_, CV_32F, box);
  cv::multiply(a_, gray_, depth_);
  cv::add(depth_, b_, depth_);

  out->width = size.width;
  out->height = size.height;
  out->values.resize(static_cast<size_t>(size.area()));
  cv::Mat dst(size, CV_32FC1, out->values.data());
  depth_.copyTo(dst);
  return Status::OK();
}

}  // namespace stereospot::stereo
