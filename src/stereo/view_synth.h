// View synthesis: from a source frame and a per-pixel shift map, render one eye's view.
//
// Shift convention (DESIGN.md section 6): `shift` is the per-eye shift in output pixels, positive
// for points in front of the screen. The left view shows the source pixel at x at x + shift(x),
// the right view at x - shift(x) (so the left eye samples the source at x - s, the right at
// x + s). A ground-truth disparity d of a rectified pair (left pixel x appears in the right view
// at x - d) renders the right view from the left with shift = d.
//
// Shift maps come from ShiftFromDepth (normalised depth at any resolution, upsampled here) or
// from the caller (explicit disparity, for accuracy checks).
//
// Threading: free functions are thread-safe on distinct outputs. A ViewSynthesizer holds scratch
// rows and must not be used by two threads at once; use one per thread.
#pragma once

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "core/status.h"
#include "stereo/stereo_options.h"

namespace stereospot::stereo {

enum class Eye { kLeft, kRight };

// Instruction sets the splat rows can use, in increasing order.
enum class SimdLevel { kScalar, kSse41, kAvx2 };

// Pixels per unit of normalised depth for a frame of `width` x `height`:
// (divergence / 200) * max(width, height). The shift of depth d is scale * (d - convergence).
double ShiftScale(double divergence, int width, int height);

// Writes into *shift (CV_32FC1, width x height, reallocated only when the size or type differs)
// the per-eye shift of `depth` (CV_32FC1, normalised inverse depth in [0, 1], 1 = nearest, any
// size), upsampled bilinearly to width x height:
//   shift = (divergence / 200) * max(width, height) * (d - convergence).
// Errors: kInvalidArgument for an empty or non-CV_32FC1 depth, a non-positive size, or
// divergence / convergence out of range (see StereoOptions).
Status ShiftFromDepth(const cv::Mat& depth, double divergence, double convergence, int width,
                      int height, cv::Mat* shift);

// Renders views. Output may be a region of a larger image (a half of a side-by-side frame), so
// views can be written straight into the packed frame without a copy.
class ViewSynthesizer {
 public:
  ViewSynthesizer();
  ViewSynthesizer(const ViewSynthesizer&) = delete;
  ViewSynthesizer& operator=(const ViewSynthesizer&) = delete;
  ViewSynthesizer(ViewSynthesizer&&) = default;
  ViewSynthesizer& operator=(ViewSynthesizer&&) = default;

  // Renders `eye` of `source` (CV_8UC3) with `shift` (CV_32FC1, same size) into *out.
  // If *out already has the source's size and type its buffer is reused (it may be a ROI);
  // otherwise it is (re)allocated. Every output pixel is written.
  //
  // kForwardSplat maps each pair of neighbouring source pixels to a segment in the output and
  // fills the output pixels it covers by linear interpolation (sub-pixel weights). Rows are
  // traversed in the direction the eye moves, so a nearer surface that folds over a farther one
  // is written later and wins without a depth sort. A segment stretched past kMaxStretch output
  // pixels is a disocclusion: it is left empty and filled afterwards from whichever neighbour is
  // farther (the background side).
  // kBackwardWarp samples source(x -/+ shift(x)) with linear interpolation: one pass, no
  // occlusion handling; foreground edges smear. Meant for previews.
  //
  // Shifts are used to 1/256 pixel. A NaN or infinite shift never fails the call: that source
  // pixel is dropped (splat: it leaves a hole that is filled; backward: it samples column 0 or
  // the last column).
  // Errors: kInvalidArgument when types or sizes do not match, or *out aliases the source.
  Status Render(const cv::Mat& source, const cv::Mat& shift, Eye eye, RenderMethod method,
                cv::Mat* out);

  // One row of Render: `src` and `dst` hold `width` 3-byte pixels, `shift` `width` floats. The
  // building block of StereoRenderer's fused path, which computes shift rows on the fly.
  // REQUIRES: width > 0; dst does not overlap src.
  void RenderRow(const uint8_t* src, const float* shift, int width, Eye eye, RenderMethod method,
                 uint8_t* dst);

  // Both eyes of one row, sharing the per-row preparation (fixed-point shifts, unpacked pixels).
  // REQUIRES: width > 0; left and right do not overlap src or each other.
  void RenderRowPair(const uint8_t* src, const float* shift, int width, RenderMethod method,
                     uint8_t* left, uint8_t* right);

  // The instruction set splat rows use, chosen at construction from the CPU (runtime dispatch:
  // the binary runs on any x86-64). All levels give bit-identical output; tests lower the level
  // (never above what the CPU has) to compare them. Takes effect from the next row.
  SimdLevel simd() const { return simd_; }
  void set_simd_for_testing(SimdLevel level);

  // A segment between neighbouring source pixels that covers more output pixels than this is
  // treated as a disocclusion rather than a stretched surface.
  static constexpr float kMaxStretch = 2.0f;

 private:
  // Fills row_s_ and row_v_ from one source row (splat only).
  void PrepareRow(const uint8_t* src, const float* shift, int width);
  // Splats the prepared row for `eye` into dst (width 3-byte pixels).
  void SplatPrepared(int width, Eye eye, uint8_t* dst);

  // Scratch rows, resized only when the width changes.
  std::vector<int32_t> row_s_;     // source shift in 1/256 px, column order
  std::vector<uint64_t> row_v_;    // source pixels, channels in 16-bit lanes, column order
  std::vector<int32_t> row_t_;     // landing position (1/256 px) of each source pixel, scan order
  std::vector<int32_t> row_c_;     // first output pixel at or after each landing position
  std::vector<uint64_t> row_buf_;  // splatted pixels (spread) in scan order, + 1 scratch pixel
  std::vector<int32_t> row_z_;     // shift (1/256 px) of each splatted pixel, + 2 scratch entries
  // SSE4.1 path: packed pixels (bytes 0-2 of a word) instead of row_v_ and row_buf_, and the
  // candidates of each segment (see view_synth.cc).
  std::vector<uint32_t> row_v32_;          // source pixels, column order
  std::vector<uint32_t> row_pa_, row_pb_;  // blended pixels at c[u - 1] and c[u - 1] + 1
  std::vector<int32_t> row_za_, row_zb_;   // their shifts
  std::vector<uint32_t> row_out_;          // splatted pixels in scan order, + 2 scratch pixels
  SimdLevel simd_supported_ = SimdLevel::kScalar;  // what the CPU has
  SimdLevel simd_ = SimdLevel::kScalar;            // what splat rows use
};

}  // namespace stereospot::stereo
