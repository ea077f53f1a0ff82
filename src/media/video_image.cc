#include <array>
#include <cstddef>
#include <cstring>

#include "media/frame_pipeline.h"
#include "media/video_image_ops.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define STEREOSPOT_PACKED_YUV_X86 1
#endif

namespace stereospot::media {

namespace {
// Row alignment that keeps libswscale on its fast SIMD paths.
constexpr int kRowAlign = 64;
int AlignUp(int v) { return (v + kRowAlign - 1) / kRowAlign * kRowAlign; }
}  // namespace

int VideoImage::plane_height(int plane) const {
  if (plane == 0 || layout != PixelLayout::kYuv420p) return height;
  return (height + 1) / 2;
}

void VideoImage::Allocate(int w, int h, PixelLayout l) {
  width = w;
  height = h;
  layout = l;
  const int chroma_w = l == PixelLayout::kYuv420p ? (w + 1) / 2 : w;
  stride = {AlignUp(IsPacked() ? w * 3 : w), 0, 0};
  if (!IsPacked()) stride[1] = stride[2] = AlignUp(chroma_w);
  for (int p = 0; p < 3; ++p) {
    // Extra row of padding: SIMD readers may touch a few bytes past the last row.
    const size_t bytes =
        p < plane_count() ? static_cast<size_t>(stride[p]) * (plane_height(p) + 1) : 0;
    planes[p].resize(bytes);
  }
}

void RotateImage(const VideoImage& src, int cw_degrees, VideoImage* dst) {
  const bool swap = cw_degrees == 90 || cw_degrees == 270;
  dst->Allocate(swap ? src.height : src.width, swap ? src.width : src.height, src.layout);
  const int px = src.IsPacked() ? 3 : 1;
  for (int p = 0; p < src.plane_count(); ++p) {
    const int sh = src.plane_height(p);
    const int sw = p == 0 || src.layout != PixelLayout::kYuv420p ? src.width : (src.width + 1) / 2;
    const uint8_t* s = src.planes[p].data();
    uint8_t* d = dst->planes[p].data();
    const int ss = src.stride[p];
    const int ds = dst->stride[p];
    for (int y = 0; y < sh; ++y) {
      for (int x = 0; x < sw; ++x) {
        int dx = x, dy = y;
        switch (cw_degrees) {
          case 90:
            dx = sh - 1 - y;
            dy = x;
            break;
          case 180:
            dx = sw - 1 - x;
            dy = sh - 1 - y;
            break;
          case 270:
            dx = y;
            dy = sw - 1 - x;
            break;
          default:
            break;
        }
        std::memcpy(d + dy * ds + dx * px, s + y * ss + x * px, px);
      }
    }
  }
}

namespace {

#if defined(STEREOSPOT_PACKED_YUV_X86)
// 4:2:0 rows in and out of packed Y Cb Cr, 16 pixels at a time with SSSE3 byte shuffles (every
// x86-64 CPU of the last fifteen years has them; the CPU is asked once, and the scalar rows
// remain for the rest). Both paths give the same bytes.

// Byte shuffle masks, made at compile time. A mask entry -1 (high bit set) writes a zero byte,
// so three shuffles OR'd together gather from three registers.
using Mask = std::array<int8_t, 16>;

// Unpacking: lane i of the result takes byte 3 * i + channel of the 48 packed bytes, if that
// byte lies in 16-byte chunk `chunk`.
constexpr Mask GatherMask(int chunk, int channel) {
  Mask m{};
  for (int i = 0; i < 16; ++i) {
    const int at = 3 * i + channel - 16 * chunk;
    m[static_cast<size_t>(i)] = at >= 0 && at < 16 ? static_cast<int8_t>(at) : int8_t{-1};
  }
  return m;
}

// Packing: byte q of output chunk `chunk` is channel (p % 3) of pixel p / 3 (p = 16 chunk + q);
// luma lanes index pixels, chroma lanes index pixel pairs (4:2:0).
constexpr Mask ScatterMask(int chunk, int channel) {
  Mask m{};
  for (int q = 0; q < 16; ++q) {
    const int p = 16 * chunk + q;
    const int pixel = p / 3;
    m[static_cast<size_t>(q)] = p % 3 != channel ? int8_t{-1}
                                : channel == 0   ? static_cast<int8_t>(pixel)
                                                 : static_cast<int8_t>(pixel / 2);
  }
  return m;
}

template <int Chunk, int Channel>
constexpr Mask kGather = GatherMask(Chunk, Channel);
template <int Chunk, int Channel>
constexpr Mask kScatter = ScatterMask(Chunk, Channel);

template <const Mask& M>
__attribute__((target("ssse3"))) inline __m128i Shuffle(__m128i v) {
  return _mm_shuffle_epi8(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(M.data())));
}

// One channel of 16 packed pixels (48 bytes in a, b, c).
template <int Channel>
__attribute__((target("ssse3"))) inline __m128i Gather(__m128i a, __m128i b, __m128i c) {
  return _mm_or_si128(
      _mm_or_si128(Shuffle<kGather<0, Channel>>(a), Shuffle<kGather<1, Channel>>(b)),
      Shuffle<kGather<2, Channel>>(c));
}

__attribute__((target("ssse3"))) inline __m128i Load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// The 8 means of 2x2 blocks of two rows of 16 chroma samples, in the low 8 bytes: horizontal
// neighbours summed by maddubs (x1 + x1), the rows added, then (sum + 2) >> 2 as in the scalar
// row.
__attribute__((target("ssse3"))) inline __m128i BlockMean(__m128i top, __m128i bottom) {
  const __m128i ones = _mm_set1_epi8(1);
  const __m128i sum = _mm_add_epi16(_mm_maddubs_epi16(top, ones), _mm_maddubs_epi16(bottom, ones));
  return _mm_packus_epi16(_mm_srli_epi16(_mm_add_epi16(sum, _mm_set1_epi16(2)), 2),
                          _mm_setzero_si128());
}

// Returns the number of pixel pairs done (a multiple of 8); the caller finishes the row.
__attribute__((target("ssse3"))) int PackRow420Ssse3(const uint8_t* py, const uint8_t* pu,
                                                     const uint8_t* pv, uint8_t* d, int pairs) {
  int i = 0;
  for (; i + 8 <= pairs; i += 8) {
    const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(py + 2 * i));
    const __m128i u = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(pu + i));
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(pv + i));
    __m128i out[3];
    out[0] = _mm_or_si128(_mm_or_si128(Shuffle<kScatter<0, 0>>(y), Shuffle<kScatter<0, 1>>(u)),
                          Shuffle<kScatter<0, 2>>(v));
    out[1] = _mm_or_si128(_mm_or_si128(Shuffle<kScatter<1, 0>>(y), Shuffle<kScatter<1, 1>>(u)),
                          Shuffle<kScatter<1, 2>>(v));
    out[2] = _mm_or_si128(_mm_or_si128(Shuffle<kScatter<2, 0>>(y), Shuffle<kScatter<2, 1>>(u)),
                          Shuffle<kScatter<2, 2>>(v));
    for (int k = 0; k < 3; ++k) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 6 * i + 16 * k), out[k]);
    }
  }
  return i;
}

// Two packed rows to two luma rows and one row of each chroma plane. Returns the pairs done.
__attribute__((target("ssse3"))) int UnpackRows420Ssse3(const uint8_t* s0, const uint8_t* s1,
                                                        uint8_t* y0, uint8_t* y1, uint8_t* u,
                                                        uint8_t* v, int pairs) {
  int i = 0;
  for (; i + 8 <= pairs; i += 8) {
    const uint8_t* r0 = s0 + 6 * i;
    const uint8_t* r1 = s1 + 6 * i;
    const __m128i a0 = Load(r0), b0 = Load(r0 + 16), c0 = Load(r0 + 32);
    const __m128i a1 = Load(r1), b1 = Load(r1 + 16), c1 = Load(r1 + 32);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y0 + 2 * i), Gather<0>(a0, b0, c0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y1 + 2 * i), Gather<0>(a1, b1, c1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(u + i),
                     BlockMean(Gather<1>(a0, b0, c0), Gather<1>(a1, b1, c1)));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(v + i),
                     BlockMean(Gather<2>(a0, b0, c0), Gather<2>(a1, b1, c1)));
  }
  return i;
}

const bool kHasSsse3 = __builtin_cpu_supports("ssse3");
#else
// Other CPUs take the scalar rows.
constexpr bool kHasSsse3 = false;
int PackRow420Ssse3(const uint8_t*, const uint8_t*, const uint8_t*, uint8_t*, int) { return 0; }
int UnpackRows420Ssse3(const uint8_t*, const uint8_t*, uint8_t*, uint8_t*, uint8_t*, uint8_t*,
                       int) {
  return 0;
}
#endif

}  // namespace

void PackYuv(const PlanarPicture& src, VideoImage* dst, bool simd) {
  dst->Allocate(src.width, src.height, PixelLayout::kYuvPacked);
  simd = simd && kHasSsse3;
  for (int y = 0; y < src.height; ++y) {
    const uint8_t* py = src.data[0] + static_cast<ptrdiff_t>(y) * src.linesize[0];
    const int cy = src.chroma_halved ? y / 2 : y;
    const uint8_t* pu = src.data[1] + static_cast<ptrdiff_t>(cy) * src.linesize[1];
    const uint8_t* pv = src.data[2] + static_cast<ptrdiff_t>(cy) * src.linesize[2];
    uint8_t* d = dst->planes[0].data() + static_cast<ptrdiff_t>(y) * dst->stride[0];
    if (src.chroma_halved) {
      const int pairs = src.width / 2;
      int i = simd ? PackRow420Ssse3(py, pu, pv, d, pairs) : 0;
      for (d += 6 * i; i < pairs; ++i, d += 6) {
        d[0] = py[2 * i];
        d[1] = pu[i];
        d[2] = pv[i];
        d[3] = py[2 * i + 1];
        d[4] = pu[i];
        d[5] = pv[i];
      }
      if ((src.width & 1) != 0) {
        d[0] = py[src.width - 1];
        d[1] = pu[pairs];
        d[2] = pv[pairs];
      }
    } else {
      for (int x = 0; x < src.width; ++x, d += 3) {
        d[0] = py[x];
        d[1] = pu[x];
        d[2] = pv[x];
      }
    }
  }
}

namespace {
void Unpack420(const VideoImage& src, const PlanarPicture& dst, bool simd) {
  const ptrdiff_t ss = src.stride[0];
  const int pairs = dst.width / 2;
  for (int y = 0; y + 1 < dst.height; y += 2) {
    const uint8_t* s0 = src.planes[0].data() + y * ss;
    const uint8_t* s1 = s0 + ss;
    uint8_t* y0 = dst.data[0] + static_cast<ptrdiff_t>(y) * dst.linesize[0];
    uint8_t* y1 = y0 + dst.linesize[0];
    uint8_t* u = dst.data[1] + static_cast<ptrdiff_t>(y / 2) * dst.linesize[1];
    uint8_t* v = dst.data[2] + static_cast<ptrdiff_t>(y / 2) * dst.linesize[2];
    int i = simd ? UnpackRows420Ssse3(s0, s1, y0, y1, u, v, pairs) : 0;
    for (s0 += 6 * i, s1 += 6 * i; i < pairs; ++i, s0 += 6, s1 += 6) {
      y0[2 * i] = s0[0];
      y0[2 * i + 1] = s0[3];
      y1[2 * i] = s1[0];
      y1[2 * i + 1] = s1[3];
      u[i] = static_cast<uint8_t>((s0[1] + s0[4] + s1[1] + s1[4] + 2) >> 2);
      v[i] = static_cast<uint8_t>((s0[2] + s0[5] + s1[2] + s1[5] + 2) >> 2);
    }
  }
}

void Unpack444(const VideoImage& src, const PlanarPicture& dst) {
  for (int y = 0; y < dst.height; ++y) {
    const uint8_t* s = src.planes[0].data() + static_cast<ptrdiff_t>(y) * src.stride[0];
    uint8_t* py = dst.data[0] + static_cast<ptrdiff_t>(y) * dst.linesize[0];
    uint8_t* pu = dst.data[1] + static_cast<ptrdiff_t>(y) * dst.linesize[1];
    uint8_t* pv = dst.data[2] + static_cast<ptrdiff_t>(y) * dst.linesize[2];
    for (int x = 0; x < dst.width; ++x, s += 3) {
      py[x] = s[0];
      pu[x] = s[1];
      pv[x] = s[2];
    }
  }
}
}  // namespace

void UnpackYuv(const VideoImage& src, const PlanarPicture& dst, bool simd) {
  if (dst.chroma_halved) {
    Unpack420(src, dst, simd && kHasSsse3);
  } else {
    Unpack444(src, dst);
  }
}

}  // namespace stereospot::media
