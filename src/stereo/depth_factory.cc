#include "stereo/depth_factory.h"

#include <filesystem>
#include <string>
#include <utility>

#include "stereo/builtin_depth.h"
#include "stereo/onnx_depth.h"

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
    const std::string_view path = spec.substr(5);
    if (path.empty()) {
      return Status::InvalidArgument("depth backend 'onnx:' needs a model path (onnx:<path>)");
    }
    Result<std::unique_ptr<OnnxDepthEstimator>> onnx =
        OnnxDepthEstimator::Open(spec, std::filesystem::path(path), options);
    if (!onnx.ok()) return onnx.status();
    return std::unique_ptr<DepthEstimator>(std::move(onnx).value());
  }
  return Status::InvalidArgument("unknown depth backend '" + std::string(spec) +
                                 "' (expected builtin or onnx:<model path>)");
}

ImageView ImageViewOf(const cv::Mat& image, ChannelOrder order) {
  if (image.empty() || image.type() != CV_8UC3) return {};
  return ImageView{image.data, image.cols, image.rows, image.step[0], order == ChannelOrder::kRgb};
}

}  // namespace stereospot::stereo
