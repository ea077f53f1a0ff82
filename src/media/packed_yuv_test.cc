// PixelLayout::kYuvPacked (decoded Y Cb Cr handed out without a colour conversion) and tail
// decoding (DecodeOptions::tail_frames).
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <gtest/gtest.h>

#include "media/frame_pipeline.h"
#include "media/test_clips.h"
#include "media/video_image_ops.h"

namespace stereospot::media {
namespace {

using testing::Ffmpeg;
using testing::TempDir;

// Three planes of `width` x `height` luma (chroma halved or full), filled with a pattern that
// differs in every sample.
struct Planes {
  Planes(int width, int height, bool halved) : w(width), h(height), chroma_halved(halved) {
    const int cw = halved ? (w + 1) / 2 : w;
    const int ch = halved ? (h + 1) / 2 : h;
    size[0] = {w, h};
    size[1] = size[2] = {cw, ch};
    for (int p = 0; p < 3; ++p) {
      stride[p] = size[p][0] + 3;  // padded rows, as decoders make them
      bytes[p].assign(static_cast<size_t>(stride[p]) * size[p][1], 0);
      ptr[p] = bytes[p].data();
    }
  }
  void Fill() {
    for (int p = 0; p < 3; ++p) {
      for (int y = 0; y < size[p][1]; ++y) {
        for (int x = 0; x < size[p][0]; ++x) {
          bytes[p][static_cast<size_t>(y * stride[p] + x)] =
              static_cast<uint8_t>(16 + (37 * x + 91 * y + 53 * p) % 220);
        }
      }
    }
  }
  uint8_t At(int p, int x, int y) const { return bytes[p][static_cast<size_t>(y * stride[p] + x)]; }
  PlanarPicture Picture() { return PlanarPicture{ptr, stride, w, h, chroma_halved}; }

  int w, h;
  bool chroma_halved;
  std::array<std::array<int, 2>, 3> size{};
  std::vector<uint8_t> bytes[3];
  uint8_t* ptr[3] = {nullptr, nullptr, nullptr};
  int stride[3] = {0, 0, 0};
};

TEST(PackedYuvTest, PackRepeatsChromaAndUnpackGivesThe420PictureBack) {
  for (auto [w, h] : {std::pair{6, 4}, std::pair{7, 5}, std::pair{64, 2}}) {
    Planes src(w, h, true);
    src.Fill();
    VideoImage packed;
    PackYuv(src.Picture(), &packed);
    ASSERT_EQ(packed.layout, PixelLayout::kYuvPacked);
    ASSERT_EQ(packed.width, w);
    ASSERT_EQ(packed.plane_count(), 1);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const uint8_t* px = packed.planes[0].data() + y * packed.stride[0] + 3 * x;
        ASSERT_EQ(px[0], src.At(0, x, y)) << w << "x" << h << " at " << x << "," << y;
        ASSERT_EQ(px[1], src.At(1, x / 2, y / 2));
        ASSERT_EQ(px[2], src.At(2, x / 2, y / 2));
      }
    }
    // Encoders take even sizes: the even part comes back exactly.
    Planes back(w & ~1, h & ~1, true);
    UnpackYuv(packed, back.Picture());
    for (int p = 0; p < 3; ++p) {
      for (int y = 0; y < back.size[p][1]; ++y) {
        for (int x = 0; x < back.size[p][0]; ++x) {
          ASSERT_EQ(back.At(p, x, y), src.At(p, x, y)) << "plane " << p << " at " << x << "," << y;
        }
      }
    }
  }
}

// The vector rows (16 pixels at a time) and the scalar rows give the same bytes, at every width
// around the vector step, with samples across the whole byte range.
TEST(PackedYuvTest, VectorAndScalarRowsAgree) {
  uint32_t state = 12345;
  const auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<uint8_t>(state >> 24);
  };
  for (int w = 1; w <= 70; ++w) {
    Planes src(w, 4, true);
    for (auto& plane : src.bytes) {
      for (auto& b : plane) b = next();
    }
    VideoImage fast, slow;
    PackYuv(src.Picture(), &fast, /*simd=*/true);
    PackYuv(src.Picture(), &slow, /*simd=*/false);
    ASSERT_EQ(fast.planes[0], slow.planes[0]) << "pack, width " << w;
    if (w < 2) continue;
    // Unpack random packed pixels (not only packed 4:2:0 ones), so block means are exercised.
    for (auto& b : fast.planes[0]) b = next();
    Planes a(w & ~1, 4, true), b(w & ~1, 4, true);
    UnpackYuv(fast, a.Picture(), /*simd=*/true);
    UnpackYuv(fast, b.Picture(), /*simd=*/false);
    for (int p = 0; p < 3; ++p) ASSERT_EQ(a.bytes[p], b.bytes[p]) << "unpack, width " << w;
  }
}

TEST(PackedYuvTest, UnpackAveragesChromaBlocksAndKeeps444) {
  VideoImage packed;
  packed.Allocate(2, 2, PixelLayout::kYuvPacked);
  const uint8_t pixels[2][6] = {{10, 100, 200, 20, 101, 201}, {30, 102, 202, 40, 104, 205}};
  for (int y = 0; y < 2; ++y) {
    std::copy(pixels[y], pixels[y] + 6, packed.planes[0].data() + y * packed.stride[0]);
  }
  Planes four20(2, 2, true);
  UnpackYuv(packed, four20.Picture());
  EXPECT_EQ(four20.At(0, 1, 1), 40);
  EXPECT_EQ(four20.At(1, 0, 0), 102);  // (100 + 101 + 102 + 104 + 2) / 4
  EXPECT_EQ(four20.At(2, 0, 0), 202);  // (200 + 201 + 202 + 205 + 2) / 4
  Planes four44(2, 2, false);
  UnpackYuv(packed, four44.Picture());
  EXPECT_EQ(four44.At(1, 1, 1), 104);
  EXPECT_EQ(four44.At(2, 1, 0), 201);
  // And 4:4:4 planes pack back to the same image.
  VideoImage again;
  PackYuv(four44.Picture(), &again);
  for (int y = 0; y < 2; ++y) {
    EXPECT_TRUE(std::equal(pixels[y], pixels[y] + 6, again.planes[0].data() + y * again.stride[0]));
  }
}

ConvertOptions Fast(PixelLayout layout) {
  ConvertOptions opt;
  opt.layout = layout;
  opt.encode.preset = "ultrafast";
  opt.encode.threads = 2;
  return opt;
}

// FNV-1a of every decoded frame in planar 4:2:0.
std::vector<uint64_t> Digests(const std::string& path) {
  std::vector<uint64_t> out;
  DecodeOptions decode;
  decode.layout = PixelLayout::kYuv420p;
  auto n = DecodeFrames(path, decode, [&](const FrameInfo&, const VideoImage& img) {
    uint64_t h = 1469598103934665603ULL;
    for (int p = 0; p < 3; ++p) {
      for (uint8_t b : img.planes[p]) h = (h ^ b) * 1099511628211ULL;
    }
    out.push_back(h);
    return Status::OK();
  });
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return out;
}

// The packed layout is lossless for 4:2:0 sources: an identity callback encodes the very
// pictures the planar 4:2:0 layout does.
TEST(PackedYuvTest, IdentityEncodesTheSamePicturesAsPlanar420) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg("-i '" + testing::SharedClip("mdn_flower.mp4") + "' -an -t 1 -c copy " +
                     dir.File("in.mp4")));
  auto planar = ConvertSegment(dir.File("in.mp4"), dir.File("planar.mp4"),
                               Fast(PixelLayout::kYuv420p), IdentityCallback());
  ASSERT_TRUE(planar.ok()) << planar.status().ToString();
  int calls = 0;
  auto packed =
      ConvertSegment(dir.File("in.mp4"), dir.File("packed.mp4"), Fast(PixelLayout::kYuvPacked),
                     [&](const FrameInfo&, const VideoImage& in, VideoImage* out) {
                       EXPECT_EQ(in.layout, PixelLayout::kYuvPacked);
                       ++calls;
                       *out = in;
                       return Status::OK();
                     });
  ASSERT_TRUE(packed.ok()) << packed.status().ToString();
  EXPECT_EQ(calls, planar->frames_in);
  const auto expected = Digests(dir.File("planar.mp4"));
  EXPECT_EQ(expected.size(), static_cast<size_t>(planar->frames_in));
  EXPECT_EQ(Digests(dir.File("packed.mp4")), expected);
}

// Sources that are not 8-bit limited-range 4:2:0 (10-bit, full range) are converted to limited
// Y Cb Cr in their own matrix; encoders other than 8-bit 4:2:0 take the packed image too.
TEST(PackedYuvTest, TenBitAndFullRangeSourcesAndOtherEncoderFormats) {
  TempDir dir;
  ASSERT_TRUE(testing::MakeColourClips(dir));
  // 0x3366CC in limited-range Y Cb Cr: BT.709 for the first, BT.601 for the second.
  const struct {
    const char* name;
    int y, cb, cr;
    const char* pix_fmt;
  } cases[] = {{"ten.mp4", 101, 178, 101, "yuv444p"}, {"full.mp4", 100, 180, 98, "yuv420p10le"}};
  for (const auto& c : cases) {
    int frames = 0;
    auto check = [&](const FrameInfo&, const VideoImage& in, VideoImage* out) {
      EXPECT_EQ(in.layout, PixelLayout::kYuvPacked);
      const uint8_t* px = in.planes[0].data() + (in.height / 2) * in.stride[0] + in.width / 2 * 3;
      EXPECT_NEAR(px[0], c.y, 3) << c.name;
      EXPECT_NEAR(px[1], c.cb, 3) << c.name;
      EXPECT_NEAR(px[2], c.cr, 3) << c.name;
      ++frames;
      *out = in;
      return Status::OK();
    };
    ConvertOptions opt = Fast(PixelLayout::kYuvPacked);
    opt.encode.pix_fmt = c.pix_fmt;
    const std::string out = dir.File(std::string("out_") + c.name);
    auto stats = ConvertSegment(dir.File(c.name), out, opt, check);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(frames, 5);
    EXPECT_EQ(testing::ProbeValue(out, "stream=pix_fmt"), c.pix_fmt);
    // The colour survives: the centre of the first frame decoded back to RGB.
    bool checked = false;
    auto rgb = DecodeFrames(out, {}, [&](const FrameInfo& info, const VideoImage& img) {
      if (info.index != 0) return Status::OK();
      const uint8_t* px =
          img.planes[0].data() + (img.height / 2) * img.stride[0] + img.width / 2 * 3;
      EXPECT_NEAR(px[0], 0x33, 5) << c.name;
      EXPECT_NEAR(px[1], 0x66, 5) << c.name;
      EXPECT_NEAR(px[2], 0xCC, 5) << c.name;
      checked = true;
      return Status::OK();
    });
    ASSERT_TRUE(rgb.ok()) << rgb.status().ToString();
    EXPECT_TRUE(checked);
  }
}

// With the packed layout the analysis image is RGB, and is made even when the frame is small
// enough already (the frame itself is not RGB).
TEST(PackedYuvTest, AnalysisImagesAreRgb) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=96x64:r=25:d=0.4 -c:v libx264 " + dir.File("in.mp4")));
  std::vector<uint64_t> seen;
  for (int short_side : {32, 64}) {
    ConvertOptions opt = Fast(PixelLayout::kYuvPacked);
    opt.analysis_short_side = short_side;
    int frames = 0;
    auto stats = ConvertSegment(dir.File("in.mp4"), dir.File("out.mp4"), opt,
                                [&](const FrameInfo& info, const VideoImage& in, VideoImage* out) {
                                  EXPECT_NE(info.analysis, nullptr) << short_side;
                                  if (info.analysis != nullptr) {
                                    EXPECT_EQ(info.analysis->layout, PixelLayout::kRgb24);
                                    EXPECT_EQ(info.analysis->height, short_side);
                                  }
                                  ++frames;
                                  *out = in;
                                  return Status::OK();
                                });
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(frames, 10);
  }
}

// FNV-1a of a frame's pixels (not its index: tail decoding numbers frames from its keyframe).
uint64_t PixelDigest(const VideoImage& img) {
  uint64_t h = 1469598103934665603ULL;
  for (uint8_t b : img.planes[0]) h = (h ^ b) * 1099511628211ULL;
  return h;
}

TEST(TailDecodeTest, VisitsTheLastFramesFromAKeyframe) {
  TempDir dir;
  // 3 s at 25 fps with a keyframe every 10 frames, B-frames on.
  ASSERT_TRUE(
      Ffmpeg("-f lavfi -i testsrc2=s=96x64:r=25:d=3 -c:v libx264 -g 10 -keyint_min 10 "
             "-sc_threshold 0 -bf 2 " +
             dir.File("in.mp4")));
  std::vector<uint64_t> all, tail;
  DecodeOptions decode;
  auto n = DecodeFrames(dir.File("in.mp4"), decode, [&](const FrameInfo&, const VideoImage& img) {
    all.push_back(PixelDigest(img));
    return Status::OK();
  });
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(all.size(), 75u);
  decode.tail_frames = 12;
  auto m =
      DecodeFrames(dir.File("in.mp4"), decode, [&](const FrameInfo& info, const VideoImage& img) {
        EXPECT_EQ(info.index, static_cast<int64_t>(tail.size()));
        tail.push_back(PixelDigest(img));
        return Status::OK();
      });
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // At least the 12 asked for, at most back to the keyframe before them (plus the margin).
  EXPECT_GE(tail.size(), 12u);
  EXPECT_LE(tail.size(), 30u);
  ASSERT_LE(tail.size(), all.size());
  EXPECT_TRUE(
      std::equal(tail.begin(), tail.end(), all.end() - static_cast<ptrdiff_t>(tail.size())));
  // Asking for more than there is decodes everything.
  decode.tail_frames = 500;
  auto everything = DecodeFrames(dir.File("in.mp4"), decode,
                                 [](const FrameInfo&, const VideoImage&) { return Status::OK(); });
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(*everything, 75);
  decode.tail_frames = -1;
  EXPECT_EQ(DecodeFrames(dir.File("in.mp4"), decode,
                         [](const FrameInfo&, const VideoImage&) { return Status::OK(); })
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

// Fast decoding (no deblocking) gives every frame, close to the exact pictures, and the same
// pictures on every run.
TEST(FastDecodeTest, EveryFrameCloseToExactAndRepeatable) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg("-i '" + testing::SharedClip("mdn_flower.mp4") + "' -an -t 1 -c copy " +
                     dir.File("in.mp4")));
  const auto decode = [&](bool fast) {
    DecodeOptions options;
    options.fast = fast;
    options.analysis_short_side = 96;
    std::vector<VideoImage> frames;
    auto n = DecodeFrames(dir.File("in.mp4"), options, [&](const FrameInfo&, const VideoImage& f) {
      frames.push_back(f);
      return Status::OK();
    });
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return frames;
  };
  const auto exact = decode(false);
  const auto fast = decode(true);
  ASSERT_FALSE(exact.empty());
  ASSERT_EQ(fast.size(), exact.size());
  double error = 0;
  size_t samples = 0;
  for (size_t i = 0; i < exact.size(); ++i) {
    ASSERT_EQ(fast[i].planes[0].size(), exact[i].planes[0].size());
    for (size_t b = 0; b < exact[i].planes[0].size(); ++b) {
      error += std::abs(fast[i].planes[0][b] - exact[i].planes[0][b]);
    }
    samples += exact[i].planes[0].size();
  }
  // Deblocking really was skipped (some pixels differ), and little changed (mean absolute
  // difference on the 0..255 scale).
  EXPECT_GT(error, 0.0);
  EXPECT_LT(error / static_cast<double>(samples), 3.0);
  const auto again = decode(true);
  ASSERT_EQ(again.size(), fast.size());
  for (size_t i = 0; i < fast.size(); ++i) EXPECT_EQ(again[i].planes[0], fast[i].planes[0]) << i;
}

}  // namespace
}  // namespace stereospot::media
