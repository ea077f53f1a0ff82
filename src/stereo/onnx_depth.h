// The `onnx:<path>` depth backend: a monocular depth network from an ONNX file, run on the CPU by
// OpenCV 4.6's DNN module (DESIGN.md section 6).
//
// A model is two files: the graph (`model.onnx`) and a small JSON manifest next to it
// (`model.onnx.json`, or `model.json`) that says how to feed it:
//   {"family": "depth-anything-v2" | "midas-small",
//    "input_width": W, "input_height": H,          // the graph's fixed input size
//    "mean": [r, g, b], "std": [r, g, b],          // optional; default ImageNet's
//    "channel_order": "rgb" | "bgr",               // optional; default "rgb"
//    "output": "inverse_depth"}                    // optional; the only kind supported
// Families: depth-anything-v2 (input sides multiples of 14) and midas-small (multiples of 32,
// 256 px class). Both take x / 255 normalised by the per-channel mean and std and give relative
// inverse depth. tools/export_depth_onnx.py writes both files (and converts real weights); see
// docs/stereo.md.
//
// The graph has a fixed input size (OpenCV 4.6 cannot import the dynamic-size form of these
// networks), so each frame is resized to W x H (aspect ratio not kept: choose W x H close to the
// video's aspect ratio), and the network's output is resized back to the frame's aspect ratio at
// the working resolution.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "ports/depth_estimator.h"

namespace stereospot::stereo {

enum class OnnxModelFamily { kDepthAnythingV2, kMidasSmall };

// The model manifest (see the file comment).
struct OnnxModelManifest {
  OnnxModelFamily family = OnnxModelFamily::kDepthAnythingV2;
  int input_width = 0;                                // the graph's input width in pixels
  int input_height = 0;                               // the graph's input height in pixels
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // per input channel, on x / 255
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};   // per input channel, on x / 255
  bool bgr_input = false;  // the graph takes B G R planes rather than R G B
};

// Parses manifest text. `where` names its file in error messages.
// Errors: kInvalidArgument for malformed JSON, a missing or unknown family, input sizes that are
// missing, non-positive, over 4096 or not multiples of the family's (14 or 32), a mean or std
// that is not three numbers (std > 0), an unknown channel_order or output.
Result<OnnxModelManifest> ParseOnnxManifest(std::string_view json, std::string_view where);

// Finds and parses the manifest of `model`: `<model>.json` (model.onnx.json) first, then `model`
// with its extension replaced by `.json`.
// Errors: kNotFound when neither exists (the message names both and the tool that writes one);
// kIoError when one exists but cannot be read; as ParseOnnxManifest otherwise.
Result<OnnxModelManifest> LoadOnnxManifest(const std::filesystem::path& model);

// Threading: as DepthEstimator (one instance per thread). OpenCV's DNN runs each forward pass
// on its own thread pool (cv::setNumThreads), shared by all instances of the process.
class OnnxDepthEstimator final : public DepthEstimator {
 public:
  // Loads `model_path` and its manifest and runs the network once on a blank input, so that a
  // model that cannot run fails here rather than on the first frame (this costs one frame's
  // time). `spec` is what name() returns.
  // Errors: kInvalidArgument for an empty path or invalid options; kPermanent for anything
  // wrong with the model files, since the spec can never work until someone fixes them: a
  // missing model or manifest, an invalid manifest, a graph OpenCV cannot import or run at the
  // manifest's input size (the message says which, and how to re-export).
  static Result<std::unique_ptr<OnnxDepthEstimator>> Open(std::string_view spec,
                                                          const std::filesystem::path& model_path,
                                                          const DepthEstimatorOptions& options);
  ~OnnxDepthEstimator() override;

  std::string_view name() const override { return spec_; }
  // As DepthEstimator::Estimate. The map has the frame's aspect ratio with its short side
  // options.depth_resolution, or the network input's short side when that is 0, never larger
  // than the frame. Values are the network's relative inverse depth (non-finite ones become 0).
  Status Estimate(const ImageView& frame, DepthMap* out) override;
  // The network keeps no state between frames: nothing to forget.
  void Reset() override {}

  const OnnxModelManifest& manifest() const { return manifest_; }

 private:
  struct Net;  // the OpenCV network and scratch buffers, kept out of this header

  OnnxDepthEstimator(std::string spec, OnnxModelManifest manifest,
                     const DepthEstimatorOptions& options, std::unique_ptr<Net> net);

  std::string spec_;
  OnnxModelManifest manifest_;
  DepthEstimatorOptions options_;
  std::unique_ptr<Net> net_;
};

}  // namespace stereospot::stereo
