// Construction of depth backends from their spec string (DESIGN.md section 6, `depth`).
#pragma once

#include <memory>
#include <string_view>

#include <opencv2/core.hpp>

#include "core/result.h"
#include "ports/depth_estimator.h"
#include "stereo/stereo_options.h"

namespace stereospot::stereo {

// Makes the backend named by `spec`:
//   "builtin"        the classical monocular estimator (BuiltinDepthEstimator), needs no weights.
//   "onnx:<path>"    a depth network from an ONNX file and its manifest (OnnxDepthEstimator);
//                    loading runs it once, so this can take a few seconds.
// Errors: kInvalidArgument for an unknown spec, an empty onnx path or invalid options (negative
// depth_resolution); for onnx, those of OnnxDepthEstimator::Open (kPermanent for a missing,
// invalid or unimportable model or manifest).
Result<std::unique_ptr<DepthEstimator>> MakeDepthEstimator(std::string_view spec,
                                                           const DepthEstimatorOptions& options);

// A borrowed view of a CV_8UC3 image in `order`; valid while `image` is. An image of another
// type gives an empty view (which Estimate rejects).
ImageView ImageViewOf(const cv::Mat& image, ChannelOrder order = ChannelOrder::kBgr);

}  // namespace stereospot::stereo
