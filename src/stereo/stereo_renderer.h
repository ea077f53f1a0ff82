// StereoRenderer: the per-frame stereo step. Normalised depth (at depth resolution) and a frame
// in, one packed stereo frame out: disparity upsampling, both views, packing.
//
// Full layouts (sbs, cross, tb) render each view straight into its place in the packed frame,
// so packing costs nothing; half layouts and anaglyph render into scratch views first. All
// buffers are kept between calls: a stream of same-sized frames allocates nothing after the
// first (when the caller also reuses *out).
//
// Rows are independent: with more than one OpenCV thread (cv::getNumThreads() > 1) the fused
// path renders blocks of rows in parallel (cv::parallel_for_), each block with its own scratch,
// so the output does not depend on the thread count. cv::setNumThreads(1) keeps it on the
// calling thread.
//
// Threading: not thread-safe; use one instance per thread (or per segment worker).
#pragma once

#include <vector>

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

  // Writes the shift map Render would use for `depth` and a W x H frame into *shift (the same
  // values as ShiftFromDepth up to float rounding; used by tests and benchmarks).
  Status ShiftMapForTesting(const cv::Mat& depth, int width, int height, cv::Mat* shift);

 private:
  explicit StereoRenderer(const StereoOptions& options) : options_(options) {}

  // Bilinear sampling tables from the depth size to the frame size (cv::resize's INTER_LINEAR
  // pixel-centre convention), rebuilt only when either size changes.
  struct Taps {
    std::vector<int> i0, i1;
    std::vector<float> f;
  };
  void BuildTaps(cv::Size depth_size, cv::Size frame_size);
  // Shift of output row y (frame width floats) from depth, computed on the fly so the full-size
  // map is never written. `depth_row` (depth width floats) is scratch.
  void ShiftRow(const cv::Mat& depth, int y, float* depth_row, float* out) const;
  Status RenderFused(const cv::Mat& frame, const cv::Mat& depth, cv::Mat* out);

  StereoOptions options_;
  ViewSynthesizer synth_;
  cv::Mat shift_, left_, right_;
  cv::Size taps_depth_, taps_frame_;
  Taps tx_, ty_;
  double scale_ = 0.0;  // pixels per unit depth for the current frame size
  // Scratch of one block of rows of the fused path (blocks may run in parallel).
  struct RowBlock {
    ViewSynthesizer synth;
    std::vector<float> depth_row;  // vertically blended, scaled depth row (depth width)
    std::vector<float> shift_row;  // one row of shift (frame width)
  };
  static constexpr int kRowBlocks = 16;
  std::vector<RowBlock> blocks_;  // kRowBlocks, sized by BuildTaps
};

}  // namespace stereospot::stereo
