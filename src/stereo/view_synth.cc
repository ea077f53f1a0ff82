#include "stereo/view_synth.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include <opencv2/imgproc.hpp>

#if defined(__x86_64__) || defined(__i386__)
#define STEREOSPOT_VIEW_SYNTH_X86 1
#include <immintrin.h>
#endif

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
  const float above = s > -limit ? s : -limit;  // NaN fails the test
  const float c = above < limit ? above : limit;
  return static_cast<int32_t>(c * static_cast<float>(kOne));
}

inline int CeilPixel(int32_t t) { return (t + kOne - 1) >> kFrac; }  // arithmetic shift: floor

// The three bytes of a pixel in lanes of one word at bits 0 (byte 0), 16 (byte 2) and 40
// (byte 1), so one multiply blends all channels (a lane holds at most 255 * 256 + 128 < 1 << 16,
// so lanes never carry into each other) and packing back takes one shift.
inline uint64_t Spread(const uint8_t* c) {
  return c[0] | (static_cast<uint64_t>(c[2]) << 16) | (static_cast<uint64_t>(c[1]) << 40);
}
constexpr uint64_t kLanes = 0x0000FF0000FF00FFULL;
// (a * (256 - w8) + b * w8) / 256 rounded, per lane, in spread form.
inline uint64_t Blend(uint64_t a, uint64_t b, int w8) {
  constexpr uint64_t kHalf = 0x0000800000800080ULL;
  return ((a * static_cast<uint64_t>(kOne - w8) + b * static_cast<uint64_t>(w8) + kHalf) >> kFrac) &
         kLanes;
}
// A spread pixel as three bytes in the low bytes of a word (little-endian memory order).
static_assert(std::endian::native == std::endian::little, "StoreRow writes words");
inline uint32_t Pack(uint64_t v) { return static_cast<uint32_t>(v | (v >> 32)); }
inline void BlendSpread(uint64_t a, uint64_t b, int w8, uint8_t* o) {
  const uint32_t v = Pack(Blend(a, b, w8));
  o[0] = static_cast<uint8_t>(v);
  o[1] = static_cast<uint8_t>(v >> 8);
  o[2] = static_cast<uint8_t>(v >> 16);
}

// Fills the pixels of one row that no segment covered. Each run of empty pixels takes the colour
// of whichever neighbour is farther (smaller shift): a disocclusion exposes background, and the
// foreground edge must not be smeared into it. On a tie the neighbour with the smaller column
// wins: the one before the run, or after it in mirrored (left eye) order.
template <bool kMirror, typename Pixel>
void FillHoles(const Pixel* src_row, Pixel* buf, int32_t* z, int w) {
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
      const bool before = kMirror ? z[begin - 1] < z[end] : z[begin - 1] <= z[end];
      from = before ? begin - 1 : end;
    } else if (begin > 0) {
      from = begin - 1;
    } else if (end < w) {
      from = end;
    }
    for (int p = begin; p < end; ++p) {
      // A row with no covered pixel at all keeps the source pixel.
      buf[p] = from >= 0 ? buf[from] : src_row[kMirror ? w - 1 - p : p];
      z[p] = from >= 0 ? z[from] : 0;
    }
  }
}

// Writes a splatted row (u order) as 3-byte pixels in column order.
template <bool kMirror>
void StoreRow(const uint64_t* buf, int w, uint8_t* dst) {
  // Four-byte stores overlap the next pixel, which is written right after; the last pixel is
  // stored on its own so nothing past the row is touched.
  for (int x = 0; x < w - 1; ++x) {
    const uint32_t p = Pack(buf[kMirror ? w - 1 - x : x]);
    std::memcpy(dst + 3 * x, &p, 4);
  }
  const uint32_t last = Pack(buf[kMirror ? 0 : w - 1]);
  dst[3 * (w - 1) + 0] = static_cast<uint8_t>(last);
  dst[3 * (w - 1) + 1] = static_cast<uint8_t>(last >> 8);
  dst[3 * (w - 1) + 2] = static_cast<uint8_t>(last >> 16);
}

// Stores pixel p (u order) of a row as 3 bytes.
template <bool kMirror>
inline void Put3(uint8_t* dst, int w, int p, uint32_t packed) {
  uint8_t* o = dst + 3 * (kMirror ? w - 1 - p : p);
  o[0] = static_cast<uint8_t>(packed);
  o[1] = static_cast<uint8_t>(packed >> 8);
  o[2] = static_cast<uint8_t>(packed >> 16);
}

// A row without folds or gaps, straight into dst (w 3-byte pixels in column order): segment u - 1
// .. u covers output pixels [c[u - 1], c[u]), so the run [c[0], c[w - 1]) is written once, in
// scan order; then the half pixels the end pixels own ([begin, c[0]) and [c[w - 1], end)) and
// the rest of the row, which extends the run. Four-byte stores overlap the pixel written next in
// scan order (the next column for the right eye, the previous for the left); the pixel after the
// run's end is rewritten by the end fills, and no store leaves the row.
template <bool kMirror>
void SplatSmoothRow(const uint64_t* v, const int32_t* t, const int32_t* c, int begin, int end,
                    int w, uint8_t* dst) {
  const int32_t* recip = GetReciprocals().of;
  const uint64_t* vu = kMirror ? v + w - 1 : v;  // source pixel u is vu[step * u]
  const ptrdiff_t step = kMirror ? -1 : 1;
  const auto put = [dst, w](int p, uint64_t spread) {
    const uint32_t packed = Pack(spread);
    if (kMirror) {
      const int q = w - 1 - p;
      if (q > 0) {
        const uint32_t word = packed << 8;
        std::memcpy(dst + 3 * q - 1, &word, 4);
        return;
      }
    } else if (p < w - 1) {
      std::memcpy(dst + 3 * p, &packed, 4);
      return;
    }
    Put3<kMirror>(dst, w, p, packed);
  };
  uint64_t v0 = vu[0];
  for (int u = 1; u < w; ++u) {
    const uint64_t v1 = vu[step * u];
    const int c0 = c[u - 1], c1 = c[u];
    if (c0 < c1) {
      // At most two pixels (span <= 2 px), usually one; p - t0 < span, so the weight's product
      // stays below 1 << 24.
      const int32_t t0 = t[u - 1];
      const int32_t r = recip[t[u] - t0];
      put(c0, Blend(v0, v1, ((c0 * kOne - t0) * r) >> 16));
      if (c0 + 1 < c1) put(c0 + 1, Blend(v0, v1, ((c0 * kOne + kOne - t0) * r) >> 16));
    }
    v0 = v1;
  }
  const uint32_t first = Pack(vu[0]), last = Pack(vu[step * (w - 1)]);
  for (int p = begin; p < c[0]; ++p) Put3<kMirror>(dst, w, p, first);
  for (int p = c[w - 1]; p < end; ++p) Put3<kMirror>(dst, w, p, last);
  uint32_t edge;
  const uint8_t* e = dst + 3 * (kMirror ? w - 1 - begin : begin);
  edge = e[0] | (static_cast<uint32_t>(e[1]) << 8) | (static_cast<uint32_t>(e[2]) << 16);
  for (int p = 0; p < begin; ++p) Put3<kMirror>(dst, w, p, edge);
  e = dst + 3 * (kMirror ? w - end : end - 1);
  edge = e[0] | (static_cast<uint32_t>(e[1]) << 8) | (static_cast<uint32_t>(e[2]) << 16);
  for (int p = end; p < w; ++p) Put3<kMirror>(dst, w, p, edge);
}

// Fills t (landing positions) and c (the first output pixel at or after each, clamped to the
// row) of a row in scan order, in loops the compiler vectorises: segment u - 1 .. u covers output
// pixels [c[u - 1], c[u]). Returns whether the row is smooth: neither a fold nor a gap, so all
// segments chain into one run of output pixels, which needs no per-pixel shift (z) to find its
// ends or to fill holes (most rows).
template <bool kMirror>
inline bool PlaceRow(const int32_t* s, int32_t* t, int32_t* c, int w) {
  const int32_t lo = -kMargin * kOne, hi = (w + kMargin) * kOne;
  for (int u = 0; u < w; ++u) {
    t[u] = std::min(std::max(u * kOne - s[kMirror ? w - 1 - u : u], lo), hi);
  }
  for (int u = 0; u < w; ++u) c[u] = std::min(std::max(CeilPixel(t[u]), 0), w);
  // (span - 1) >> 9 is zero exactly for spans in [1, kMaxSpan]: a reduction that vectorises.
  static_assert(kMaxSpan == 1 << 9);
  uint32_t out_of_range = 0;
  for (int u = 1; u < w; ++u) out_of_range |= static_cast<uint32_t>(t[u] - t[u - 1] - 1) >> 9;
  return out_of_range == 0;
}

// Scalar Blend on packed pixels (bytes 0-2), with any weight (a weight outside [0, 256] gives a
// meaningless pixel without undefined behaviour).
inline uint32_t BlendPacked(uint32_t a, uint32_t b, int w8) {
  const auto spread = [](uint32_t p) {
    return (p & 0xFF) | (static_cast<uint64_t>((p >> 16) & 0xFF) << 16) |
           (static_cast<uint64_t>((p >> 8) & 0xFF) << 40);
  };
  return Pack(Blend(spread(a), spread(b), w8));
}

#if defined(STEREOSPOT_VIEW_SYNTH_X86)
// The SSE4.1 splat (runtime dispatch: the binary still runs on any x86-64). Same arithmetic and
// write order as SplatRow, so its output is bit-identical; the difference is the order of work.
// For every segment u - 1 .. u a vector pass blends both output pixels it may cover (c[u - 1] and
// c[u - 1] + 1) and their shifts, four segments at a time from contiguous inputs. A scalar pass
// then stores the candidates a segment does cover, in increasing u as SplatRow does. Pixels are
// packed (bytes 0-2 of a word) rather than spread.
#define STEREOSPOT_SSE41 __attribute__((target("sse4.1")))

STEREOSPOT_SSE41 inline __m128i Load(const void* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(p));
}
STEREOSPOT_SSE41 inline void Store(void* p, __m128i x) {
  _mm_storeu_si128(static_cast<__m128i*>(p), x);
}

// Elements u - 1 .. u + 2 (*first) and u .. u + 3 (*second) in scan order of a row held in
// column order. REQUIRES: 1 <= u, u + 3 < w.
template <bool kMirror, typename T>
STEREOSPOT_SSE41 inline void LoadPairs(const T* row, int w, int u, __m128i* first,
                                       __m128i* second) {
  if (kMirror) {
    *first = _mm_shuffle_epi32(Load(row + (w - u - 3)), 0x1B);
    *second = _mm_shuffle_epi32(Load(row + (w - u - 4)), 0x1B);
  } else {
    *first = Load(row + u - 1);
    *second = Load(row + u);
  }
}

// Blend of two channel vectors in 16-bit lanes: a * (256 - w8) + b * w8 + 128 equals
// a * 256 + (b - a) * w8 + 128, which lies in [0, 255 * 256 + 128], so the same value modulo
// 1 << 16 gives Blend's result exactly.
STEREOSPOT_SSE41 inline __m128i BlendLanes(__m128i a16, __m128i b16, __m128i w8) {
  const __m128i d = _mm_mullo_epi16(_mm_sub_epi16(b16, a16), w8);
  const __m128i sum = _mm_add_epi16(_mm_slli_epi16(a16, kFrac), d);
  return _mm_srli_epi16(_mm_add_epi16(sum, _mm_set1_epi16(kOne / 2)), kFrac);
}
// Blend of four pairs of packed pixels with four 32-bit weights.
STEREOSPOT_SSE41 inline __m128i Blend4(__m128i a, __m128i b, __m128i w32) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i w16 = _mm_packus_epi32(w32, w32);  // w0 w1 w2 w3 w0 w1 w2 w3
  const __m128i w2 = _mm_unpacklo_epi16(w16, w16);
  const __m128i wlo = _mm_unpacklo_epi32(w2, w2);  // pixel 0's weight x4, pixel 1's x4
  const __m128i whi = _mm_unpackhi_epi32(w2, w2);
  const __m128i lo = BlendLanes(_mm_unpacklo_epi8(a, zero), _mm_unpacklo_epi8(b, zero), wlo);
  const __m128i hi = BlendLanes(_mm_unpackhi_epi8(a, zero), _mm_unpackhi_epi8(b, zero), whi);
  return _mm_packus_epi16(lo, hi);
}

// Packs a row of w 3-byte pixels into words (bytes 0-2), column order.
STEREOSPOT_SSE41 void PackRowSse41(const uint8_t* src, int w, uint32_t* v32) {
  const __m128i spread = _mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1);
  int x = 0;
  for (; x + 6 <= w; x += 4) Store(v32 + x, _mm_shuffle_epi8(Load(src + 3 * x), spread));
  for (; x < w; ++x) {
    const uint8_t* p = src + 3 * x;
    v32[x] = p[0] | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16);
  }
}

// Writes out (w packed pixels in u order) to dst as 3-byte pixels in column order, four a store;
// each store's last four bytes are rewritten by the next store or the tail.
template <bool kMirror>
STEREOSPOT_SSE41 void StorePackedSse41(const uint32_t* out, int w, uint8_t* dst) {
  const __m128i squeeze =
      kMirror ? _mm_setr_epi8(12, 13, 14, 8, 9, 10, 4, 5, 6, 0, 1, 2, -1, -1, -1, -1)
              : _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
  int x = 0;
  for (; x + 6 <= w; x += 4) {
    Store(dst + 3 * x, _mm_shuffle_epi8(Load(out + (kMirror ? w - 4 - x : x)), squeeze));
  }
  for (; x < w; ++x) Put3<false>(dst, w, x, out[kMirror ? w - 1 - x : x]);
}

// Candidates of every segment u - 1 .. u (u in [1, w)): pa[u] and pb[u] the blended pixels at
// c[u - 1] and c[u - 1] + 1 and, with kDepth, za[u] and zb[u] their shifts (SplatRow's z). A
// candidate outside the segment, or of a fold or a gap, is meaningless.
template <bool kMirror, bool kDepth>
STEREOSPOT_SSE41 void CandidatesSse41(const int32_t* s, const uint32_t* v32, const int32_t* t,
                                      const int32_t* c, int w, uint32_t* pa, uint32_t* pb,
                                      int32_t* za, int32_t* zb, int u_begin = 1) {
  const int32_t* recip = GetReciprocals().of;
  // Spans outside [1, kMaxSpan] (folds, gaps) are folded into the table's range: span = k + 1.
  const int32_t* r1 = recip + 1;
  const __m128i k_mask = _mm_set1_epi32(kMaxSpan - 1);
  int u = u_begin;
  for (; u + 3 < w; u += 4) {
    const __m128i t0 = Load(t + u - 1);
    const __m128i x = _mm_sub_epi32(_mm_slli_epi32(Load(c + u - 1), kFrac), t0);
    const __m128i k =
        _mm_and_si128(_mm_sub_epi32(_mm_sub_epi32(Load(t + u), t0), _mm_set1_epi32(1)), k_mask);
    const __m128i rr = _mm_setr_epi32(r1[_mm_cvtsi128_si32(k)], r1[_mm_extract_epi32(k, 1)],
                                      r1[_mm_extract_epi32(k, 2)], r1[_mm_extract_epi32(k, 3)]);
    // A covered pixel has 0 <= x < span, so x * r < 1 << 24; other products may wrap (unsigned).
    const __m128i wa = _mm_srli_epi32(_mm_mullo_epi32(x, rr), 16);
    const __m128i wb =
        _mm_srli_epi32(_mm_mullo_epi32(_mm_add_epi32(x, _mm_set1_epi32(kOne)), rr), 16);
    __m128i a, b;
    LoadPairs<kMirror>(v32, w, u, &a, &b);
    Store(pa + u, Blend4(a, b, wa));
    Store(pb + u, Blend4(a, b, wb));
    if (kDepth) {
      __m128i s0, s1;
      LoadPairs<kMirror>(s, w, u, &s0, &s1);
      const __m128i ds = _mm_sub_epi32(s1, s0);
      Store(za + u, _mm_add_epi32(s0, _mm_srai_epi32(_mm_mullo_epi32(ds, wa), kFrac)));
      Store(zb + u, _mm_add_epi32(s0, _mm_srai_epi32(_mm_mullo_epi32(ds, wb), kFrac)));
    }
  }
  const auto col = [w](int i) { return kMirror ? w - 1 - i : i; };
  for (; u < w; ++u) {
    // Unsigned products wrap like the vector lanes for meaningless candidates.
    const uint32_t x = static_cast<uint32_t>(c[u - 1] * kOne - t[u - 1]);
    const uint32_t rr = static_cast<uint32_t>(r1[(t[u] - t[u - 1] - 1) & (kMaxSpan - 1)]);
    const int wa = static_cast<int>((x * rr) >> 16);
    const int wb = static_cast<int>(((x + kOne) * rr) >> 16);
    const uint32_t a = v32[col(u - 1)], b = v32[col(u)];
    pa[u] = BlendPacked(a, b, wa);
    pb[u] = BlendPacked(a, b, wb);
    if (kDepth) {
      const int32_t s0 = s[col(u - 1)];
      const uint32_t ds = static_cast<uint32_t>(s[col(u)] - s0);
      za[u] = s0 + (static_cast<int32_t>(ds * static_cast<uint32_t>(wa)) >> kFrac);
      zb[u] = s0 + (static_cast<int32_t>(ds * static_cast<uint32_t>(wb)) >> kFrac);
    }
  }
}

// The AVX2 layer (eight segments at a time) for the two vectorised passes; the rest of the row
// is SSE4.1. Same arithmetic lane for lane: unpacking and packing work within 128-bit halves, so
// each half is exactly the SSE4.1 computation.
#define STEREOSPOT_AVX2 __attribute__((target("avx2")))

STEREOSPOT_AVX2 inline __m256i Load8(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
STEREOSPOT_AVX2 inline void Store8(void* p, __m256i x) {
  _mm256_storeu_si256(static_cast<__m256i*>(p), x);
}

// LoadPairs for eight elements. REQUIRES: 1 <= u, u + 7 < w.
template <bool kMirror, typename T>
STEREOSPOT_AVX2 inline void LoadPairs8(const T* row, int w, int u, __m256i* first,
                                       __m256i* second) {
  if (kMirror) {
    const __m256i reverse = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    *first = _mm256_permutevar8x32_epi32(Load8(row + (w - u - 7)), reverse);
    *second = _mm256_permutevar8x32_epi32(Load8(row + (w - u - 8)), reverse);
  } else {
    *first = Load8(row + u - 1);
    *second = Load8(row + u);
  }
}

STEREOSPOT_AVX2 inline __m256i BlendLanes8(__m256i a16, __m256i b16, __m256i w8) {
  const __m256i d = _mm256_mullo_epi16(_mm256_sub_epi16(b16, a16), w8);
  const __m256i sum = _mm256_add_epi16(_mm256_slli_epi16(a16, kFrac), d);
  return _mm256_srli_epi16(_mm256_add_epi16(sum, _mm256_set1_epi16(kOne / 2)), kFrac);
}
STEREOSPOT_AVX2 inline __m256i Blend8(__m256i a, __m256i b, __m256i w32) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i w16 = _mm256_packus_epi32(w32, w32);
  const __m256i w2 = _mm256_unpacklo_epi16(w16, w16);
  const __m256i wlo = _mm256_unpacklo_epi32(w2, w2);
  const __m256i whi = _mm256_unpackhi_epi32(w2, w2);
  const __m256i lo = BlendLanes8(_mm256_unpacklo_epi8(a, zero), _mm256_unpacklo_epi8(b, zero), wlo);
  const __m256i hi = BlendLanes8(_mm256_unpackhi_epi8(a, zero), _mm256_unpackhi_epi8(b, zero), whi);
  return _mm256_packus_epi16(lo, hi);
}

template <bool kMirror>
STEREOSPOT_AVX2 bool PlaceRowAvx2(const int32_t* s, int32_t* t, int32_t* c, int w) {
  return PlaceRow<kMirror>(s, t, c, w);
}

// CandidatesSse41 eight segments at a time; the last few go to CandidatesSse41.
template <bool kMirror, bool kDepth>
STEREOSPOT_AVX2 void CandidatesAvx2(const int32_t* s, const uint32_t* v32, const int32_t* t,
                                    const int32_t* c, int w, uint32_t* pa, uint32_t* pb,
                                    int32_t* za, int32_t* zb) {
  const int* r1 = GetReciprocals().of + 1;  // span = k + 1
  const __m256i k_mask = _mm256_set1_epi32(kMaxSpan - 1);
  int u = 1;
  for (; u + 7 < w; u += 8) {
    const __m256i t0 = Load8(t + u - 1);
    const __m256i x = _mm256_sub_epi32(_mm256_slli_epi32(Load8(c + u - 1), kFrac), t0);
    const __m256i k = _mm256_and_si256(
        _mm256_sub_epi32(_mm256_sub_epi32(Load8(t + u), t0), _mm256_set1_epi32(1)), k_mask);
    const __m256i rr = _mm256_i32gather_epi32(r1, k, 4);
    const __m256i wa = _mm256_srli_epi32(_mm256_mullo_epi32(x, rr), 16);
    const __m256i wb =
        _mm256_srli_epi32(_mm256_mullo_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(kOne)), rr), 16);
    __m256i a, b;
    LoadPairs8<kMirror>(v32, w, u, &a, &b);
    Store8(pa + u, Blend8(a, b, wa));
    Store8(pb + u, Blend8(a, b, wb));
    if (kDepth) {
      __m256i s0, s1;
      LoadPairs8<kMirror>(s, w, u, &s0, &s1);
      const __m256i ds = _mm256_sub_epi32(s1, s0);
      Store8(za + u, _mm256_add_epi32(s0, _mm256_srai_epi32(_mm256_mullo_epi32(ds, wa), kFrac)));
      Store8(zb + u, _mm256_add_epi32(s0, _mm256_srai_epi32(_mm256_mullo_epi32(ds, wb), kFrac)));
    }
  }
  CandidatesSse41<kMirror, kDepth>(s, v32, t, c, w, pa, pb, za, zb, u);
}

// Scratch rows of SplatRowSse41.
struct SimdRows {
  const int32_t* s;   // fixed-point shifts, column order
  const uint32_t* v;  // packed source pixels, column order
  int32_t* t;         // landing positions, scan order
  int32_t* c;         // first output pixel of each landing position
  uint32_t* pa;       // candidates (see CandidatesSse41)
  uint32_t* pb;
  int32_t* za;
  int32_t* zb;
  uint32_t* out;  // output pixels in scan order, w + 2 (the last is scratch)
  int32_t* z;     // shift of each output pixel, w + 2 (the last is scratch)
};

// SplatRow with SSE4.1 (see above); `rows` as described in SimdRows.
template <bool kMirror, bool kAvx2>
STEREOSPOT_SSE41 void SplatRowSse41(const SimdRows& rows, int w, uint8_t* dst) {
  const int32_t* s = rows.s;
  const uint32_t* v = rows.v;
  const int32_t* t = rows.t;
  const int32_t* c = rows.c;
  const uint32_t* pa = rows.pa;
  const uint32_t* pb = rows.pb;
  uint32_t* out = rows.out;
  int32_t* z = rows.z;
  const auto col = [w](int u) { return kMirror ? w - 1 - u : u; };
  const bool smooth =
      kAvx2 ? PlaceRowAvx2<kMirror>(s, rows.t, rows.c, w) : PlaceRow<kMirror>(s, rows.t, rows.c, w);
  const int begin0 = std::min(std::max(CeilPixel(t[0] - kOne / 2), 0), w);
  const int end0 = std::min(std::max(CeilPixel(t[w - 1] + kOne / 2), 0), w);
  if (smooth && begin0 < end0) {
    // SplatSmoothRow. Segments span at most two output pixels and c never decreases, so storing
    // both candidates of every segment in increasing u leaves at each pixel of the run
    // [c[0], c[w - 1]) the candidate of the segment covering it; a candidate past the run (at
    // c[w - 1], w + 1 at most) is rewritten by the end fills or lies in the scratch.
    if (kAvx2) {
      CandidatesAvx2<kMirror, false>(s, v, t, c, w, rows.pa, rows.pb, nullptr, nullptr);
    } else {
      CandidatesSse41<kMirror, false>(s, v, t, c, w, rows.pa, rows.pb, nullptr, nullptr);
    }
    // Both candidates in one eight-byte store (little-endian: pa first).
    for (int u = 1; u < w; ++u) {
      const uint64_t pair = pa[u] | (static_cast<uint64_t>(pb[u]) << 32);
      std::memcpy(out + c[u - 1], &pair, sizeof(pair));
    }
    std::fill(out + begin0, out + c[0], v[col(0)]);
    std::fill(out + c[w - 1], out + end0, v[col(w - 1)]);
    std::fill(out, out + begin0, out[begin0]);
    std::fill(out + end0, out + w, out[end0 - 1]);
    StorePackedSse41<kMirror>(out, w, dst);
    return;
  }
  if (kAvx2) {
    CandidatesAvx2<kMirror, true>(s, v, t, c, w, rows.pa, rows.pb, rows.za, rows.zb);
  } else {
    CandidatesSse41<kMirror, true>(s, v, t, c, w, rows.pa, rows.pb, rows.za, rows.zb);
  }
  const int32_t* za = rows.za;
  const int32_t* zb = rows.zb;
  const int scratch = w + 1;
  const auto cover = [&](int32_t from, int32_t to, uint32_t colour, int32_t sh) {
    const int p1 = std::min(CeilPixel(to), w);
    for (int p = std::max(CeilPixel(from), 0); p < p1; ++p) {
      out[p] = colour;
      z[p] = sh;
    }
  };
  std::fill(z, z + w, kEmpty);
  bool broken = false;
  cover(t[0] - kOne / 2, t[0], v[col(0)], s[col(0)]);
  for (int u = 1; u < w; ++u) {
    const int32_t t0 = t[u - 1], t1 = t[u];
    const int c0 = c[u - 1], c1 = c[u];
    if (static_cast<uint32_t>(t1 - t0 - 1) < static_cast<uint32_t>(kMaxSpan)) [[likely]] {
      // What SplatRow writes, without branches: a candidate the segment does not cover goes to
      // the scratch entry.
      const int ia = c0 < c1 ? c0 : scratch;
      const int ib = c0 + 1 < c1 ? c0 + 1 : scratch;
      out[ia] = pa[u];
      z[ia] = za[u];
      out[ib] = pb[u];
      z[ib] = zb[u];
    } else {
      cover(t0, t0 + kOne / 2, v[col(u - 1)], s[col(u - 1)]);
      cover(t1 - kOne / 2, t1, v[col(u)], s[col(u)]);
      broken = true;
    }
  }
  cover(t[w - 1], t[w - 1] + kOne / 2, v[col(w - 1)], s[col(w - 1)]);
  int begin = 0, end = w;
  if (!broken) {
    while (begin < w && z[begin] == kEmpty) ++begin;
    while (end > begin && z[end - 1] == kEmpty) --end;
  }
  if (broken || begin == end) {
    FillHoles<kMirror>(v, out, z, w);
  } else {
    std::fill(out, out + begin, out[begin]);
    std::fill(out + end, out + w, out[end - 1]);
  }
  StorePackedSse41<kMirror>(out, w, dst);
}

SimdLevel CpuSimdLevel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return SimdLevel::kAvx2;
  if (__builtin_cpu_supports("sse4.1")) return SimdLevel::kSse41;
  return SimdLevel::kScalar;
}
#else
SimdLevel CpuSimdLevel() { return SimdLevel::kScalar; }
#endif

// Forward-maps one row into `buf` (w + 1 spread pixels; the last is scratch) with `z` (w + 1
// entries). In "u" coordinates (u = x for the right eye, u = w - 1 - x for the left) source
// pixel u lands at u - shift, and the row is scanned in increasing u: the direction the eye
// moves. `buf` and `z` are in u order. `s` holds the fixed-point shifts and `v` the spread
// pixels of the source row, in column order.
template <bool kMirror>
void SplatRow(const int32_t* s, const uint64_t* v, int32_t* t, int32_t* c, uint64_t* buf,
              int32_t* z, int w, uint8_t* dst) {
  const auto col = [w](int u) { return kMirror ? w - 1 - u : u; };
  const int32_t* recip = GetReciprocals().of;
  // A source pixel covers half a pixel either side of where it lands: a surface that ends at a
  // gap, a fold or the row's end still owns the output pixels within that half pixel.
  const auto cover = [&](int32_t from, int32_t to, uint64_t colour, int32_t sh) {
    const int p1 = std::min(CeilPixel(to), w);
    for (int p = std::max(CeilPixel(from), 0); p < p1; ++p) {
      buf[p] = colour;
      z[p] = sh;
    }
  };
  const bool smooth = PlaceRow<kMirror>(s, t, c, w);
  const int run_begin = std::min(std::max(CeilPixel(t[0] - kOne / 2), 0), w);
  const int run_end = std::min(std::max(CeilPixel(t[w - 1] + kOne / 2), 0), w);
  if (smooth && run_begin < run_end) {
    SplatSmoothRow<kMirror>(v, t, c, run_begin, run_end, w, dst);
    return;
  }
  std::fill(z, z + w, kEmpty);
  int32_t s0 = s[col(0)];
  int32_t t0 = t[0];
  int c0 = c[0];
  bool broken = false;  // a fold or a gap happened: holes may be anywhere in the row
  uint64_t v0 = v[col(0)];
  cover(t0 - kOne / 2, t0, v0, s0);
  for (int u = 1; u < w; ++u) {
    const int32_t s1 = s[col(u)];
    const int32_t t1 = t[u];
    const int c1 = c[u];
    const uint64_t v1 = v[col(u)];
    const int32_t span = t1 - t0;
    if (static_cast<uint32_t>(span - 1) < static_cast<uint32_t>(kMaxSpan)) [[likely]] {
      // At most two pixels (span <= 2 px), usually one; p - t0 < span, so the weight's product
      // stays below 1 << 24.
      if (c0 < c1) {
        const int32_t r = recip[span];
        const int32_t ds = s1 - s0;
        const int w8 = ((c0 * kOne - t0) * r) >> 16;
        buf[c0] = Blend(v0, v1, w8);
        z[c0] = s0 + ((ds * w8) >> kFrac);
        if (c0 + 1 < c1) {
          const int w8b = ((c0 * kOne + kOne - t0) * r) >> 16;
          buf[c0 + 1] = Blend(v0, v1, w8b);
          z[c0 + 1] = s0 + ((ds * w8b) >> kFrac);
        }
      }
    } else {
      // span <= 0 is a fold: a nearer surface starts and its own segments overwrite what it
      // hides, so the farther surface's end is drawn first. A long span is a disocclusion, left
      // empty for FillHoles.
      cover(t0, t0 + kOne / 2, v0, s0);
      cover(t1 - kOne / 2, t1, v1, s1);
      broken = true;
    }
    s0 = s1;
    t0 = t1;
    c0 = c1;
    v0 = v1;
  }
  cover(t0, t0 + kOne / 2, v0, s0);
  if (broken) {
    FillHoles<kMirror>(v, buf, z, w);
    StoreRow<kMirror>(buf, w, dst);
    return;
  }
  // An unbroken row covers one contiguous run of output pixels, so only its two ends can be
  // empty: extend the run's end pixels instead of scanning the whole row.
  int begin = 0;
  while (begin < w && z[begin] == kEmpty) ++begin;
  int end = w;
  while (end > begin && z[end - 1] == kEmpty) --end;
  if (begin == end) {
    FillHoles<kMirror>(v, buf, z, w);
    StoreRow<kMirror>(buf, w, dst);
    return;
  }
  std::fill(buf, buf + begin, buf[begin]);
  std::fill(buf + end, buf + w, buf[end - 1]);
  StoreRow<kMirror>(buf, w, dst);
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

ViewSynthesizer::ViewSynthesizer() : simd_supported_(CpuSimdLevel()), simd_(simd_supported_) {}

void ViewSynthesizer::set_simd_for_testing(SimdLevel level) {
  simd_ = std::min(level, simd_supported_);
}

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

void ViewSynthesizer::PrepareRow(const uint8_t* src, const float* shift, int width) {
  const size_t n = static_cast<size_t>(width);
  if (row_s_.size() != n) {
    row_s_.resize(n);
    row_v_.resize(n);
    row_t_.resize(n);
    row_c_.resize(n);
    row_buf_.resize(n + 1);
    row_z_.resize(n + 2);
    row_v32_.resize(n);
    row_pa_.resize(n);
    row_pb_.resize(n);
    row_za_.resize(n);
    row_zb_.resize(n);
    row_out_.resize(n + 2);
  }
  const float limit = static_cast<float>(width + kMargin);
  int32_t* s = row_s_.data();
  uint64_t* v = row_v_.data();
  for (int x = 0; x < width; ++x) s[x] = ToFixed(shift[x], limit);
#if defined(STEREOSPOT_VIEW_SYNTH_X86)
  if (simd_ != SimdLevel::kScalar) {
    PackRowSse41(src, width, row_v32_.data());
    return;
  }
#endif
  for (int x = 0; x < width; ++x) v[x] = Spread(src + 3 * x);
}

void ViewSynthesizer::SplatPrepared(int width, Eye eye, uint8_t* dst) {
#if defined(STEREOSPOT_VIEW_SYNTH_X86)
  if (simd_ != SimdLevel::kScalar) {
    const SimdRows rows{row_s_.data(),   row_v32_.data(), row_t_.data(),  row_c_.data(),
                        row_pa_.data(),  row_pb_.data(),  row_za_.data(), row_zb_.data(),
                        row_out_.data(), row_z_.data()};
    const bool avx2 = simd_ == SimdLevel::kAvx2;
    if (eye == Eye::kLeft) {
      (avx2 ? SplatRowSse41<true, true> : SplatRowSse41<true, false>)(rows, width, dst);
    } else {
      (avx2 ? SplatRowSse41<false, true> : SplatRowSse41<false, false>)(rows, width, dst);
    }
    return;
  }
#endif
  if (eye == Eye::kLeft) {
    SplatRow<true>(row_s_.data(), row_v_.data(), row_t_.data(), row_c_.data(), row_buf_.data(),
                   row_z_.data(), width, dst);
  } else {
    SplatRow<false>(row_s_.data(), row_v_.data(), row_t_.data(), row_c_.data(), row_buf_.data(),
                    row_z_.data(), width, dst);
  }
}

void ViewSynthesizer::RenderRow(const uint8_t* src, const float* shift, int width, Eye eye,
                                RenderMethod method, uint8_t* dst) {
  if (method == RenderMethod::kBackwardWarp) {
    BackwardRow(src, shift, dst, width, eye == Eye::kLeft ? -1.0f : 1.0f);
    return;
  }
  PrepareRow(src, shift, width);
  SplatPrepared(width, eye, dst);
}

void ViewSynthesizer::RenderRowPair(const uint8_t* src, const float* shift, int width,
                                    RenderMethod method, uint8_t* left, uint8_t* right) {
  if (method == RenderMethod::kBackwardWarp) {
    BackwardRow(src, shift, left, width, -1.0f);
    BackwardRow(src, shift, right, width, 1.0f);
    return;
  }
  PrepareRow(src, shift, width);
  SplatPrepared(width, Eye::kLeft, left);
  SplatPrepared(width, Eye::kRight, right);
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
