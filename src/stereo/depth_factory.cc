#include "stereo/depth_factory.h"

#include <string>

#include "stereo/builtin_depth.h"

namespace stereospot::stereo {

Result<std::unique_ptr<DepthEstimator>> MakeDepthEstimator(std::string_view spec,
                                                           const DepthEstimatorOptions& options) {
  if (options.depth_resolution < 0) {
    return Status::InvalidArgument("depth_resolution must be >= 0 (0 = backend default), got " +
                                   std::to_string(options.depth_resolution));
  }
  if (spec == "builtin") {
    return std::unique_ptr<DepthEstimator>(std::make_unique<BuiltinDepthEstimator>(options));
  }
  if (spec.starts_with("onnx:")) {
    return Status::Permanent("depth backend '" + std::string(spec) +
                             "': the onnx backend is not implemented yet (issue 5); use builtin");
  }
  return Status::InvalidArgument("unknown depth backend '" + std::string(spec) +
                                 "' (expected builtin or onnx:<model path>)");
}

ImageView ImageViewOf(const cv::Mat& image, ChannelOrder order) {
  if (image.empty() || image.type() != CV_8UC3) return {};
  return ImageView{image.data, image.cols, image.rows, image.step[0], order == ChannelOrder::kRgb};
}

}  // namespace stereospot::stereo
