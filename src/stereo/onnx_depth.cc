#include "stereo/onnx_depth.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

namespace stereospot::stereo {
namespace {

// Largest accepted input side: far above any depth network's working size, and it keeps a
// corrupted manifest from asking for a multi-gigabyte blob.
constexpr int kMaxInputSide = 4096;
constexpr const char* kExportHint =
    "re-export the model with tools/export_depth_onnx.py, which writes graphs OpenCV 4.6 "
    "imports (docs/stereo.md)";

int SideMultiple(OnnxModelFamily family) {
  return family == OnnxModelFamily::kDepthAnythingV2 ? 14 : 32;
}

const char* FamilyName(OnnxModelFamily family) {
  return family == OnnxModelFamily::kDepthAnythingV2 ? "depth-anything-v2" : "midas-small";
}

Status ReadTriple(const nlohmann::json& doc, const char* key, std::string_view where, bool positive,
                  std::array<float, 3>* out) {
  if (!doc.contains(key)) return Status::OK();
  const nlohmann::json& v = doc[key];
  if (!v.is_array() || v.size() != 3) {
    return Status::InvalidArgument(std::string(where) + ": '" + key + "' must be 3 numbers");
  }
  for (size_t i = 0; i < 3; ++i) {
    if (!v[i].is_number()) {
      return Status::InvalidArgument(std::string(where) + ": '" + key + "' must be 3 numbers");
    }
    const double x = v[i].get<double>();
    if (!std::isfinite(x) || (positive && x <= 0.0)) {
      return Status::InvalidArgument(std::string(where) + ": '" + key + "' values must be " +
                                     (positive ? "positive" : "finite"));
    }
    (*out)[i] = static_cast<float>(x);
  }
  return Status::OK();
}

Status ReadSide(const nlohmann::json& doc, const char* key, std::string_view where,
                OnnxModelFamily family, int* out) {
  if (!doc.contains(key) || !doc[key].is_number_integer()) {
    return Status::InvalidArgument(std::string(where) + ": '" + key + "' must be an integer");
  }
  const int64_t v = doc[key].get<int64_t>();
  const int multiple = SideMultiple(family);
  if (v <= 0 || v > kMaxInputSide || v % multiple != 0) {
    return Status::InvalidArgument(std::string(where) + ": " + key + " " + std::to_string(v) +
                                   " must be a positive multiple of " + std::to_string(multiple) +
                                   " (at most " + std::to_string(kMaxInputSide) + ") for " +
                                   FamilyName(family));
  }
  *out = static_cast<int>(v);
  return Status::OK();
}

Result<std::string> ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return Status::IoError("cannot open " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IoError("cannot read " + path.string());
  return text.str();
}

}  // namespace

Result<OnnxModelManifest> ParseOnnxManifest(std::string_view json, std::string_view where) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument(std::string(where) + ": not a JSON object");
  }
  OnnxModelManifest m;
  const std::string family = doc.value("family", std::string());
  if (family == "depth-anything-v2") {
    m.family = OnnxModelFamily::kDepthAnythingV2;
  } else if (family == "midas-small") {
    m.family = OnnxModelFamily::kMidasSmall;
  } else {
    return Status::InvalidArgument(std::string(where) + ": family '" + family +
                                   "' is not one of depth-anything-v2, midas-small");
  }
  if (Status s = ReadSide(doc, "input_width", where, m.family, &m.input_width); !s.ok()) return s;
  if (Status s = ReadSide(doc, "input_height", where, m.family, &m.input_height); !s.ok()) {
    return s;
  }
  if (Status s = ReadTriple(doc, "mean", where, false, &m.mean); !s.ok()) return s;
  if (Status s = ReadTriple(doc, "std", where, true, &m.std); !s.ok()) return s;
  const std::string order = doc.value("channel_order", std::string("rgb"));
  if (order != "rgb" && order != "bgr") {
    return Status::InvalidArgument(std::string(where) + ": channel_order '" + order +
                                   "' is not rgb or bgr");
  }
  m.bgr_input = order == "bgr";
  const std::string output = doc.value("output", std::string("inverse_depth"));
  if (output != "inverse_depth") {
    return Status::InvalidArgument(std::string(where) + ": output '" + output +
                                   "' is not supported (only inverse_depth)");
  }
  return m;
}

Result<OnnxModelManifest> LoadOnnxManifest(const std::filesystem::path& model) {
  std::filesystem::path appended = model;
  appended += ".json";
  std::filesystem::path replaced = model;
  replaced.replace_extension(".json");
  for (const auto& candidate : {appended, replaced}) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(candidate, ec)) continue;
    Result<std::string> text = ReadWholeFile(candidate);
    if (!text.ok()) return text.status();
    return ParseOnnxManifest(text.value(), candidate.string());
  }
  return Status::NotFound("no model manifest next to " + model.string() + " (looked for " +
                          appended.string() + " and " + replaced.string() +
                          "); tools/export_depth_onnx.py writes one (--manifest-only for an "
                          "existing graph)");
}

struct OnnxDepthEstimator::Net {
  cv::dnn::Net net;
  cv::Mat resized;  // the frame at the network's input size, CV_8UC3
  cv::Mat blob;     // 1 x 3 x H x W float input
  cv::Mat output;   // the network's output
  cv::Mat depth;    // the output resized to the depth map's size

  // Fills `blob` from `resized` (8-bit, `rgb` tells its order) with the manifest's maths.
  void FillBlob(const OnnxModelManifest& m, bool rgb) {
    const int h = resized.rows;
    const int w = resized.cols;
    const int sizes[4] = {1, 3, h, w};
    blob.create(4, sizes, CV_32F);
    for (int c = 0; c < 3; ++c) {
      // Plane c of the graph's input takes frame channel `src` (R G B = 0 1 2 in an RGB frame).
      const int rgb_index = m.bgr_input ? 2 - c : c;
      const int src = rgb ? rgb_index : 2 - rgb_index;
      const float mean = m.mean[static_cast<size_t>(c)];
      const float inv_std = 1.0f / m.std[static_cast<size_t>(c)];
      float* plane = blob.ptr<float>() + static_cast<size_t>(c) * h * w;
      for (int y = 0; y < h; ++y) {
        const uint8_t* row = resized.ptr<uint8_t>(y);
        float* dst = plane + static_cast<size_t>(y) * w;
        for (int x = 0; x < w; ++x) {
          dst[x] = (static_cast<float>(row[3 * x + src]) / 255.0f - mean) * inv_std;
        }
      }
    }
  }

  // Runs the network on `blob` and returns its output as a 2-D float view of `output`.
  Result<cv::Mat> Forward() {
    net.setInput(blob);
    output = net.forward();
    if (output.dims < 2 || output.type() != CV_32F) {
      return Status::Permanent("the network's output is not a float map");
    }
    const int oh = output.size[output.dims - 2];
    const int ow = output.size[output.dims - 1];
    if (static_cast<size_t>(oh) * static_cast<size_t>(ow) != output.total()) {
      return Status::Permanent("the network's output has more than one map");
    }
    return cv::Mat(oh, ow, CV_32F, output.ptr<float>());
  }
};

OnnxDepthEstimator::OnnxDepthEstimator(std::string spec, OnnxModelManifest manifest,
                                       const DepthEstimatorOptions& options,
                                       std::unique_ptr<Net> net)
    : spec_(std::move(spec)), manifest_(manifest), options_(options), net_(std::move(net)) {}

OnnxDepthEstimator::~OnnxDepthEstimator() = default;

Result<std::unique_ptr<OnnxDepthEstimator>> OnnxDepthEstimator::Open(
    std::string_view spec, const std::filesystem::path& model_path,
    const DepthEstimatorOptions& options) {
  const std::string context = "onnx depth '" + model_path.string() + "'";
  if (model_path.empty()) return Status::InvalidArgument("onnx depth: empty model path");
  if (options.depth_resolution < 0) {
    return Status::InvalidArgument(context + ": depth_resolution must be >= 0");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model_path, ec)) {
    return Status::Permanent(context + ": model file does not exist");
  }
  Result<OnnxModelManifest> manifest = LoadOnnxManifest(model_path);
  if (!manifest.ok()) {
    // Whatever is wrong with the manifest, this spec can never work until someone fixes it.
    return Status::Permanent(context + ": " + manifest.status().message());
  }
  const OnnxModelManifest& m = manifest.value();

  auto net = std::make_unique<Net>();
  try {
    net->net = cv::dnn::readNetFromONNX(model_path.string());
  } catch (const cv::Exception& e) {
    return Status::Permanent(context + ": OpenCV 4.6 cannot import this graph (" + e.what() +
                             "); " + kExportHint);
  }
  if (net->net.empty()) {
    return Status::Permanent(context + ": OpenCV 4.6 imported an empty network; " + kExportHint);
  }
  try {
    net->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    // A dry run at the manifest's size: a graph exported for another size fails here.
    net->resized = cv::Mat::zeros(m.input_height, m.input_width, CV_8UC3);
    net->FillBlob(m, /*rgb=*/true);
    Result<cv::Mat> out = net->Forward();
    if (!out.ok()) return out.status().WithContext(context);
  } catch (const cv::Exception& e) {
    return Status::Permanent(context + ": the network does not run at the manifest's input size " +
                             std::to_string(m.input_width) + "x" + std::to_string(m.input_height) +
                             " (" + e.what() +
                             "); fix the manifest or re-export with tools/export_depth_onnx.py "
                             "--width/--height");
  }
  return std::unique_ptr<OnnxDepthEstimator>(
      new OnnxDepthEstimator(std::string(spec), m, options, std::move(net)));
}

Status OnnxDepthEstimator::Estimate(const ImageView& frame, DepthMap* out) {
  if (out == nullptr) return Status::InvalidArgument("onnx depth: null output");
  if (frame.data == nullptr || frame.width <= 0 || frame.height <= 0 ||
      frame.stride < 3 * static_cast<size_t>(frame.width)) {
    return Status::InvalidArgument(
        "onnx depth: malformed frame view (" + std::to_string(frame.width) + "x" +
        std::to_string(frame.height) + ", stride " + std::to_string(frame.stride) + ")");
  }
  try {
    // The view is read-only; the Mat header only borrows it for reading.
    const cv::Mat image(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.data),
                        frame.stride);
    const cv::Size input(manifest_.input_width, manifest_.input_height);
    if (image.size() == input) {
      image.copyTo(net_->resized);
    } else {
      // Area averaging when shrinking (no aliasing), cubic when enlarging (as the networks'
      // own preprocessing does).
      const bool shrink = image.cols >= input.width && image.rows >= input.height;
      cv::resize(image, net_->resized, input, 0, 0, shrink ? cv::INTER_AREA : cv::INTER_CUBIC);
    }
    net_->FillBlob(manifest_, frame.rgb);
    Result<cv::Mat> raw = net_->Forward();
    if (!raw.ok()) return raw.status().WithContext("onnx depth");

    const int short_side = std::min(frame.width, frame.height);
    const int wanted = options_.depth_resolution > 0
                           ? options_.depth_resolution
                           : std::min(manifest_.input_width, manifest_.input_height);
    const double scale = static_cast<double>(std::min(short_side, wanted)) / short_side;
    const cv::Size size(std::max(1, static_cast<int>(std::lround(frame.width * scale))),
                        std::max(1, static_cast<int>(std::lround(frame.height * scale))));
    const cv::Mat& map = raw.value();
    if (map.size() == size) {
      map.copyTo(net_->depth);
    } else {
      cv::resize(map, net_->depth, size, 0, 0, cv::INTER_LINEAR);
    }
    out->width = size.width;
    out->height = size.height;
    out->values.resize(static_cast<size_t>(size.area()));
    cv::Mat dst(size, CV_32F, out->values.data());
    net_->depth.copyTo(dst);
    // The port promises finite values; a network can overflow on extreme inputs.
    for (float& v : out->values) {
      if (!std::isfinite(v)) v = 0.0f;
    }
    return Status::OK();
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("onnx depth: OpenCV: ") + e.what());
  }
}

}  // namespace stereospot::stereo
