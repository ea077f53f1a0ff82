// StereoRenderer: the per-frame stereo step. Normalised depth (at depth resolution) and a frame
// in, one packed stereo frame out: disparity upsampling, both views, packing.
//
// Full layouts (sbs, cross, tb) render each view straight into its place in the packed frame,
// so packing costs nothing; half layouts and anaglyph render into scratch views first. All
// buffers are kept between calls: a stream of same-sized frames allocates nothing after the
// first (when the caller also reuses *out).
//
// Threading: not thread-safe; use one instance per thread (or per segment worker).
#pragma once

#include <opencv2/core.hpp>

#include "core/result.h"
#include "core/status.h"
#include "stereo/stereo_options.h"
#include "stereo/view_synth.h"

namespace stereospot::stereo {

class StereoRenderer {
 public:
  // Validates `options` (kInvalidArgument naming the bad field).
  static Result<StereoRenderer> Create(const StereoOptions& options);

  StereoRenderer(StereoRenderer&&) = default;
  StereoRenderer& operator=(StereoRenderer&&) = default;

  const StereoOptions& options() const { return options_; }

  // Packs `frame` (CV_8UC3, W x H) with `depth` (CV_32FC1 normalised inverse depth in [0, 1],
  // 1 = nearest, any size) into *out (PackedSize(layout, W, H), CV_8UC3).
  // Errors: kInvalidArgument for bad inputs or a size the layout cannot halve.
  Status Render(const cv::Mat& frame, const cv::Mat& depth, cv::Mat* out);

  // The same with an explicit per-eye shift map (CV_32FC1, W x H, pixels, positive = in front;
  // see view_synth.h). Not for kRgbd, which needs depth (kInvalidArgument).
  Status RenderWithShift(const cv::Mat& frame, const cv::Mat& shift, cv::Mat* out);

  // The shift map of the last Render call (for inspection and tests).
  const cv::Mat& shift() const { return shift_; }

 private:
  explicit StereoRenderer(const StereoOptions& options) : options_(options) {}

  StereoOptions options_;
  ViewSynthesizer synth_;
  cv::Mat shift_, left_, right_;
};

}  // namespace stereospot::stereo
