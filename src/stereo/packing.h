// Packing of two views (or a view and its depth) into one output frame (DESIGN.md section 6,
// `layout`, `anaglyph`, `swap_eyes`).
//
// All functions take CV_8UC3 BGR views of equal size, validate their inputs (kInvalidArgument
// with the reason), reuse *out's buffer when it already has the packed size and type, and never
// throw. They are thread-safe on distinct outputs.
#pragma once

#include <opencv2/core.hpp>

#include "core/result.h"
#include "core/status.h"
#include "stereo/stereo_options.h"

namespace stereospot::stereo {

// Size of the packed frame for views of width x height. Errors: kInvalidArgument for a
// non-positive size, or an odd width (half-sbs) or height (half-tb), which cannot be halved
// exactly.
Result<cv::Size> PackedSize(Layout layout, int width, int height);

// Row-major 3x3 matrices in RGB order: out_rgb = left * left_rgb + right * right_rgb, clipped.
struct AnaglyphMatrices {
  float left[9];
  float right[9];
  bool linear_light;  // apply to linear RGB (sRGB decoded), then re-encode
};
const AnaglyphMatrices& AnaglyphMatricesFor(AnaglyphMethod method);

// Red-cyan anaglyph of `left` and `right` into *out (same size as the views, same byte order).
Status MakeAnaglyph(const cv::Mat& left, const cv::Mat& right, AnaglyphMethod method, cv::Mat* out,
                    ChannelOrder order = ChannelOrder::kBgr);

// Packs two separately rendered views with options.layout (any layout but kRgbd),
// options.anaglyph and options.swap_eyes. Copies the views; StereoRenderer avoids the copy for
// full layouts by rendering straight into the packed frame.
Status PackViews(const cv::Mat& left, const cv::Mat& right, const StereoOptions& options,
                 cv::Mat* out);

// image | depth, with depth (CV_32FC1, normalised [0, 1], 1 = near, any size; upsampled
// bilinearly) drawn as gray 0..255 in the right half: a 2W x H frame.
Status PackRgbd(const cv::Mat& image, const cv::Mat& depth, cv::Mat* out);

}  // namespace stereospot::stereo
