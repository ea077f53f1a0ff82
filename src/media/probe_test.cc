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

// A ByteRangeSource over a local file that counts its reads, as a store's ranged GETs would be.
struct FileRangeSource {
  explicit FileRangeSource(const std::string& path) {
    source.name = "objects/" + std::filesystem::path(path).filename().string();
    source.size = std::filesystem::file_size(path);
    source.read = [this, path](std::uint64_t offset,
                               std::span<char> buffer) -> Result<std::size_t> {
      ++reads;
      std::ifstream in(path, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(offset));
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      return static_cast<std::size_t>(in.gcount());
    };
  }
  ByteRangeSource source;
  int reads = 0;
};

TEST(ProbeRangeTest, SameResultAsTheFile) {
  for (const char* clip : {"mdn_flower.mp4", "mdn_flower.webm"}) {
    const std::string path = testing::SharedClip(clip);
    auto by_path = Probe(path);
    ASSERT_TRUE(by_path.ok()) << by_path.status().ToString();
    FileRangeSource file(path);
    auto by_range = Probe(file.source);
    ASSERT_TRUE(by_range.ok()) << clip << ": " << by_range.status().ToString();
    EXPECT_EQ(by_range->path, file.source.name);
    EXPECT_EQ(by_range->container, by_path->container);
    EXPECT_EQ(by_range->file_bytes, by_path->file_bytes);
    EXPECT_EQ(by_range->video.codec, by_path->video.codec);
    EXPECT_EQ(by_range->video.width, by_path->video.width);
    EXPECT_EQ(by_range->streams.size(), by_path->streams.size());
    EXPECT_EQ(by_range->video_packets, by_path->video_packets);
    EXPECT_EQ(by_range->keyframes.size(), by_path->keyframes.size());
    EXPECT_GT(file.reads, 0);
  }
}

TEST(ProbeRangeTest, HeaderOnlyProbeOfAMoovAtTheEndFileSeeks) {
  TempDir dir;
  ASSERT_TRUE(Ffmpeg(std::string(kSmallVideo) + "-c:v libx264 " + dir.File("end.mp4")));
  FileRangeSource file(dir.File("end.mp4"));
  ProbeOptions header_only;
  header_only.scan_packets = false;
  auto info = Probe(file.source, header_only);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->video.width, 160);
  EXPECT_NEAR(info->duration_seconds, 2.0, 0.05);
  EXPECT_TRUE(info->keyframes.empty());
}

TEST(ProbeRangeTest, NonVideoTruncatedAndEmptyAreRefusedAsForFiles) {
  TempDir dir;
  std::ofstream(dir.File("notes.mp4")) << "These are my holiday notes, not a video.\n";
  FileRangeSource text(dir.File("notes.mp4"));
  auto info = Probe(text.source);
  EXPECT_EQ(info.status().code(), StatusCode::kPermanent);
  EXPECT_NE(info.status().message().find("objects/notes.mp4: not a media file"), std::string::npos)
      << info.status().ToString();

  ASSERT_TRUE(Ffmpeg(std::string(kSmallVideo) + "-c:v libx264 " + dir.File("cut.mp4")));
  std::filesystem::resize_file(dir.File("cut.mp4"),
                               std::filesystem::file_size(dir.File("cut.mp4")) / 2);
  FileRangeSource cut(dir.File("cut.mp4"));
  info = Probe(cut.source);
  EXPECT_EQ(info.status().code(), StatusCode::kPermanent);
  EXPECT_NE(info.status().message().find("truncated"), std::string::npos)
      << info.status().ToString();

  ByteRangeSource empty{"objects/empty.mp4", 0, cut.source.read};
  EXPECT_EQ(Probe(empty).status().code(), StatusCode::kInvalidArgument);
}

TEST(ProbeRangeTest, AReadErrorIsReturnedAsTheSourceGaveIt) {
  FileRangeSource file(testing::SharedClip("mdn_flower.mp4"));
  ASSERT_TRUE(Probe(file.source).ok());
  const int reads = file.reads;
  ASSERT_GE(reads, 2);
  // Fails from the first read (while opening), and at the last one (late in the packet scan).
  for (int fail_from : {1, reads}) {
    auto inner = file.source.read;
    int calls = 0;
    ByteRangeSource failing = file.source;
    failing.read = [&](std::uint64_t offset, std::span<char> buffer) -> Result<std::size_t> {
      if (++calls >= fail_from) return Status::Unavailable("store unreachable");
      return inner(offset, buffer);
    };
    auto info = Probe(failing);
    EXPECT_EQ(info.status().code(), StatusCode::kUnavailable)
        << fail_from << ": " << info.status().ToString();
    EXPECT_EQ(info.status().message(), "store unreachable");
  }
}

}  // namespace
}  // namespace stereospot::media
