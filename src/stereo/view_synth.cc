#include "stereo/view_synth.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <opencv2/imgproc.hpp>

namespace stereospot::stereo {
namespace {

// Marks an output pixel no segment covered. Every written pixel holds a finite shift.
constexpr float kEmpty = -std::numeric_limits<float>::infinity();

// Clamps a finite float to [0, limit] and converts it; casting an out-of-range float to int is UB.
inline int ClampToIndex(float v, int limit) {
  if (v <= 0.0f) return 0;
  if (v >= static_cast<float>(limit)) return limit;
  return static_cast<int>(v);
}

// Fills the pixels of one row that no segment covered. Each run of empty pixels takes the colour
// of whichever neighbour is farther (smaller shift): a disocclusion exposes background, and the
// foreground edge must not be smeared into it.
void FillHoles(const uint8_t* src_row, uint8_t* dst, float* z, int w) {
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
      // A row with no covered pixel at all (every segment a gap) keeps the source pixel.
      const uint8_t* c = from >= 0 ? dst + 3 * from : src_row + 3 * p;
      dst[3 * p + 0] = c[0];
      dst[3 * p + 1] = c[1];
      dst[3 * p + 2] = c[2];
      z[p] = from >= 0 ? z[from] : 0.0f;
    }
  }
}

// Forward-maps one row. In "u" coordinates (u = x for the right eye, u = w - 1 - x for the left)
// source pixel u lands at u - shift, and the row is scanned in increasing u: the direction the eye
// moves. Output position p is column Col(p) of the real row.
template <bool kMirror>
void SplatRow(const uint8_t* src, const float* shift, uint8_t* dst, float* z, int w) {
  const auto col = [w](int u) { return kMirror ? w - 1 - u : u; };
  std::fill(z, z + w, kEmpty);
  // A source pixel covers half a pixel either side of where it lands: a surface that ends at a
  // gap, a fold or the row's end still owns the output pixels within that half pixel.
  const auto cover = [&](float from, float to, const uint8_t* c, float s) {
    if (!(to > from) || !std::isfinite(from) || !std::isfinite(to)) return;
    const int p1 = ClampToIndex(std::ceil(to), w);
    for (int p = ClampToIndex(std::ceil(from), w); p < p1; ++p) {
      const int q = col(p);
      dst[3 * q + 0] = c[0];
      dst[3 * q + 1] = c[1];
      dst[3 * q + 2] = c[2];
      z[q] = s;
    }
  };
  float s0 = shift[col(0)];
  float t0 = -s0;
  const uint8_t* c0 = src + 3 * col(0);
  cover(t0 - 0.5f, t0, c0, s0);
  for (int u = 1; u < w; ++u) {
    const int x = col(u);
    const float s1 = shift[x];
    const float t1 = static_cast<float>(u) - s1;
    const uint8_t* c1 = src + 3 * x;
    const float span = t1 - t0;
    // span <= 0 is a fold (a nearer surface starts; its own segments overwrite what it hides);
    // a long span is a disocclusion; NaN or infinite shifts fail the test and leave a hole.
    const bool continuous = span > 0.0f && span <= ViewSynthesizer::kMaxStretch;
    if (!continuous) {
      // The farther surface ends first, so a nearer one that folds over it overwrites it.
      cover(t0, t0 + 0.5f, c0, s0);
      cover(t1 - 0.5f, t1, c1, s1);
    } else {
      const int p0 = ClampToIndex(std::ceil(t0), w);
      const int p1 = ClampToIndex(std::ceil(t1), w);
      const float inv = 1.0f / span;
      const float d0 = static_cast<float>(c1[0]) - static_cast<float>(c0[0]);
      const float d1 = static_cast<float>(c1[1]) - static_cast<float>(c0[1]);
      const float d2 = static_cast<float>(c1[2]) - static_cast<float>(c0[2]);
      for (int p = p0; p < p1; ++p) {
        const float a = (static_cast<float>(p) - t0) * inv;
        const int q = col(p);
        uint8_t* o = dst + 3 * q;
        o[0] = static_cast<uint8_t>(static_cast<float>(c0[0]) + a * d0 + 0.5f);
        o[1] = static_cast<uint8_t>(static_cast<float>(c0[1]) + a * d1 + 0.5f);
        o[2] = static_cast<uint8_t>(static_cast<float>(c0[2]) + a * d2 + 0.5f);
        z[q] = s0 + a * (s1 - s0);
      }
    }
    s0 = s1;
    t0 = t1;
    c0 = c1;
  }
  cover(t0, t0 + 0.5f, c0, s0);
  FillHoles(src, dst, z, w);
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
    const float a = pos - static_cast<float>(i);
    const uint8_t* p = src + 3 * i;
    const uint8_t* q = src + 3 * j;
    for (int k = 0; k < 3; ++k) {
      dst[3 * x + k] =
          static_cast<uint8_t>(static_cast<float>(p[k]) +
                               a * (static_cast<float>(q[k]) - static_cast<float>(p[k])) + 0.5f);
    }
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
    const int w = source.cols;
    row_shift_.resize(static_cast<size_t>(w));
    for (int y = 0; y < source.rows; ++y) {
      const uint8_t* src = source.ptr<uint8_t>(y);
      const float* s = shift.ptr<float>(y);
      uint8_t* dst = out->ptr<uint8_t>(y);
      if (method == RenderMethod::kBackwardWarp) {
        BackwardRow(src, s, dst, w, eye == Eye::kLeft ? -1.0f : 1.0f);
      } else if (eye == Eye::kLeft) {
        SplatRow<true>(src, s, dst, row_shift_.data(), w);
      } else {
        SplatRow<false>(src, s, dst, row_shift_.data(), w);
      }
    }
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("Render: OpenCV: ") + e.what());
  }
  return Status::OK();
}

}  // namespace stereospot::stereo
