#include "media/probe.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "media/test_clips.h"

namespace stereospot::media {
namespace {

using testing::Ffmpeg;
using testing::TempDir;

constexpr char kSmallVideo[] = "-f lavfi -i testsrc2=s=160x96:r=25:d=2 ";

TEST(ProbeTest, RealMp4WithAudio) {
  auto info = Probe(testing::SharedClip("mdn_flower.mp4"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_NE(info->container.find("mp4"), std::string::npos);
  EXPECT_EQ(info->video.codec, "h264");
  EXPECT_EQ(info->video.profile, "High");
  EXPECT_EQ(info->video.width, 960);
  EXPECT_EQ(info->video.height, 540);
  EXPECT_EQ(info->video.pix_fmt, "yuv420p");
  EXPECT_EQ(info->video.bit_depth, 8);
  EXPECT_EQ(info->video.color_range, "tv");
  EXPECT_EQ(info->video.color_matrix, "smpte170m");
  EXPECT_EQ(info->video.frame_rate.num, 30000);
  EXPECT_EQ(info->video.frame_rate.den, 1001);
  EXPECT_EQ(info->video.avg_frame_rate.num, 30000);
  EXPECT_TRUE(info->has_audio());
  EXPECT_NEAR(info->duration_seconds, 5.06, 0.01);
  EXPECT_EQ(info->video_packets, 150);
  EXPECT_EQ(info->keyframes.front().packet_index, 0);
  // Keyframe index equals ffprobe's packet flags.
  const std::string flags =
      testing::Run("ffprobe -v error -select_streams v:0 -show_entries packet=flags -of csv=p=0 '" +
                   info->path + "' | grep -c K");
  EXPECT_EQ(static_cast<int>(info->keyframes.size()), std::stoi(flags));
}

TEST(ProbeTest, FullRangeCameraFileWithDataTracks) {
  auto info = Probe(testing::SharedClip("gopro_max-heromode.mp4"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->video.color_range, "pc");
  EXPECT_EQ(info->video.pix_fmt, "yuvj420p");
  int data = 0;
  for (const auto& s : info->streams) data += s.kind == StreamKind::kData;
  EXPECT_EQ(data, 3);
}

TEST(ProbeTest, WebmVp8) {
  auto info = Probe(testing::SharedClip("mdn_flower.webm"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->video.codec, "vp8");
  EXPECT_TRUE(info->has_audio());
  EXPECT_EQ(info->streams[1].codec, "vorbis");
  EXPECT_EQ(info->video_packets, 150);
}

TEST(ProbeTest, ZeroBytesIsInvalidArgument) {
  TempDir dir;
  std::ofstream(dir.File("empty.mp4")).close();
  auto info = Probe(dir.File("empty.mp4"));
  EXPECT_EQ(info.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(info.status().message().find("empty"), std::string::npos);
}

TEST(ProbeTest, MissingFileIsNotFound) {
  TempDir dir;
  EXPECT_EQ(Probe(dir.File("nope.mp4")).status().code(), StatusCode::kNotFound);
}

TEST(ProbeTest, TextFileNamedMp4IsNotAMediaFile) {
  TempDir dir;
  std::ofstream(dir.File("notes.mp4")) << "These are my holiday notes, not a video.\n";
  auto info = Probe(dir.File("notes.mp4"));
  EXPECT_EQ(info.status().code(), StatusCode::kPermanent);
  EXPECT_NE(info.status().message().find("not a media file"), std::string::npos)
      << info.status().ToString();
}

TEST(ProbeTest, AudioOnlyIsRejected) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg("-f lavfi -i sine=d=1 -c:a aac " + dir.File("a.m4a")));
  auto info = Probe(dir.File("a.m4a"));
  EXPECT_EQ(info.status().code(), StatusCode::kPermanent);
  EXPECT_NE(info.status().message().find("no video stream (the file holds audio only)"),
            std::string::npos)
      << info.status().ToString();
}

TEST(ProbeTest, TruncatedFilesAreReported) {
  TempDir dir;
  // moov at the end (the default): cutting the file loses the index.
  ASSERT_TRUE(Ffmpeg(std::string(kSmallVideo) + "-c:v libx264 " + dir.File("end.mp4")));
  // moov first: the index survives but the media data is cut short.
  ASSERT_TRUE(Ffmpeg(std::string(kSmallVideo) + "-c:v libx264 -movflags +faststart " +
                     dir.File("fast.mp4")));
  ASSERT_TRUE(Ffmpeg(std::string(kSmallVideo) + "-c:v libx264 " + dir.File("v.mkv")));
  for (const char* name : {"end.mp4", "fast.mp4", "v.mkv"}) {
    const std::string path = dir.File(name);
    std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
    auto info = Probe(path);
    EXPECT_EQ(info.status().code(), StatusCode::kPermanent) << name;
    EXPECT_NE(info.status().message().find("truncated"), std::string::npos)
        << name << ": " << info.status().ToString();
  }
}

TEST(ProbeTest, UnknownVideoCodecIsUnsupported) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg(std::string(kSmallVideo) + "-c:v mpeg4 -vtag ZZZZ -strict unofficial " +
                     dir.File("z.avi")));
  auto info = Probe(dir.File("z.avi"));
  EXPECT_EQ(info.status().code(), StatusCode::kPermanent);
  EXPECT_NE(info.status().message().find("unsupported video codec"), std::string::npos)
      << info.status().ToString();
}

TEST(ProbeTest, TenBitHevcAndRotation) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg(std::string(kSmallVideo) +
                     "-c:v libx265 -pix_fmt yuv420p10le -x265-params log-level=none " +
                     dir.File("h0.mp4")));
  // FFmpeg 5.1 applies the "rotate" tag only when stream copying.
  ASSERT_TRUE(Ffmpeg("-i " + dir.File("h0.mp4") + " -c copy -metadata:s:v:0 rotate=90 " +
                     dir.File("h.mp4")));
  auto info = Probe(dir.File("h.mp4"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->video.codec, "hevc");
  EXPECT_EQ(info->video.bit_depth, 10);
  EXPECT_EQ(info->video.pix_fmt, "yuv420p10le");
  // ffprobe prints the display matrix's counter-clockwise angle; we report clockwise.
  const int ccw = std::stoi(testing::ProbeValue(dir.File("h.mp4"), "stream_side_data=rotation"));
  EXPECT_EQ(info->video.rotation_degrees, ((-ccw) % 360 + 360) % 360);
  EXPECT_NE(info->video.rotation_degrees, 0);
  EXPECT_FALSE(info->has_audio());
}

TEST(ProbeTest, KeyframeIndexAndFrameRates) {
  TempDir dir;
  ASSERT_TRUE(
      Ffmpeg("-f lavfi -i testsrc2=s=64x48:r=12.5:d=4 -c:v libx264 -g 10 " + dir.File("k.mkv")));
  auto info = Probe(dir.File("k.mkv"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->video.frame_rate.num, 25);
  EXPECT_EQ(info->video.frame_rate.den, 2);
  EXPECT_EQ(info->video_packets, 50);
  ASSERT_EQ(info->keyframes.size(), 5u);
  for (size_t i = 0; i < info->keyframes.size(); ++i) {
    EXPECT_EQ(info->keyframes[i].packet_index, static_cast<int64_t>(i) * 10);
    EXPECT_NEAR(info->keyframes[i].seconds, i * 0.8, 1e-6);
  }
  EXPECT_NEAR(info->video_end_seconds, 4.0, 1e-6);
}

}  // namespace
}  // namespace stereospot::media
