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
//   "onnx:<path>"    not available in this build: kPermanent saying so.
// Errors: kInvalidArgument for an unknown spec or invalid options (negative depth_resolution).
Result<std::unique_ptr<DepthEstimator>> MakeDepthEstimator(std::string_view spec,
                                                           const DepthEstimatorOptions& options);

// A borrowed view of a CV_8UC3 image in `order`; valid while `image` is. An image of another
// type gives an empty view (which Estimate rejects).
ImageView ImageViewOf(const cv::Mat& image, ChannelOrder order = ChannelOrder::kBgr);

}  // namespace stereospot::stereo
