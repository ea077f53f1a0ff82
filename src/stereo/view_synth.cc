#include "stereo/view_synth.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include <opencv2/imgproc.hpp>

namespace stereospot::stereo {
namespace {

// Positions and shifts are fixed point with 8 fractional bits: integer arithmetic is exact, needs
// no libm call for ceil (x86-64's baseline has no SSE4.1 rounding) and no division per pixel.
constexpr int kFrac = 8;
constexpr int kOne = 1 << kFrac;
constexpr int kMaxSpan = static_cast<int>(ViewSynthesizer::kMaxStretch) * kOne;
// Marks an output pixel no segment covered. Written pixels hold a shift in [-kMaxShift, kMaxShift].
constexpr int32_t kEmpty = std::numeric_limits<int32_t>::min();
// Landing positions are clamped to [-kMargin, w + kMargin] pixels: no segment that can reach the
// row changes (one longer than kMaxStretch is a gap anyway) and nothing overflows.
constexpr int kMargin = 4;

// (1 << 24) / span for every span a continuous segment can have: blend weights without division.
struct Reciprocals {
  int32_t of[kMaxSpan + 1];
  Reciprocals() : of{} {
    for (int i = 1; i <= kMaxSpan; ++i) of[i] = (1 << 24) / i;
  }
};
const Reciprocals& GetReciprocals() {
  static const Reciprocals table;
  return table;
}

// Shift in 1/256 px, clamped so that positions fit easily in 32 bits; NaN becomes the lower
// bound, which lands off the row and leaves a hole.
inline int32_t ToFixed(float s, float limit) {
  const float c = s > -limit ? (s < limit ? s : limit) : -limit;
  return static_cast<int32_t>(c * static_cast<float>(kOne));
}

inline int CeilPixel(int32_t t) { return (t + kOne - 1) >> kFrac; }  // arithmetic shift: floor

// The three bytes of a pixel in 16-bit lanes of one word, so one multiply blends all channels:
// a lane holds at most 255 * 256 + 128 < 1 << 16, so lanes never carry into each other.
inline uint64_t Spread(const uint8_t* c) {
  return c[0] | (static_cast<uint64_t>(c[1]) << 16) | (static_cast<uint64_t>(c[2]) << 32);
}
inline void BlendSpread(uint64_t a, uint64_t b, int w8, uint8_t* o) {
  constexpr uint64_t kHalf = 0x0000008000800080ULL;
  const uint64_t v =
      (a * static_cast<uint64_t>(kOne - w8) + b * static_cast<uint64_t>(w8) + kHalf) >> kFrac;
  o[0] = static_cast<uint8_t>(v);
  o[1] = static_cast<uint8_t>(v >> 16);
  o[2] = static_cast<uint8_t>(v >> 32);
}

// Fills the pixels of one row that no segment covered. Each run of empty pixels takes the colour
// of whichever neighbour is farther (smaller shift): a disocclusion exposes background, and the
// foreground edge must not be smeared into it.
void FillHoles(const uint8_t* src_row, uint8_t* dst, int32_t* z, int w) {
  int x = 0;
  while (x < w) {
    if (z[x] != kEmpty) {
      ++x;
      continue;
    }
    const int begin = x;
    while (x < w && z[x] == kEmpty) ++x;
    const int end = x;  // [begin, end) is empty
    int from = -1;
    if (begin > 0 && end < w) {
      from = z[begin - 1] <= z[end] ? begin - 1 : end;
    } else if (begin > 0) {
      from = begin - 1;
    } else if (end < w) {
      from = end;
    }
    for (int p = begin; p < end; ++p) {
      // A row with no covered pixel at all keeps the source pixel.
      const uint8_t* c = from >= 0 ? dst + 3 * from : src_row + 3 * p;
      dst[3 * p + 0] = c[0];
      dst[3 * p + 1] = c[1];
      dst[3 * p + 2] = c[2];
      z[p] = from >= 0 ? z[from] : 0;
    }
  }
}

// Forward-maps one row into `buf` (w pixels) with `z` (w entries). In "u" coordinates (u = x for
// the right eye, u = w - 1 - x for the left) source pixel u lands at u - shift, and the row is
// scanned in increasing u: the direction the eye moves. Output position p is column col(p) of the
// real row.
template <bool kMirror>
void SplatRow(const uint8_t* src, const float* shift, uint8_t* buf, int32_t* z, int w) {
  const auto col = [w](int u) { return kMirror ? w - 1 - u : u; };
  const float limit = static_cast<float>(w + kMargin);
  const int32_t lo = -kMargin * kOne, hi = (w + kMargin) * kOne;
  const auto place = [lo, hi](int u, int32_t s) {
    const int32_t t = u * kOne - s;
    return t < lo ? lo : (t > hi ? hi : t);
  };
  const int32_t* recip = GetReciprocals().of;
  std::fill(z, z + w, kEmpty);
  // A source pixel covers half a pixel either side of where it lands: a surface that ends at a
  // gap, a fold or the row's end still owns the output pixels within that half pixel.
  const auto cover = [&](int32_t from, int32_t to, const uint8_t* c, int32_t s) {
    const int p1 = std::min(CeilPixel(to), w);
    for (int p = std::max(CeilPixel(from), 0); p < p1; ++p) {
      const int q = col(p);
      buf[3 * q + 0] = c[0];
      buf[3 * q + 1] = c[1];
      buf[3 * q + 2] = c[2];
      z[q] = s;
    }
  };
  const auto put = [buf, z](int q, uint64_t a, uint64_t b, int w8, int32_t s0, int32_t s1) {
    BlendSpread(a, b, w8, buf + 3 * q);
    z[q] = s0 + (((s1 - s0) * w8) >> kFrac);
  };
  int32_t s0 = ToFixed(shift[col(0)], limit);
  int32_t t0 = place(0, s0);
  bool broken = false;  // a fold or a gap happened: holes may be anywhere in the row
  const uint8_t* c0 = src + 3 * col(0);
  uint64_t v0 = Spread(c0);
  cover(t0 - kOne / 2, t0, c0, s0);
  for (int u = 1; u < w; ++u) {
    const int x = col(u);
    const int32_t s1 = ToFixed(shift[x], limit);
    const int32_t t1 = place(u, s1);
    const uint8_t* c1 = src + 3 * x;
    const uint64_t v1 = Spread(c1);
    const int32_t span = t1 - t0;
    if (span > 0 && span <= kMaxSpan) [[likely]] {
      const int p1 = std::min(CeilPixel(t1), w);
      const int32_t r = recip[span];
      for (int p = std::max(CeilPixel(t0), 0); p < p1; ++p) {
        // p - t0 < span, so the product stays below 1 << 24.
        put(col(p), v0, v1, ((p * kOne - t0) * r) >> 16, s0, s1);
      }
    } else {
      // span <= 0 is a fold: a nearer surface starts and its own segments overwrite what it
      // hides, so the farther surface's end is drawn first. A long span is a disocclusion, left
      // empty for FillHoles.
      cover(t0, t0 + kOne / 2, c0, s0);
      cover(t1 - kOne / 2, t1, c1, s1);
      broken = true;
    }
    s0 = s1;
    t0 = t1;
    c0 = c1;
    v0 = v1;
  }
  cover(t0, t0 + kOne / 2, c0, s0);
  if (broken) {
    FillHoles(src, buf, z, w);
    return;
  }
  // An unbroken row covers one contiguous run of output pixels, so only its two ends can be
  // empty: extend the run's end pixels instead of scanning the whole row.
  int begin = 0;
  while (begin < w && z[begin] == kEmpty) ++begin;
  int end = w;
  while (end > begin && z[end - 1] == kEmpty) --end;
  if (begin == end) {
    FillHoles(src, buf, z, w);
    return;
  }
  for (int p = 0; p < begin; ++p) std::memcpy(buf + 3 * p, buf + 3 * begin, 3);
  for (int p = end; p < w; ++p) std::memcpy(buf + 3 * p, buf + 3 * (end - 1), 3);
}

// Samples source(x + sign * shift(x)) with linear interpolation, clamped to the row.
void BackwardRow(const uint8_t* src, const float* shift, uint8_t* dst, int w, float sign) {
  const float max_pos = static_cast<float>(w - 1);
  for (int x = 0; x < w; ++x) {
    float pos = static_cast<float>(x) + sign * shift[x];
    if (!(pos > 0.0f)) pos = 0.0f;  // also catches NaN
    if (pos > max_pos) pos = max_pos;
    const int i = static_cast<int>(pos);
    const int j = i + 1 < w ? i + 1 : i;
    const int w8 = static_cast<int>((pos - static_cast<float>(i)) * 256.0f + 0.5f);
    BlendSpread(Spread(src + 3 * i), Spread(src + 3 * j), w8, dst + 3 * x);
  }
}

}  // namespace

double ShiftScale(double divergence, int width, int height) {
  return divergence / 200.0 * static_cast<double>(std::max(width, height));
}

Status ShiftFromDepth(const cv::Mat& depth, double divergence, double convergence, int width,
                      int height, cv::Mat* shift) {
  if (shift == nullptr) return Status::InvalidArgument("ShiftFromDepth: null output");
  if (depth.empty() || depth.type() != CV_32FC1) {
    return Status::InvalidArgument("ShiftFromDepth: depth must be a non-empty CV_32FC1 map");
  }
  if (width <= 0 || height <= 0) {
    return Status::InvalidArgument("ShiftFromDepth: output size " + std::to_string(width) + "x" +
                                   std::to_string(height) + " is not positive");
  }
  StereoOptions check;
  check.divergence = divergence;
  check.convergence = convergence;
  STEREOSPOT_RETURN_IF_ERROR(ValidateStereoOptions(check));
  try {
    const double k = ShiftScale(divergence, width, height);
    if (depth.cols == width && depth.rows == height) {
      depth.convertTo(*shift, CV_32F, k, -k * convergence);
    } else {
      cv::resize(depth, *shift, cv::Size(width, height), 0.0, 0.0, cv::INTER_LINEAR);
      shift->convertTo(*shift, CV_32F, k, -k * convergence);
    }
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("ShiftFromDepth: OpenCV: ") + e.what());
  }
  return Status::OK();
}

void ViewSynthesizer::RenderRow(const uint8_t* src, const float* shift, int width, Eye eye,
                                RenderMethod method, uint8_t* dst) {
  if (method == RenderMethod::kBackwardWarp) {
    BackwardRow(src, shift, dst, width, eye == Eye::kLeft ? -1.0f : 1.0f);
    return;
  }
  row_z_.resize(static_cast<size_t>(width));
  if (eye == Eye::kLeft) {
    SplatRow<true>(src, shift, dst, row_z_.data(), width);
  } else {
    SplatRow<false>(src, shift, dst, row_z_.data(), width);
  }
}

Status ViewSynthesizer::Render(const cv::Mat& source, const cv::Mat& shift, Eye eye,
                               RenderMethod method, cv::Mat* out) {
  if (out == nullptr) return Status::InvalidArgument("Render: null output");
  if (source.empty() || source.type() != CV_8UC3) {
    return Status::InvalidArgument("Render: source must be a non-empty 8-bit 3-channel image");
  }
  if (shift.type() != CV_32FC1 || shift.size() != source.size()) {
    return Status::InvalidArgument("Render: shift must be CV_32FC1 of the source's size");
  }
  if (out->data == source.data) {
    return Status::InvalidArgument("Render: output must not alias the source");
  }
  try {
    if (out->size() != source.size() || out->type() != CV_8UC3) {
      out->create(source.size(), CV_8UC3);
    }
    for (int y = 0; y < source.rows; ++y) {
      RenderRow(source.ptr<uint8_t>(y), shift.ptr<float>(y), source.cols, eye, method,
                out->ptr<uint8_t>(y));
    }
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("Render: OpenCV: ") + e.what());
  }
  return Status::OK();
}

}  // namespace stereospot::stereo
