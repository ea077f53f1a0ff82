#include <cstring>

#include "media/frame_pipeline.h"
#include "media/video_image_ops.h"

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
  stride = {AlignUp(l == PixelLayout::kRgb24 ? w * 3 : w), 0, 0};
  if (l != PixelLayout::kRgb24) stride[1] = stride[2] = AlignUp(chroma_w);
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
  const int px = src.layout == PixelLayout::kRgb24 ? 3 : 1;
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

}  // namespace stereospot::media
