#include "stereo/packing.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include <opencv2/imgproc.hpp>

namespace stereospot::stereo {
namespace {

// Published red-cyan matrices (RGB order). Dubois: least-squares projection from E. Dubois,
// "A projection method to generate anaglyph stereo images" (ICASSP 2001), red-cyan values from
// his site; they are defined on linear light. The others are the classical simple anaglyphs and
// Wimmer's "optimized" anaglyph (red channel from the left eye's green and blue).
constexpr AnaglyphMatrices kDubois = {{0.456100f, 0.500484f, 0.176381f, -0.0400822f, -0.0378246f,
                                       -0.0157589f, -0.0152161f, -0.0205971f, -0.00546856f},
                                      {-0.0434706f, -0.0879388f, -0.00155529f, 0.378476f, 0.73364f,
                                       -0.0184503f, -0.0721527f, -0.112961f, 1.2264f},
                                      true};
constexpr AnaglyphMatrices kColor = {
    {1, 0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 1, 0, 0, 0, 1}, false};
constexpr AnaglyphMatrices kGray = {{0.299f, 0.587f, 0.114f, 0, 0, 0, 0, 0, 0},
                                    {0, 0, 0, 0.299f, 0.587f, 0.114f, 0.299f, 0.587f, 0.114f},
                                    false};
constexpr AnaglyphMatrices kHalfColor = {
    {0.299f, 0.587f, 0.114f, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 1, 0, 0, 0, 1}, false};
constexpr AnaglyphMatrices kWimmer = {
    {0, 0.7f, 0.3f, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 1, 0, 0, 0, 1}, false};

float SrgbToLinear(float c) {
  return c <= 0.04045f ? c / 12.92f : std::pow((c + 0.055f) / 1.055f, 2.4f);
}
float LinearToSrgb(float c) {
  return c <= 0.0031308f ? c * 12.92f : 1.055f * std::pow(c, 1.0f / 2.4f) - 0.055f;
}

// Decoding tables: 8-bit code -> channel value in [0, 1] (linear or not), and a fine encoding
// table for linear light (4096 steps keep the dark end within one code value).
struct Tables {
  std::array<float, 256> decode_linear{};
  std::array<float, 256> decode_plain{};
  std::array<uint8_t, 4097> encode_linear{};
  Tables() {
    for (int i = 0; i < 256; ++i) {
      decode_plain[i] = static_cast<float>(i) / 255.0f;
      decode_linear[i] = SrgbToLinear(decode_plain[i]);
    }
    for (int i = 0; i <= 4096; ++i) {
      const float v = LinearToSrgb(static_cast<float>(i) / 4096.0f);
      encode_linear[i] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
    }
  }
};
const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

Status CheckViews(const cv::Mat& left, const cv::Mat& right) {
  if (left.empty() || left.type() != CV_8UC3 || right.type() != CV_8UC3 ||
      left.size() != right.size()) {
    return Status::InvalidArgument("packing: views must be non-empty CV_8UC3 images of one size");
  }
  return Status::OK();
}

// Exact 2:1 box filters (what INTER_AREA computes for a factor of two, rounded half up),
// written out because cv::resize is several times slower here and may allocate per call.
// REQUIRES: dst is CV_8UC3 with half the width (HalveWidth) or height (HalveHeight) of src.
void HalveWidth(const cv::Mat& src, cv::Mat* dst) {
  for (int y = 0; y < dst->rows; ++y) {
    const uint8_t* s = src.ptr<uint8_t>(y);
    uint8_t* d = dst->ptr<uint8_t>(y);
    for (int x = 0; x < 3 * dst->cols; x += 3, s += 6) {
      d[x + 0] = static_cast<uint8_t>((s[0] + s[3] + 1) >> 1);
      d[x + 1] = static_cast<uint8_t>((s[1] + s[4] + 1) >> 1);
      d[x + 2] = static_cast<uint8_t>((s[2] + s[5] + 1) >> 1);
    }
  }
}

void HalveHeight(const cv::Mat& src, cv::Mat* dst) {
  const int n = 3 * dst->cols;
  for (int y = 0; y < dst->rows; ++y) {
    const uint8_t* a = src.ptr<uint8_t>(2 * y);
    const uint8_t* b = src.ptr<uint8_t>(2 * y + 1);
    uint8_t* d = dst->ptr<uint8_t>(y);
    for (int i = 0; i < n; ++i) d[i] = static_cast<uint8_t>((a[i] + b[i] + 1) >> 1);
  }
}

}  // namespace

Result<cv::Size> PackedSize(Layout layout, int width, int height) {
  if (width <= 0 || height <= 0) {
    return Status::InvalidArgument("packing: view size " + std::to_string(width) + "x" +
                                   std::to_string(height) + " is not positive");
  }
  switch (layout) {
    case Layout::kSbs:
    case Layout::kCross:
    case Layout::kRgbd:
      return cv::Size(2 * width, height);
    case Layout::kTb:
      return cv::Size(width, 2 * height);
    case Layout::kHalfSbs:
      if (width % 2 != 0) {
        return Status::InvalidArgument("half-sbs needs an even width, got " +
                                       std::to_string(width));
      }
      return cv::Size(width, height);
    case Layout::kHalfTb:
      if (height % 2 != 0) {
        return Status::InvalidArgument("half-tb needs an even height, got " +
                                       std::to_string(height));
      }
      return cv::Size(width, height);
    case Layout::kAnaglyph:
      return cv::Size(width, height);
  }
  return Status::InvalidArgument("packing: unknown layout");
}

const AnaglyphMatrices& AnaglyphMatricesFor(AnaglyphMethod method) {
  switch (method) {
    case AnaglyphMethod::kDubois:
      return kDubois;
    case AnaglyphMethod::kColor:
      return kColor;
    case AnaglyphMethod::kGray:
      return kGray;
    case AnaglyphMethod::kHalfColor:
      return kHalfColor;
    case AnaglyphMethod::kWimmer:
      return kWimmer;
  }
  return kDubois;
}

Status MakeAnaglyph(const cv::Mat& left, const cv::Mat& right, AnaglyphMethod method, cv::Mat* out,
                    ChannelOrder order) {
  STEREOSPOT_RETURN_IF_ERROR(CheckViews(left, right));
  if (out == nullptr) return Status::InvalidArgument("anaglyph: null output");
  if (out->data == left.data || out->data == right.data) {
    return Status::InvalidArgument("anaglyph: output must not alias a view");
  }
  const AnaglyphMatrices& m = AnaglyphMatricesFor(method);
  const Tables& t = GetTables();
  const float* decode = m.linear_light ? t.decode_linear.data() : t.decode_plain.data();
  // Byte index of red and blue; green is byte 1 in both orders.
  const int ri = order == ChannelOrder::kBgr ? 2 : 0;
  const int bi = 2 - ri;
  try {
    out->create(left.size(), CV_8UC3);
    for (int y = 0; y < left.rows; ++y) {
      const uint8_t* l = left.ptr<uint8_t>(y);
      const uint8_t* r = right.ptr<uint8_t>(y);
      uint8_t* o = out->ptr<uint8_t>(y);
      for (int x = 0; x < left.cols; ++x, l += 3, r += 3, o += 3) {
        // The matrices are in RGB order.
        const float lr = decode[l[ri]], lg = decode[l[1]], lb = decode[l[bi]];
        const float rr = decode[r[ri]], rg = decode[r[1]], rb = decode[r[bi]];
        for (int c = 0; c < 3; ++c) {
          float v = m.left[3 * c] * lr + m.left[3 * c + 1] * lg + m.left[3 * c + 2] * lb +
                    m.right[3 * c] * rr + m.right[3 * c + 1] * rg + m.right[3 * c + 2] * rb;
          v = std::clamp(v, 0.0f, 1.0f);
          const uint8_t code = m.linear_light
                                   ? t.encode_linear[static_cast<int>(v * 4096.0f + 0.5f)]
                                   : static_cast<uint8_t>(v * 255.0f + 0.5f);
          o[c == 0 ? ri : (c == 1 ? 1 : bi)] = code;
        }
      }
    }
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("anaglyph: OpenCV: ") + e.what());
  }
  return Status::OK();
}

Status PackViews(const cv::Mat& left_in, const cv::Mat& right_in, const StereoOptions& options,
                 cv::Mat* out) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateStereoOptions(options));
  STEREOSPOT_RETURN_IF_ERROR(CheckViews(left_in, right_in));
  if (out == nullptr) return Status::InvalidArgument("packing: null output");
  if (options.layout == Layout::kRgbd) {
    return Status::InvalidArgument("packing: rgbd packs an image and its depth, use PackRgbd");
  }
  const cv::Mat& left = options.swap_eyes ? right_in : left_in;
  const cv::Mat& right = options.swap_eyes ? left_in : right_in;
  if (options.layout == Layout::kAnaglyph) {
    return MakeAnaglyph(left, right, options.anaglyph, out, options.channel_order);
  }
  STEREOSPOT_ASSIGN_OR_RETURN(const cv::Size size,
                              PackedSize(options.layout, left.cols, left.rows));
  if (out->data == left.data || out->data == right.data) {
    return Status::InvalidArgument("packing: output must not alias a view");
  }
  try {
    out->create(size, CV_8UC3);
    const int w = left.cols, h = left.rows;
    switch (options.layout) {
      case Layout::kSbs:
        left.copyTo((*out)(cv::Rect(0, 0, w, h)));
        right.copyTo((*out)(cv::Rect(w, 0, w, h)));
        break;
      case Layout::kCross:
        right.copyTo((*out)(cv::Rect(0, 0, w, h)));
        left.copyTo((*out)(cv::Rect(w, 0, w, h)));
        break;
      case Layout::kTb:
        left.copyTo((*out)(cv::Rect(0, 0, w, h)));
        right.copyTo((*out)(cv::Rect(0, h, w, h)));
        break;
      case Layout::kHalfSbs: {
        cv::Mat a = (*out)(cv::Rect(0, 0, w / 2, h)), b = (*out)(cv::Rect(w / 2, 0, w / 2, h));
        HalveWidth(left, &a);
        HalveWidth(right, &b);
        break;
      }
      case Layout::kHalfTb: {
        cv::Mat a = (*out)(cv::Rect(0, 0, w, h / 2)), b = (*out)(cv::Rect(0, h / 2, w, h / 2));
        HalveHeight(left, &a);
        HalveHeight(right, &b);
        break;
      }
      case Layout::kAnaglyph:
      case Layout::kRgbd:
        break;  // handled above
    }
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("packing: OpenCV: ") + e.what());
  }
  return Status::OK();
}

Status PackRgbd(const cv::Mat& image, const cv::Mat& depth, cv::Mat* out) {
  if (image.empty() || image.type() != CV_8UC3) {
    return Status::InvalidArgument("rgbd: image must be a non-empty CV_8UC3 image");
  }
  if (depth.empty() || depth.type() != CV_32FC1) {
    return Status::InvalidArgument("rgbd: depth must be a non-empty CV_32FC1 map");
  }
  if (out == nullptr) return Status::InvalidArgument("rgbd: null output");
  if (out->data == image.data) return Status::InvalidArgument("rgbd: output aliases the image");
  try {
    const int w = image.cols, h = image.rows;
    out->create(h, 2 * w, CV_8UC3);
    image.copyTo((*out)(cv::Rect(0, 0, w, h)));
    cv::Mat full, gray;
    if (depth.size() != image.size()) {
      cv::resize(depth, full, image.size(), 0, 0, cv::INTER_LINEAR);
    } else {
      full = depth;
    }
    full.convertTo(gray, CV_8U, 255.0);  // saturates outside [0, 1]
    cv::Mat right = (*out)(cv::Rect(w, 0, w, h));
    cv::cvtColor(gray, right, cv::COLOR_GRAY2BGR);
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("rgbd: OpenCV: ") + e.what());
  }
  return Status::OK();
}

}  // namespace stereospot::stereo
