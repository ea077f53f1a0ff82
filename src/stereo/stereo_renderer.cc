#include "stereo/stereo_renderer.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include <opencv2/imgproc.hpp>

#include "stereo/packing.h"

#if defined(__x86_64__) || defined(__i386__)
#define STEREOSPOT_RENDERER_X86 1
#include <immintrin.h>
#endif

namespace stereospot::stereo {
namespace {

// Two taps per output pixel from the short row (in L1): out[x] = row[i0] + fx * (row[i1] -
// row[i0]). One flat loop beats walking the intervals between depth samples, whose inner loops run
// only about three times.
void UpsampleRow(const float* row, const int* i0, const int* i1, const float* fx, int w,
                 float* out) {
  for (int x = 0; x < w; ++x) {
    const float base = row[i0[x]];
    out[x] = base + fx[x] * (row[i1[x]] - base);
  }
}

#if defined(STEREOSPOT_RENDERER_X86)
// The same with AVX2, bit-identical (the same operations in the same order, and no FMA
// contraction: the target has none). When upsampling, eight neighbouring output pixels read at
// most eight neighbouring depth samples, so one load and two in-register permutes replace the
// gathers (which are slow on AMD cores). REQUIRES: row holds 8 readable floats past i1's largest
// value (the values there are never used).
__attribute__((target("avx2"))) void UpsampleRowAvx2(const float* row, const int* i0, const int* i1,
                                                     const float* fx, int w, float* out) {
  int x = 0;
  for (; x + 8 <= w; x += 8) {
    const int first = i0[x];
    if (i1[x + 7] - first > 7) {  // downsampling: fall back to the scalar taps for this block
      for (int k = x; k < x + 8; ++k) {
        const float base = row[i0[k]];
        out[k] = base + fx[k] * (row[i1[k]] - base);
      }
      continue;
    }
    const __m256 window = _mm256_loadu_ps(row + first);
    const __m256i offset = _mm256_set1_epi32(first);
    const __m256i j0 =
        _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(i0 + x)), offset);
    const __m256i j1 =
        _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(i1 + x)), offset);
    const __m256 base = _mm256_permutevar8x32_ps(window, j0);
    const __m256 next = _mm256_permutevar8x32_ps(window, j1);
    const __m256 step = _mm256_mul_ps(_mm256_loadu_ps(fx + x), _mm256_sub_ps(next, base));
    _mm256_storeu_ps(out + x, _mm256_add_ps(base, step));
  }
  for (; x < w; ++x) {
    const float base = row[i0[x]];
    out[x] = base + fx[x] * (row[i1[x]] - base);
  }
}

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}
#endif

}  // namespace

Result<StereoRenderer> StereoRenderer::Create(const StereoOptions& options) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateStereoOptions(options));
  return StereoRenderer(options);
}

Status StereoRenderer::Render(const cv::Mat& frame, const cv::Mat& depth, cv::Mat* out) {
  if (frame.empty() || frame.type() != CV_8UC3) {
    return Status::InvalidArgument("stereo: frame must be a non-empty CV_8UC3 image");
  }
  if (options_.layout == Layout::kRgbd) return PackRgbd(frame, depth, out);
  if (depth.empty() || depth.type() != CV_32FC1) {
    return Status::InvalidArgument("stereo: depth must be a non-empty CV_32FC1 map");
  }
  if (out == nullptr) return Status::InvalidArgument("stereo: null output");
  try {
    return RenderFused(frame, depth, out);
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("stereo: OpenCV: ") + e.what());
  }
}

void StereoRenderer::BuildTaps(cv::Size depth_size, cv::Size frame_size) {
  const auto build = [](int src, int dst, Taps* taps) {
    taps->i0.resize(static_cast<size_t>(dst));
    taps->i1.resize(static_cast<size_t>(dst));
    taps->f.resize(static_cast<size_t>(dst));
    const double ratio = static_cast<double>(src) / static_cast<double>(dst);
    for (int i = 0; i < dst; ++i) {
      const double pos = std::clamp((i + 0.5) * ratio - 0.5, 0.0, static_cast<double>(src - 1));
      const int i0 = static_cast<int>(pos);
      taps->i0[static_cast<size_t>(i)] = i0;
      taps->i1[static_cast<size_t>(i)] = std::min(i0 + 1, src - 1);
      taps->f[static_cast<size_t>(i)] = static_cast<float>(pos - i0);
    }
  };
  build(depth_size.width, frame_size.width, &tx_);
  build(depth_size.height, frame_size.height, &ty_);
  blocks_.resize(kRowBlocks);
  for (RowBlock& block : blocks_) {
    // + 8: UpsampleRowAvx2 loads eight samples from any tap.
    block.depth_row.resize(static_cast<size_t>(depth_size.width) + 8);
    block.shift_row.resize(static_cast<size_t>(frame_size.width));
  }
  taps_depth_ = depth_size;
  taps_frame_ = frame_size;
  scale_ = ShiftScale(options_.divergence, frame_size.width, frame_size.height);
}

void StereoRenderer::ShiftRow(const cv::Mat& depth, int y, float* depth_row, float* out) const {
  const size_t yi = static_cast<size_t>(y);
  const float* a = depth.ptr<float>(ty_.i0[yi]);
  const float* b = depth.ptr<float>(ty_.i1[yi]);
  const float fy = ty_.f[yi];
  const float k = static_cast<float>(scale_);
  const float offset = static_cast<float>(-scale_ * options_.convergence);
  // Scale and offset are applied on the short depth row; interpolation is affine, so the result
  // equals interpolating depth first and converting after.
  float* row = depth_row;
  for (int x = 0; x < depth.cols; ++x) row[x] = k * (a[x] + fy * (b[x] - a[x])) + offset;
  const int w = static_cast<int>(tx_.f.size());
#if defined(STEREOSPOT_RENDERER_X86)
  static const bool avx2 = CpuHasAvx2();
  if (avx2) {
    UpsampleRowAvx2(row, tx_.i0.data(), tx_.i1.data(), tx_.f.data(), w, out);
    return;
  }
#endif
  UpsampleRow(row, tx_.i0.data(), tx_.i1.data(), tx_.f.data(), w, out);
}

Status StereoRenderer::ShiftMapForTesting(const cv::Mat& depth, int width, int height,
                                          cv::Mat* shift) {
  if (depth.empty() || depth.type() != CV_32FC1 || width <= 0 || height <= 0 || !shift) {
    return Status::InvalidArgument("stereo: bad arguments to ShiftMapForTesting");
  }
  BuildTaps(depth.size(), cv::Size(width, height));
  shift->create(height, width, CV_32FC1);
  float* depth_row = blocks_[0].depth_row.data();
  for (int y = 0; y < height; ++y) ShiftRow(depth, y, depth_row, shift->ptr<float>(y));
  return Status::OK();
}

Status StereoRenderer::RenderFused(const cv::Mat& frame, const cv::Mat& depth, cv::Mat* out) {
  STEREOSPOT_ASSIGN_OR_RETURN(const cv::Size size,
                              PackedSize(options_.layout, frame.cols, frame.rows));
  if (out->data != nullptr && out->data == frame.data) {
    return Status::InvalidArgument("stereo: output must not alias the frame");
  }
  if (depth.size() != taps_depth_ || frame.size() != taps_frame_) {
    BuildTaps(depth.size(), frame.size());
  }
  const int w = frame.cols, h = frame.rows;
  // Where each eye's rows go: straight into the packed frame for full layouts, into scratch
  // views for layouts that resample or mix them afterwards.
  const bool full = options_.layout == Layout::kSbs || options_.layout == Layout::kCross ||
                    options_.layout == Layout::kTb;
  cv::Mat left_view, right_view;
  if (full) {
    if (out->size() != size || out->type() != CV_8UC3) out->create(size, CV_8UC3);
    const bool tb = options_.layout == Layout::kTb;
    const cv::Rect first(0, 0, w, h), second = tb ? cv::Rect(0, h, w, h) : cv::Rect(w, 0, w, h);
    const bool left_first = (options_.layout != Layout::kCross) != options_.swap_eyes;
    left_view = (*out)(left_first ? first : second);
    right_view = (*out)(left_first ? second : first);
  } else {
    left_.create(frame.size(), CV_8UC3);
    right_.create(frame.size(), CV_8UC3);
    left_view = left_;
    right_view = right_;
  }
  const RenderMethod method = options_.renderer;
  // Block b renders rows [h * b / blocks, h * (b + 1) / blocks) with its own scratch.
  const int blocks = cv::getNumThreads() > 1 ? std::min(h, kRowBlocks) : 1;
  const auto render_block = [&](int b) {
    RowBlock& block = blocks_[static_cast<size_t>(b)];
    const int y_end = static_cast<int>(static_cast<int64_t>(h) * (b + 1) / blocks);
    for (int y = static_cast<int>(static_cast<int64_t>(h) * b / blocks); y < y_end; ++y) {
      ShiftRow(depth, y, block.depth_row.data(), block.shift_row.data());
      block.synth.RenderRowPair(frame.ptr<uint8_t>(y), block.shift_row.data(), w, method,
                                left_view.ptr<uint8_t>(y), right_view.ptr<uint8_t>(y));
    }
  };
  if (blocks == 1) {
    render_block(0);
  } else {
    cv::parallel_for_(
        cv::Range(0, blocks),
        [&](const cv::Range& range) {
          for (int b = range.start; b < range.end; ++b) render_block(b);
        },
        blocks);
  }
  if (full) return Status::OK();
  return PackViews(left_, right_, options_, out);
}

Status StereoRenderer::RenderWithShift(const cv::Mat& frame, const cv::Mat& shift, cv::Mat* out) {
  if (out == nullptr) return Status::InvalidArgument("stereo: null output");
  if (frame.empty() || frame.type() != CV_8UC3) {
    return Status::InvalidArgument("stereo: frame must be a non-empty CV_8UC3 image");
  }
  if (options_.layout == Layout::kRgbd) {
    return Status::InvalidArgument("stereo: rgbd needs depth, not a shift map; use Render");
  }
  STEREOSPOT_ASSIGN_OR_RETURN(const cv::Size size,
                              PackedSize(options_.layout, frame.cols, frame.rows));
  if (out->data != nullptr && out->data == frame.data) {
    return Status::InvalidArgument("stereo: output must not alias the frame");
  }
  const RenderMethod method = options_.renderer;
  try {
    const int w = frame.cols, h = frame.rows;
    cv::Rect first, second;
    switch (options_.layout) {
      case Layout::kSbs:
      case Layout::kCross:
        first = cv::Rect(0, 0, w, h);
        second = cv::Rect(w, 0, w, h);
        break;
      case Layout::kTb:
        first = cv::Rect(0, 0, w, h);
        second = cv::Rect(0, h, w, h);
        break;
      default:
        break;
    }
    if (!first.empty()) {
      if (out->size() != size || out->type() != CV_8UC3) out->create(size, CV_8UC3);
      // Cross-eyed puts the right eye first; swap_eyes exchanges whatever the layout says.
      const bool left_first = (options_.layout != Layout::kCross) != options_.swap_eyes;
      cv::Mat a = (*out)(first), b = (*out)(second);
      STEREOSPOT_RETURN_IF_ERROR(
          synth_.Render(frame, shift, Eye::kLeft, method, left_first ? &a : &b));
      return synth_.Render(frame, shift, Eye::kRight, method, left_first ? &b : &a);
    }
    STEREOSPOT_RETURN_IF_ERROR(synth_.Render(frame, shift, Eye::kLeft, method, &left_));
    STEREOSPOT_RETURN_IF_ERROR(synth_.Render(frame, shift, Eye::kRight, method, &right_));
    return PackViews(left_, right_, options_, out);
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("stereo: OpenCV: ") + e.what());
  }
}

}  // namespace stereospot::stereo
