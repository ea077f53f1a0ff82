// Internal pixel operations on VideoImage used by the frame pipeline (not part of the API).
#pragma once

#include <cstdint>

#include "media/frame_pipeline.h"

namespace stereospot::media {

// Writes `src` turned `cw_degrees` clockwise (0, 90, 180 or 270) into `dst`.
void RotateImage(const VideoImage& src, int cw_degrees, VideoImage* dst);

// Borrowed planes of an 8-bit Y Cb Cr picture (an AVFrame's data and linesize), width x height
// luma samples; chroma planes are 4:2:0 (halved both ways, sizes rounded up) or 4:4:4.
struct PlanarPicture {
  uint8_t* const* data = nullptr;
  const int* linesize = nullptr;
  int width = 0;
  int height = 0;
  bool chroma_halved = false;  // 4:2:0, else 4:4:4
};

// `simd` = false keeps to the scalar rows (tests compare the two; both give the same bytes).

// Interleaves `src` into a kYuvPacked image of its size (PixelLayout::kYuvPacked: a 4:2:0
// chroma sample is repeated over its 2x2 block). No colour conversion.
void PackYuv(const PlanarPicture& src, VideoImage* dst, bool simd = true);

// Writes the kYuvPacked `src` into the planes of dst.width x dst.height (at most src's size).
// 4:2:0 (both sizes even): luma copied, each chroma sample the rounded mean of its 2x2 block, so
// PackYuv followed by UnpackYuv gives a 4:2:0 picture back exactly. 4:4:4: de-interleaved.
void UnpackYuv(const VideoImage& src, const PlanarPicture& dst, bool simd = true);

}  // namespace stereospot::media
