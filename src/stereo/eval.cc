#include "stereo/eval.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "stereo/depth_factory.h"
#include "stereo/view_synth.h"

namespace stereospot::stereo {
namespace {

// Average ranks (1-based) of `v`; equal values share the mean of their ranks.
std::vector<double> Ranks(const std::vector<float>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&v](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = r;
    i = j + 1;
  }
  return rank;
}

// Checked before imread, which would log a warning of its own for a missing file.
Status CheckReadable(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status::NotFound("no such file: " + path);
  return Status::OK();
}

Result<cv::Mat> ReadColor(const std::string& path) {
  STEREOSPOT_RETURN_IF_ERROR(CheckReadable(path));
  cv::Mat img;
  try {
    img = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    return Status::InvalidArgument("cannot decode " + path + ": " + e.what());
  }
  if (img.empty()) return Status::NotFound("cannot read image " + path);
  return img;
}

}  // namespace

Result<double> MaskedPsnr(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask) {
  if (a.type() != CV_8UC3 || b.type() != CV_8UC3 || a.size() != b.size()) {
    return Status::InvalidArgument("MaskedPsnr: images must be CV_8UC3 of the same size");
  }
  if (mask.type() != CV_8UC1 || mask.size() != a.size()) {
    return Status::InvalidArgument("MaskedPsnr: mask must be CV_8UC1 of the images' size");
  }
  double sum = 0.0;
  size_t count = 0;
  for (int y = 0; y < a.rows; ++y) {
    const uint8_t* pa = a.ptr<uint8_t>(y);
    const uint8_t* pb = b.ptr<uint8_t>(y);
    const uint8_t* m = mask.ptr<uint8_t>(y);
    for (int x = 0; x < a.cols; ++x) {
      if (m[x] == 0) continue;
      for (int k = 0; k < 3; ++k) {
        const double d = static_cast<double>(pa[3 * x + k]) - static_cast<double>(pb[3 * x + k]);
        sum += d * d;
      }
      count += 3;
    }
  }
  if (count == 0) return Status::InvalidArgument("MaskedPsnr: the mask selects no pixel");
  const double mse = sum / static_cast<double>(count);
  if (mse == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

Result<double> SpearmanCorrelation(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask) {
  if (a.size() != b.size() || mask.size() != a.size() || mask.type() != CV_8UC1) {
    return Status::InvalidArgument("Spearman: maps and mask must have the same size");
  }
  cv::Mat fa, fb;
  for (const auto* m : {&a, &b}) {
    if (m->type() != CV_32FC1 && m->type() != CV_8UC1) {
      return Status::InvalidArgument("Spearman: maps must be CV_32FC1 or CV_8UC1");
    }
  }
  a.convertTo(fa, CV_32F);
  b.convertTo(fb, CV_32F);
  std::vector<float> va, vb;
  for (int y = 0; y < a.rows; ++y) {
    for (int x = 0; x < a.cols; ++x) {
      if (mask.at<uint8_t>(y, x) == 0) continue;
      va.push_back(fa.at<float>(y, x));
      vb.push_back(fb.at<float>(y, x));
    }
  }
  if (va.size() < 2) return Status::InvalidArgument("Spearman: fewer than 2 masked pixels");
  const std::vector<double> ra = Ranks(va);
  const std::vector<double> rb = Ranks(vb);
  const double n = static_cast<double>(ra.size());
  const double mean = (n + 1.0) / 2.0;  // ranks 1..n, ties averaged, keep this mean
  double sab = 0.0, saa = 0.0, sbb = 0.0;
  for (size_t i = 0; i < ra.size(); ++i) {
    const double da = ra[i] - mean;
    const double db = rb[i] - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa == 0.0 || sbb == 0.0) return 0.0;  // a constant map carries no ranking
  return sab / std::sqrt(saa * sbb);
}

Result<cv::Mat> ReadDisparity(const std::string& path, double scale) {
  if (!std::isfinite(scale) || scale <= 0.0) {
    return Status::InvalidArgument("disparity scale must be positive, got " +
                                   std::to_string(scale));
  }
  STEREOSPOT_RETURN_IF_ERROR(CheckReadable(path));
  cv::Mat raw;
  try {
    raw = cv::imread(path, cv::IMREAD_ANYDEPTH | cv::IMREAD_GRAYSCALE);
  } catch (const cv::Exception& e) {
    return Status::InvalidArgument("cannot decode " + path + ": " + e.what());
  }
  if (raw.empty()) return Status::NotFound("cannot read disparity image " + path);
  if (raw.channels() != 1 || (raw.depth() != CV_8U && raw.depth() != CV_16U)) {
    return Status::InvalidArgument(path + ": disparity must be an 8 or 16-bit gray image");
  }
  cv::Mat disparity;
  raw.convertTo(disparity, CV_32F, 1.0 / scale);
  return disparity;
}

cv::Mat FillUnknownDisparity(const cv::Mat& disparity) {
  cv::Mat out = disparity.clone();
  std::vector<int> known_rows;
  for (int y = 0; y < out.rows; ++y) {
    float* row = out.ptr<float>(y);
    std::vector<int> known;
    for (int x = 0; x < out.cols; ++x) {
      if (row[x] > 0.0f) known.push_back(x);
    }
    if (known.empty()) continue;
    known_rows.push_back(y);
    size_t k = 0;
    for (int x = 0; x < out.cols; ++x) {
      while (k + 1 < known.size() && std::abs(known[k + 1] - x) <= std::abs(known[k] - x)) ++k;
      if (row[x] <= 0.0f) row[x] = row[known[k]];
    }
  }
  if (known_rows.empty()) return out;
  size_t k = 0;
  for (int y = 0; y < out.rows; ++y) {
    while (k + 1 < known_rows.size() &&
           std::abs(known_rows[k + 1] - y) <= std::abs(known_rows[k] - y)) {
      ++k;
    }
    if (known_rows[k] != y) out.row(known_rows[k]).copyTo(out.row(y));
  }
  return out;
}

cv::Mat SynthEvalMask(const cv::Mat& disparity, int border) {
  cv::Mat mask = disparity > 0.0f;
  const int b = std::max(border, 0);
  for (int y = 0; y < mask.rows; ++y) {
    uint8_t* m = mask.ptr<uint8_t>(y);
    for (int x = 0; x < mask.cols; ++x) {
      if (y < b || x < b || y >= mask.rows - b || x >= mask.cols - b) m[x] = 0;
    }
  }
  return mask;
}

Result<std::vector<RendererScore>> EvalSynthImages(const cv::Mat& left, const cv::Mat& right,
                                                   const cv::Mat& disparity, int border) {
  if (left.type() != CV_8UC3 || right.type() != CV_8UC3 || left.size() != right.size()) {
    return Status::InvalidArgument("eval synth: left and right must be colour images of one size");
  }
  if (disparity.type() != CV_32FC1 || disparity.size() != left.size()) {
    return Status::InvalidArgument("eval synth: disparity must match the left view's size");
  }
  if (border < 0) return Status::InvalidArgument("eval synth: border must be >= 0");
  try {
    const cv::Mat mask = SynthEvalMask(disparity, border);
    if (cv::countNonZero(mask) == 0) {
      return Status::InvalidArgument("eval synth: no pixel with known disparity inside the border");
    }
    const cv::Mat shift = FillUnknownDisparity(disparity);
    ViewSynthesizer synth;
    std::vector<RendererScore> scores;
    for (RenderMethod method : {RenderMethod::kForwardSplat, RenderMethod::kBackwardWarp}) {
      cv::Mat rendered;
      STEREOSPOT_RETURN_IF_ERROR(synth.Render(left, shift, Eye::kRight, method, &rendered));
      STEREOSPOT_ASSIGN_OR_RETURN(const double psnr, MaskedPsnr(rendered, right, mask));
      scores.push_back({method, psnr});
    }
    return scores;
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("eval synth: OpenCV: ") + e.what());
  }
}

Result<std::vector<RendererScore>> EvalSynth(const std::string& left_path,
                                             const std::string& right_path,
                                             const std::string& disparity_path, double scale,
                                             int border) {
  STEREOSPOT_ASSIGN_OR_RETURN(const cv::Mat left, ReadColor(left_path));
  STEREOSPOT_ASSIGN_OR_RETURN(const cv::Mat right, ReadColor(right_path));
  STEREOSPOT_ASSIGN_OR_RETURN(const cv::Mat disparity, ReadDisparity(disparity_path, scale));
  return EvalSynthImages(left, right, disparity, border);
}

Result<double> EvalDepth(const std::string& image_path, const std::string& disparity_path,
                         double scale, const std::string& backend, int depth_resolution) {
  if (depth_resolution < 0) {
    return Status::InvalidArgument("eval depth: depth resolution must be >= 0 (0 = the image's)");
  }
  STEREOSPOT_ASSIGN_OR_RETURN(const cv::Mat image, ReadColor(image_path));
  STEREOSPOT_ASSIGN_OR_RETURN(const cv::Mat disparity, ReadDisparity(disparity_path, scale));
  if (disparity.size() != image.size()) {
    return Status::InvalidArgument("eval depth: disparity size differs from the image's");
  }
  DepthEstimatorOptions options;
  options.depth_resolution =
      depth_resolution > 0 ? depth_resolution : std::min(image.cols, image.rows);
  STEREOSPOT_ASSIGN_OR_RETURN(auto estimator, MakeDepthEstimator(backend, options));
  DepthMap depth;
  STEREOSPOT_RETURN_IF_ERROR(estimator->Estimate(ImageViewOf(image), &depth));
  try {
    cv::Mat small(depth.height, depth.width, CV_32FC1, depth.values.data());
    cv::Mat full;
    cv::resize(small, full, image.size(), 0.0, 0.0, cv::INTER_LINEAR);
    return SpearmanCorrelation(full, disparity, disparity > 0.0f);
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("eval depth: OpenCV: ") + e.what());
  }
}

}  // namespace stereospot::stereo
