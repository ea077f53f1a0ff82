// DepthEstimator: the port behind which every depth backend sits (builtin, onnx:<path>, later
// http:<url>). The stereo layer normalises what a backend returns over time and turns it into
// disparity; a backend only answers "how near is each pixel, relatively".
//
// Only core types cross this port: frames come in as a borrowed view of packed BGR bytes and depth
// goes out in a caller-owned buffer, so no backend's library types (OpenCV, ONNX) leak out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace stereospot {

// A borrowed, read-only 8-bit colour frame (3 bytes per pixel, B G R unless `rgb`, rows
// `stride` bytes apart).
// The view owns nothing; the pixels must stay alive and unchanged during the call that uses it.
struct ImageView {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  size_t stride = 0;  // bytes between the starts of two rows; >= 3 * width
  bool rgb = false;   // bytes are R G B (the media layer's RGB24) rather than B G R
};

// Relative inverse depth, row-major, width * height values: larger = nearer. Values are finite
// but have no fixed scale or offset (the caller normalises). The caller owns it and may reuse it
// across calls: a backend resizes `values` only when the size changes, so a steady stream of
// same-sized frames allocates nothing.
struct DepthMap {
  int width = 0;
  int height = 0;
  std::vector<float> values;
};

struct DepthEstimatorOptions {
  // Short side of the estimator's working resolution in pixels; 0 = the backend's default
  // (builtin: 384). The depth map has the frame's aspect ratio at this short side (never larger
  // than the frame). Default: 0.
  int depth_resolution = 0;
  // Builtin only: use motion between consecutive frames as a cue. Default: true.
  bool motion_cue = true;
};

// Estimates depth for a sequence of frames.
//
// Threading: an instance is not thread-safe (backends keep per-sequence state and scratch
// buffers); use one instance per thread. Distinct instances are independent.
class DepthEstimator {
 public:
  virtual ~DepthEstimator() = default;
  DepthEstimator(const DepthEstimator&) = delete;
  DepthEstimator& operator=(const DepthEstimator&) = delete;

  // The backend spec this instance was made from ("builtin", "onnx:/models/x.onnx").
  virtual std::string_view name() const = 0;

  // Estimates the depth of `frame` into *out (see DepthMap for the guarantees on its content).
  // Frames are expected in presentation order; backends with motion cues use the previous frame,
  // and behave as after Reset() when the frame size changes.
  // Errors: kInvalidArgument for a null `out` or a malformed view (null data, non-positive size,
  // stride < 3 * width); kInternal for a failure inside the backend. On error *out is unspecified
  // and the sequence state is as after Reset(). Never throws.
  // REQUIRES: frame.data points to at least stride * (height - 1) + 3 * width readable bytes.
  virtual Status Estimate(const ImageView& frame, DepthMap* out) = 0;

  // Forgets the sequence state (previous frame for motion cues). Call at a scene cut or a seek.
  virtual void Reset() = 0;

 protected:
  DepthEstimator() = default;
};

}  // namespace stereospot
