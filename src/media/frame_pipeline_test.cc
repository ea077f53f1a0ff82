#include "media/frame_pipeline.h"

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "media/av_handles.h"
#include "media/probe.h"

extern "C" {
#include <libavutil/stereo3d.h>
}
#include "media/test_clips.h"

namespace stereospot::media {
namespace {

using testing::Ffmpeg;
using testing::TempDir;

ConvertOptions Fast() {
  ConvertOptions opt;
  opt.encode.preset = "ultrafast";
  opt.encode.threads = 2;
  return opt;
}

// PSNR (dB, average over RGB) between the decoded frames of two files, as ffmpeg's psnr filter
// computes it after both are turned into RGB with their own tags (range, matrix, rotation).
double RgbPsnr(const std::string& a, const std::string& b) {
  const std::string out = testing::Run(
      "ffmpeg -nostdin -hide_banner -i '" + a + "' -i '" + b +
      "' -lavfi '[0:v]format=rgb24[a];[1:v]format=rgb24[b];[a][b]psnr' -f null - 2>&1");
  // (No std::regex: GCC 12 warns inside <regex> under the sanitizer build.)
  const size_t at = out.find("average:");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no PSNR in ffmpeg output: " << out;
    return 0;
  }
  const std::string value = out.substr(at + 8, out.find(' ', at) - at - 8);
  return value == "inf" ? 99.0 : std::stod(value);
}

void ExpectSameFrameTimes(const std::string& a, const std::string& b) {
  const auto ta = testing::ProbeFrameTimes(a);
  const auto tb = testing::ProbeFrameTimes(b);
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) ASSERT_NEAR(ta[i], tb[i], 1e-3) << "frame " << i;
}

TEST(FramePipelineTest, IdentityKeepsFramesAndTimestamps) {
  TempDir dir;
  const std::string src = testing::SharedClip("mdn_flower.mp4");
  ASSERT_TRUE(Ffmpeg("-i '" + src + "' -an -t 1 -c copy " + dir.File("in.mp4")));
  auto stats = ConvertSegment(dir.File("in.mp4"), dir.File("out.mp4"), Fast(), IdentityCallback());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->frames_in, stats->frames_out);
  EXPECT_EQ(stats->width_out, 960);
  ExpectSameFrameTimes(dir.File("in.mp4"), dir.File("out.mp4"));
  EXPECT_GT(RgbPsnr(dir.File("in.mp4"), dir.File("out.mp4")), 35.0);
  EXPECT_EQ(testing::ProbeValue(dir.File("out.mp4"), "stream=color_space"), "smpte170m");
}

TEST(FramePipelineTest, DecodeFramesSeesWhatTheCallbackSees) {
  TempDir dir;
  const std::string src = testing::SharedClip("mdn_flower.mp4");
  ASSERT_TRUE(Ffmpeg("-i '" + src + "' -an -t 1 -c copy " + dir.File("in.mp4")));
  // FNV-1a over each frame's pixels and time: decoding and converting must agree frame by frame.
  auto digest = [](const FrameInfo& info, const VideoImage& img) {
    uint64_t h = 1469598103934665603ULL ^ static_cast<uint64_t>(info.index);
    for (uint8_t b : img.planes[0]) h = (h ^ b) * 1099511628211ULL;
    return h ^ static_cast<uint64_t>(info.seconds * 1e6);
  };
  std::vector<uint64_t> converted, decoded;
  auto stats = ConvertSegment(dir.File("in.mp4"), dir.File("out.mp4"), Fast(),
                              [&](const FrameInfo& info, const VideoImage& in, VideoImage* out) {
                                converted.push_back(digest(info, in));
                                *out = in;
                                return Status::OK();
                              });
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  DecodeOptions decode;
  decode.threads = 2;
  auto frames =
      DecodeFrames(dir.File("in.mp4"), decode, [&](const FrameInfo& info, const VideoImage& img) {
        decoded.push_back(digest(info, img));
        return Status::OK();
      });
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  EXPECT_EQ(*frames, stats->frames_in);
  EXPECT_EQ(decoded, converted);
  // A visitor error stops the decoding and is returned.
  auto stopped = DecodeFrames(dir.File("in.mp4"), decode, [](const FrameInfo& info, const auto&) {
    return info.index == 3 ? Status::Cancelled("stop") : Status::OK();
  });
  EXPECT_EQ(stopped.status().code(), StatusCode::kCancelled);
  // Not a video: a clear permanent error.
  std::ofstream(dir.File("text.mp4")) << "not a video";
  auto text = DecodeFrames(dir.File("text.mp4"), decode,
                           [](const FrameInfo&, const VideoImage&) { return Status::OK(); });
  EXPECT_FALSE(text.ok());
}

TEST(FramePipelineTest, AnalysisSizeKeepsTheAspectAndNeverEnlarges) {
  EXPECT_EQ(AnalysisSize(1920, 1080, 384), (std::array<int, 2>{683, 384}));
  EXPECT_EQ(AnalysisSize(1080, 1920, 384), (std::array<int, 2>{384, 683}));
  EXPECT_EQ(AnalysisSize(640, 360, 384), (std::array<int, 2>{640, 360}));
  EXPECT_EQ(AnalysisSize(1920, 1080, 0), (std::array<int, 2>{1920, 1080}));
}

// DecodeFrames's analysis images are FrameInfo::analysis's, pixel for pixel (a depth stage may
// measure with either).
TEST(FramePipelineTest, AnalysisImagesMatchDecodeFramesAndAreUpright) {
  TempDir dir;
  // Portrait by a display matrix: the small images must be upright too.
  ASSERT_TRUE(testing::MakeRotatedClip(320, 180, dir.File("u.mp4"), dir.File("r.mp4")));
  auto digest = [](const VideoImage& img) {
    uint64_t h = 1469598103934665603ULL;
    for (uint8_t b : img.planes[0]) h = (h ^ b) * 1099511628211ULL;
    return h;
  };
  ConvertOptions convert = Fast();
  convert.analysis_short_side = 90;
  std::vector<uint64_t> from_convert;
  auto stats =
      ConvertSegment(dir.File("r.mp4"), dir.File("out.mp4"), convert,
                     [&](const FrameInfo& info, const VideoImage& in, VideoImage* out) -> Status {
                       if (info.analysis == nullptr) return Status::Internal("no analysis image");
                       EXPECT_EQ(in.width, 180);
                       EXPECT_EQ(in.height, 320);
                       EXPECT_EQ(info.analysis->width, 90);
                       EXPECT_EQ(info.analysis->height, 160);
                       from_convert.push_back(digest(*info.analysis));
                       *out = in;
                       return Status::OK();
                     });
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  DecodeOptions decode;
  decode.analysis_short_side = 90;
  std::vector<uint64_t> from_decode;
  std::vector<VideoImage> small;
  auto frames = DecodeFrames(dir.File("r.mp4"), decode,
                             [&](const FrameInfo& info, const VideoImage& img) -> Status {
                               EXPECT_EQ(info.analysis, nullptr);
                               EXPECT_EQ(img.width, 90);
                               EXPECT_EQ(img.height, 160);
                               from_decode.push_back(digest(img));
                               small.push_back(img);
                               return Status::OK();
                             });
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  EXPECT_EQ(from_decode, from_convert);
  ASSERT_EQ(from_decode.size(), 10u);
  // Upright: the scaled-down full-size frame (rotated by the pipeline) matches it closely.
  std::vector<VideoImage> full;
  ASSERT_TRUE(DecodeFrames(dir.File("r.mp4"), DecodeOptions{},
                           [&](const FrameInfo&, const VideoImage& img) {
                             full.push_back(img);
                             return Status::OK();
                           })
                  .ok());
  double error = 0;
  for (int y = 0; y < 160; ++y) {
    for (int x = 0; x < 90; ++x) {
      for (int c = 0; c < 3; ++c) {
        const int a = small[5].planes[0][static_cast<size_t>(y * small[5].stride[0] + x * 3 + c)];
        const int b =
            full[5].planes[0][static_cast<size_t>((2 * y) * full[5].stride[0] + (2 * x) * 3 + c)];
        error += std::abs(a - b);
      }
    }
  }
  EXPECT_LT(error / (160 * 90 * 3), 20.0) << "the small image is not the frame, upright";
  // A frame already small enough is handed over as it is, with no analysis image.
  convert.analysis_short_side = 400;
  auto unscaled =
      ConvertSegment(dir.File("u.mp4"), dir.File("out2.mp4"), convert,
                     [&](const FrameInfo& info, const VideoImage& in, VideoImage* out) -> Status {
                       EXPECT_EQ(info.analysis, nullptr);
                       *out = in;
                       return Status::OK();
                     });
  EXPECT_TRUE(unscaled.ok()) << unscaled.status().ToString();
}

// With a look-ahead the visitor sees each frame's analysis image `frames` frames before the
// callback sees the frame; the callback still gets every frame, in order, with its own pixels and
// time, and the output is what a conversion without look-ahead writes.
TEST(FramePipelineTest, LookaheadHoldsFramesBackWithoutChangingThem) {
  TempDir dir;
  // Variable frame rate and fewer frames than the look-ahead at the end: durations must survive
  // frames that reach the encoder only after the decoder has finished.
  ASSERT_TRUE(
      Ffmpeg("-f lavfi -i testsrc2=s=160x96:r=25:d=1 "
             "-vf \"select='not(eq(mod(n,7),3))'\" -fps_mode passthrough -c:v libx264 " +
             dir.File("in.mp4")));
  auto digest = [](const FrameInfo& info, const VideoImage& img) {
    uint64_t h = 1469598103934665603ULL ^ static_cast<uint64_t>(info.index);
    for (uint8_t b : img.planes[0]) h = (h ^ b) * 1099511628211ULL;
    return h ^ static_cast<uint64_t>(info.seconds * 1e6);
  };
  std::vector<uint64_t> plain;
  auto reference =
      ConvertSegment(dir.File("in.mp4"), dir.File("plain.mp4"), Fast(),
                     [&](const FrameInfo& info, const VideoImage& in, VideoImage* out) {
                       plain.push_back(digest(info, in));
                       *out = in;
                       return Status::OK();
                     });
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();

  for (const int ahead : {0, 3, 100}) {
    SCOPED_TRACE("lookahead " + std::to_string(ahead));
    ConvertOptions opt = Fast();
    opt.analysis_short_side = 48;
    opt.lookahead.frames = ahead;
    int64_t visited = 0, called = 0;
    int ends = 0;
    std::vector<uint64_t> held;
    opt.lookahead.visitor = [&](const FrameInfo& info, const VideoImage& img) -> Status {
      EXPECT_EQ(info.index, visited);
      EXPECT_EQ(info.analysis, nullptr);
      EXPECT_EQ(img.height, 48);
      EXPECT_EQ(ends, 0);
      ++visited;
      return Status::OK();
    };
    opt.lookahead.on_end = [&] {
      EXPECT_EQ(visited, reference->frames_in);
      ++ends;
      return Status::OK();
    };
    auto stats = ConvertSegment(dir.File("in.mp4"), dir.File("ahead.mp4"), opt,
                                [&](const FrameInfo& info, const VideoImage& in, VideoImage* out) {
                                  EXPECT_EQ(info.index, called);
                                  EXPECT_EQ(info.analysis, nullptr);
                                  // Frame i comes after frame i + ahead was analysed, or at the
                                  // end.
                                  EXPECT_TRUE(visited == info.index + ahead + 1 || ends == 1)
                                      << "frame " << info.index << ", visited " << visited;
                                  ++called;
                                  held.push_back(digest(info, in));
                                  *out = in;
                                  return Status::OK();
                                });
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(ends, 1);
    EXPECT_EQ(held, plain);
    EXPECT_EQ(stats->frames_out, reference->frames_in);
    ExpectSameFrameTimes(dir.File("in.mp4"), dir.File("ahead.mp4"));
    EXPECT_EQ(testing::ProbeValue(dir.File("in.mp4"), "format=duration"),
              testing::ProbeValue(dir.File("ahead.mp4"), "format=duration"));
  }

  // A visitor error stops the conversion and leaves no output; so does an out-of-range value.
  ConvertOptions failing = Fast();
  failing.lookahead.frames = 2;
  failing.lookahead.visitor = [](const FrameInfo& info, const VideoImage&) {
    return info.index == 5 ? Status::Cancelled("stop") : Status::OK();
  };
  auto stopped =
      ConvertSegment(dir.File("in.mp4"), dir.File("stopped.mp4"), failing, IdentityCallback());
  EXPECT_EQ(stopped.status().code(), StatusCode::kCancelled);
  EXPECT_FALSE(std::filesystem::exists(dir.File("stopped.mp4")));
  failing.lookahead.frames = 257;
  EXPECT_EQ(ConvertSegment(dir.File("in.mp4"), dir.File("stopped.mp4"), failing, IdentityCallback())
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(FramePipelineTest, VariableFrameRateSurvives) {
  TempDir dir;
  ASSERT_TRUE(
      Ffmpeg("-f lavfi -i testsrc2=s=96x64:r=25:d=2 "
             "-vf \"select='not(eq(mod(n,7),3))*not(eq(mod(n,5),1))'\" "
             "-fps_mode passthrough -c:v libx264 " +
             dir.File("vfr.mp4")));
  auto stats = ConvertSegment(dir.File("vfr.mp4"), dir.File("out.mp4"), Fast(), IdentityCallback());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ExpectSameFrameTimes(dir.File("vfr.mp4"), dir.File("out.mp4"));
  EXPECT_EQ(testing::ProbeValue(dir.File("vfr.mp4"), "format=duration"),
            testing::ProbeValue(dir.File("out.mp4"), "format=duration"));
}

// The callback sees the right RGB for 10-bit HEVC and for full-range (yuvj) input.
TEST(FramePipelineTest, TenBitAndFullRangeInputsGiveTrueRgb) {
  TempDir dir;
  ASSERT_TRUE(testing::MakeColourClips(dir));
  for (const char* name : {"ten.mp4", "full.mp4"}) {
    int frames = 0;
    auto check = [&](const FrameInfo&, const VideoImage& in, VideoImage* out) {
      const uint8_t* px = in.planes[0].data() + (in.height / 2) * in.stride[0] + in.width / 2 * 3;
      EXPECT_NEAR(px[0], 0x33, 4) << name;
      EXPECT_NEAR(px[1], 0x66, 4) << name;
      EXPECT_NEAR(px[2], 0xCC, 4) << name;
      ++frames;
      *out = in;
      return Status::OK();
    };
    auto stats =
        ConvertSegment(dir.File(name), dir.File(std::string("out_") + name), Fast(), check);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(frames, 5);
    EXPECT_GT(RgbPsnr(dir.File(name), dir.File(std::string("out_") + name)), 35.0) << name;
  }
}

TEST(FramePipelineTest, CallbackMayDoubleTheWidth) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=96x64:r=25:d=1 -c:v libx264 " + dir.File("in.mp4")));
  auto sbs = [](const FrameInfo&, const VideoImage& in, VideoImage* out) {
    out->Allocate(in.width * 2, in.height, in.layout);
    for (int y = 0; y < in.height; ++y) {
      const uint8_t* s = in.planes[0].data() + y * in.stride[0];
      uint8_t* d = out->planes[0].data() + y * out->stride[0];
      std::copy(s, s + in.width * 3, d);
      std::copy(s, s + in.width * 3, d + in.width * 3);
    }
    return Status::OK();
  };
  auto stats = ConvertSegment(dir.File("in.mp4"), dir.File("out.mp4"), Fast(), sbs);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->width_out, 192);
  EXPECT_EQ(testing::ProbeValue(dir.File("out.mp4"), "stream=width"), "192");
  ExpectSameFrameTimes(dir.File("in.mp4"), dir.File("out.mp4"));
}

// The stereo 3D type of the first decoded frame, or -1 when it has none.
int FirstFrameStereoType(const std::string& path) {
  auto in = OpenInput(path);
  if (!in.ok()) return -2;
  const AVStream* st = (*in)->streams[0];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  CodecContextPtr dec(avcodec_alloc_context3(codec));
  avcodec_parameters_to_context(dec.get(), st->codecpar);
  if (avcodec_open2(dec.get(), codec, nullptr) < 0) return -2;
  PacketPtr pkt(av_packet_alloc());
  FramePtr frame(av_frame_alloc());
  while (av_read_frame(in->get(), pkt.get()) >= 0) {
    avcodec_send_packet(dec.get(), pkt.get());
    av_packet_unref(pkt.get());
    if (avcodec_receive_frame(dec.get(), frame.get()) == 0) {
      const AVFrameSideData* sd = av_frame_get_side_data(frame.get(), AV_FRAME_DATA_STEREO3D);
      return sd == nullptr ? -1 : reinterpret_cast<const AVStereo3D*>(sd->data)->type;
    }
  }
  return -2;
}

TEST(FramePipelineTest, FramePackingSeiForHalfLayouts) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=96x64:r=10:d=0.5 -c:v libx264 " + dir.File("in.mp4")));
  ConvertOptions opt = Fast();
  opt.encode.frame_packing = StereoLayout::kSideBySide;
  ASSERT_TRUE(
      ConvertSegment(dir.File("in.mp4"), dir.File("sbs.mp4"), opt, IdentityCallback()).ok());
  opt.encode.frame_packing = StereoLayout::kTopBottom;
  ASSERT_TRUE(ConvertSegment(dir.File("in.mp4"), dir.File("tb.mp4"), opt, IdentityCallback()).ok());
  // The H.264 decoder exports the SEI as per-frame stereo 3D side data; ffprobe 5.1 prints only
  // its presence, so read the arrangement with libavcodec.
  EXPECT_EQ(FirstFrameStereoType(dir.File("sbs.mp4")), AV_STEREO3D_SIDEBYSIDE);
  EXPECT_EQ(FirstFrameStereoType(dir.File("tb.mp4")), AV_STEREO3D_TOPBOTTOM);
  EXPECT_EQ(FirstFrameStereoType(dir.File("in.mp4")), -1);
}

TEST(FramePipelineTest, RotationIsAppliedToPixels) {
  TempDir dir;
  ASSERT_TRUE(testing::MakeRotatedClip(128, 64, dir.File("u.mp4"), dir.File("r.mp4")));
  ConvertOptions opt = Fast();
  opt.encode.crf = 10;
  auto stats = ConvertSegment(dir.File("r.mp4"), dir.File("out.mp4"), opt, IdentityCallback());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->width_out, 64);
  EXPECT_EQ(stats->height_out, 128);
  EXPECT_EQ(testing::ProbeValue(dir.File("out.mp4"), "stream_side_data=rotation"), "");
  // ffmpeg's own autorotation of the source is the oracle for the pixels: the rotated result
  // must match it as well as an unrotated identity conversion matches its source.
  auto plain = ConvertSegment(dir.File("u.mp4"), dir.File("plain.mp4"), opt, IdentityCallback());
  ASSERT_TRUE(plain.ok());
  const double rotated_psnr = RgbPsnr(dir.File("r.mp4"), dir.File("out.mp4"));
  EXPECT_GT(rotated_psnr, 25.0);  // a wrong direction scores about 10 dB
  EXPECT_NEAR(rotated_psnr, RgbPsnr(dir.File("u.mp4"), dir.File("plain.mp4")), 1.5);
}

TEST(FramePipelineTest, OddSizeYuvLayoutAndX265) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc=s=853x479:r=10:d=0.5 -c:v libx264 -pix_fmt yuv444p " +
                     dir.File("odd.mkv")));
  ConvertOptions opt = Fast();
  opt.layout = PixelLayout::kYuv420p;
  opt.encode.codec = "libx265";
  int frames = 0;
  auto check = [&](const FrameInfo& info, const VideoImage& in, VideoImage* out) {
    EXPECT_EQ(info.index, frames++);
    EXPECT_EQ(in.width, 853);
    EXPECT_EQ(in.plane_count(), 3);
    *out = in;
    return Status::OK();
  };
  auto stats = ConvertSegment(dir.File("odd.mkv"), dir.File("out.mp4"), opt, check);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->width_out, 852);
  EXPECT_EQ(stats->height_out, 478);
  EXPECT_EQ(testing::ProbeValue(dir.File("out.mp4"), "stream=codec_name"), "hevc");
  EXPECT_EQ(testing::ProbeFrameTimes(dir.File("out.mp4")).size(), 5u);
}

TEST(FramePipelineTest, EncoderOptionsAreApplied) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=64x48:r=10:d=0.5 -c:v libx264 " + dir.File("in.mp4")));
  ConvertOptions opt = Fast();
  opt.encode.profile = "high444";
  opt.encode.pix_fmt = "yuv444p";
  opt.encode.crf = 30;
  auto stats = ConvertSegment(dir.File("in.mp4"), dir.File("out.mp4"), opt, IdentityCallback());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(testing::ProbeValue(dir.File("out.mp4"), "stream=pix_fmt"), "yuv444p");
  EXPECT_EQ(testing::ProbeValue(dir.File("out.mp4"), "stream=profile"), "High 4:4:4 Predictive");
  opt.encode.codec = "no_such_encoder";
  EXPECT_EQ(ConvertSegment(dir.File("in.mp4"), dir.File("x.mp4"), opt, IdentityCallback())
                .status()
                .code(),
            StatusCode::kPermanent);
}

// The x264 hand-off depth reaches the encoder and keeps its output deterministic: the chaos tests
// compare outputs across runs. x264 does not write the depth into its settings SEI; a different
// bitstream from its default is what shows the setting arrived.
TEST(FramePipelineTest, HandoffDepthIsAppliedAndDeterministic) {
  TempDir dir;
  // Long enough for x264's look-ahead (rc-lookahead 40 at preset medium) to fill and drain.
  ASSERT_TRUE(
      Ffmpeg("-f lavfi -i testsrc2=s=320x240:r=25:d=4 -c:v libx264 -g 25 " + dir.File("in.mp4")));
  const auto stream_md5 = [&](const std::string& file) {
    return testing::Run("ffmpeg -nostdin -v error -i '" + file + "' -map 0:v -c copy -f md5 -");
  };
  std::map<int, std::string> md5;
  for (int handoff : {0, 24, -1, 24}) {
    ConvertOptions opt;
    opt.encode.preset = "medium";
    opt.encode.threads = 3;  // frame threads: the hand-off exists only then
    opt.encode.handoff_frames = handoff;
    const std::string out = dir.File("out" + std::to_string(handoff + 1) + ".mp4");
    auto stats = ConvertSegment(dir.File("in.mp4"), out, opt, IdentityCallback());
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    ASSERT_EQ(stats->frames_out, 100);
    const std::string sum = stream_md5(out);
    ASSERT_NE(sum.find("MD5="), std::string::npos) << sum;
    if (md5.count(handoff) > 0) {
      EXPECT_EQ(sum, md5[handoff]) << "a second run, depth " << handoff;
    }
    md5[handoff] = sum;
  }
  EXPECT_EQ(md5[-1], md5[24]) << "the automatic depth at 320x240 is 24";
  EXPECT_NE(md5[0], md5[24]) << "the depth did not reach x264";
  ConvertOptions bad = Fast();
  bad.encode.handoff_frames = 251;
  EXPECT_EQ(ConvertSegment(dir.File("in.mp4"), dir.File("bad.mp4"), bad, IdentityCallback())
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir.File("bad.mp4")));
}

// NVENC encodes where an NVIDIA GPU is present and is a clear permanent error elsewhere.
TEST(FramePipelineTest, NvencOnlyWhenPresent) {
  const bool gpu = std::filesystem::exists("/dev/nvidia0");
  TempDir dir;
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=64x48:r=10:d=0.3 -c:v libx264 " + dir.File("in.mp4")));
  ConvertOptions opt = Fast();
  opt.encode.codec = "h264_nvenc";
  opt.encode.preset = "p4";
  auto stats = ConvertSegment(dir.File("in.mp4"), dir.File("out.mp4"), opt, IdentityCallback());
  if (gpu) {
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(stats->frames_out, 3);
  } else {
    EXPECT_EQ(stats.status().code(), StatusCode::kPermanent) << stats.status().ToString();
    EXPECT_NE(stats.status().message().find("NVENC"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(dir.File("out.mp4")));
  }
}

TEST(FramePipelineTest, CallbackErrorStopsAndLeavesNoOutput) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=64x48:r=10:d=0.5 -c:v libx264 " + dir.File("in.mp4")));
  auto fail = [](const FrameInfo& info, const VideoImage& in, VideoImage* out) {
    *out = in;
    return info.index == 3 ? Status::Cancelled("lease lost") : Status::OK();
  };
  auto stats = ConvertSegment(dir.File("in.mp4"), dir.File("out.mp4"), Fast(), fail);
  EXPECT_EQ(stats.status().code(), StatusCode::kCancelled);
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace stereospot::media
