#include "media/reassembler.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <gtest/gtest.h>

#include "media/frame_pipeline.h"
#include "media/probe.h"
#include "media/segment_cutter.h"
#include "media/test_clips.h"

namespace stereospot::media {
namespace {

using testing::Ffmpeg;
using testing::TempDir;

struct PipelineRun {
  MediaInfo info;
  int segments = 0;
  std::string output;
  ReassembleStats stats;
};

// The whole media path as the pipeline runs it: probe, plan, cut, identity-convert each
// segment, reassemble.
PipelineRun RunPipeline(const std::string& source, const TempDir& dir,
                        const ReassembleOptions& ropt = {}) {
  PipelineRun run;
  auto info = Probe(source);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  if (!info.ok()) return run;
  run.info = *info;
  SegmentPlanOptions popt;
  popt.min_segment_seconds = 0.5;
  auto plan = PlanSegments(*info, popt);
  EXPECT_TRUE(plan.ok());
  if (!plan.ok()) return run;
  run.segments = plan->total();
  CutOptions copt;
  copt.path_for = [&](const SegmentSpec& s) {
    char name[64];
    std::snprintf(name, sizeof(name), "in_%05d_%05d_sbs.mp4", s.index, plan->total());
    return dir.File(name);
  };
  auto cut = CutSegments(source, *info, *plan, copt);
  EXPECT_TRUE(cut.ok()) << cut.status().ToString();
  if (!cut.ok()) return run;
  ConvertOptions conv;
  // RGB conversion is covered by frame_pipeline_test; YUV keeps this end-to-end path quick.
  conv.layout = PixelLayout::kYuv420p;
  conv.encode.preset = "ultrafast";
  conv.encode.threads = 2;
  std::vector<std::string> converted;
  for (const WrittenSegment& w : *cut) {
    converted.push_back(dir.File("out_" + std::to_string(w.spec.index) + ".mp4"));
    auto st = ConvertSegment(w.path, converted.back(), conv, IdentityCallback());
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (!st.ok()) return run;
    EXPECT_EQ(st->frames_out, w.frames);
  }
  run.output = dir.File("final.mp4");
  auto stats = Reassemble(source, converted, run.output, ropt);
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();
  if (stats.ok()) run.stats = *stats;
  return run;
}

// End of the last audio or video stream. (The MP4 movie header may announce a little more than
// any track holds, e.g. mdn_chroma-keying_video.mp4: 24.459 s against 24.441 s of video.)
double Duration(const std::string& path) {
  const std::string rows = testing::Run(
      "ffprobe -v error -show_entries "
      "stream=codec_type,start_time,duration -of csv=p=0 '" +
      path + "'");
  double end = 0;
  std::istringstream in(rows);
  std::string line;
  while (std::getline(in, line)) {
    char type[32] = {};
    double start = 0, duration = 0;
    const int got = std::sscanf(line.c_str(), "%31[a-z],%lf,%lf", type, &start, &duration);
    if (std::string(type) != "video" && std::string(type) != "audio") continue;
    if (got != 3) {  // Matroska keeps no per-stream duration: use the container's
      return std::stod(testing::ProbeValue(path, "format=duration"));
    }
    end = std::max(end, start + duration);
  }
  return end;
}

int StreamsOfType(const std::string& path, const std::string& type) {
  const std::string types = testing::ProbeValue(path, "stream=codec_type");
  int n = 0;
  for (size_t p = types.find(type); p != std::string::npos; p = types.find(type, p + 1)) ++n;
  return n;
}

// Same frames at the same times, duration within one frame, audio kept, data dropped.
void ExpectFaithful(const std::string& source, const PipelineRun& run) {
  ASSERT_FALSE(run.output.empty());
  const auto src_times = testing::ProbePacketTimes(source);
  const auto out_times = testing::ProbePacketTimes(run.output);
  ASSERT_EQ(out_times.size(), src_times.size()) << source;
  for (size_t i = 0; i < src_times.size(); ++i) {
    ASSERT_NEAR(out_times[i], src_times[i], 2e-3) << source << " frame " << i;
  }
  const double fps = run.info.video.avg_frame_rate.ToDouble();
  const double frame = fps > 0 ? 1.0 / fps : 0.1;
  EXPECT_NEAR(Duration(run.output), Duration(source), frame + 1e-3) << source;
  EXPECT_EQ(StreamsOfType(run.output, "audio"), StreamsOfType(source, "audio")) << source;
  EXPECT_EQ(StreamsOfType(run.output, "data"), 0) << source;
  EXPECT_EQ(StreamsOfType(run.output, "video"), 1) << source;
  // moov before mdat: playable while downloading.
  std::ifstream in(run.output, std::ios::binary);
  std::string head(1 << 20, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  const size_t moov = head.find("moov"), mdat = head.find("mdat");
  ASSERT_NE(moov, std::string::npos) << "moov not in the first MiB: not fast-start";
  EXPECT_LT(moov, mdat);
}

class RealClipTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RealClipTest, ChunkConvertReassemble) {
  TempDir dir;
  const std::string source = testing::SharedClip(GetParam());
  PipelineRun run = RunPipeline(source, dir);
  EXPECT_GE(run.segments, 2);
  ExpectFaithful(source, run);
}

INSTANTIATE_TEST_SUITE_P(SharedMedia, RealClipTest,
                         ::testing::Values("gopro_max-heromode.mp4",
                                           "intel_one-by-one-person-detection.mp4",
                                           "mdn_chroma-keying_video.mp4", "mdn_flower.mp4",
                                           "mdn_flower.webm"),
                         [](const auto& p) {
                           std::string n = p.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

// Guards the list above against clips added to the shared folder later.
TEST(RealClipListTest, CoversEveryClip) {
  EXPECT_EQ(testing::SharedClips().size(), 5u)
      << "a clip was added to ../shared/media/video: add it to RealClipTest";
}

struct EdgeCase {
  std::string name;
  std::string ffmpeg_args;  // output file appended
  std::string ext;
};

void PrintTo(const EdgeCase& c, std::ostream* os) { *os << c.name; }

class EdgeCaseTest : public ::testing::TestWithParam<EdgeCase> {};

TEST_P(EdgeCaseTest, ChunkConvertReassemble) {
  TempDir dir;
  const std::string source = dir.File("src." + GetParam().ext);
  ASSERT_TRUE(Ffmpeg(GetParam().ffmpeg_args + " " + source));
  PipelineRun run = RunPipeline(source, dir);
  ExpectFaithful(source, run);
}

const char kTone[] = "-f lavfi -i sine=f=440:d=2:r=48000 ";

INSTANTIATE_TEST_SUITE_P(
    Lavfi, EdgeCaseTest,
    ::testing::Values(
        EdgeCase{"fps12_5",
                 "-f lavfi -i testsrc2=s=96x64:r=12.5:d=3 " + std::string(kTone) +
                     "-c:v libx264 -g 6 -c:a aac -shortest",
                 "mp4"},
        EdgeCase{"ntsc60", "-f lavfi -i testsrc2=s=96x64:r=60000/1001:d=2 -c:v libx264 -g 30",
                 "mp4"},
        EdgeCase{"vfr",
                 "-f lavfi -i testsrc2=s=96x64:r=25:d=3 "
                 "-vf \"select='not(eq(mod(n,7),3))*not(eq(mod(n,5),1))'\" -fps_mode passthrough "
                 "-c:v libx264 -g 12",
                 "mp4"},
        EdgeCase{"sparse_keyframes",
                 "-f lavfi -i testsrc2=s=64x48:r=10:d=12 -c:v libx264 -g 100 -keyint_min 100 "
                 "-sc_threshold 0",
                 "mp4"},
        EdgeCase{"no_audio_mov", "-f lavfi -i testsrc2=s=96x64:r=25:d=2 -c:v libx264 -g 10", "mov"},
        EdgeCase{"mkv_vorbis",
                 "-f lavfi -i testsrc2=s=96x64:r=25:d=2 " + std::string(kTone) +
                     "-c:v libx264 -g 10 -c:a libvorbis -shortest",
                 "mkv"},
        EdgeCase{"webm_vp9_opus",
                 "-f lavfi -i testsrc2=s=96x64:r=25:d=2 " + std::string(kTone) +
                     "-c:v libvpx-vp9 -deadline realtime -g 10 -c:a libopus "
                     "-shortest",
                 "webm"},
        EdgeCase{"hevc10",
                 "-f lavfi -i testsrc2=s=96x64:r=25:d=2 -c:v libx265 -pix_fmt "
                 "yuv420p10le -x265-params log-level=none:keyint=10:open-gop=0",
                 "mp4"},
        // x265's default open GOPs: CRA keyframes with leading pictures are not cut points.
        EdgeCase{"hevc_open_gop",
                 "-f lavfi -i testsrc2=s=96x64:r=25:d=2 -c:v libx265 "
                 "-x265-params log-level=none:keyint=10",
                 "mp4"},
        EdgeCase{"odd_853x479",
                 "-f lavfi -i testsrc=s=853x479:r=10:d=2 -c:v libx264 -pix_fmt "
                 "yuv444p -g 5",
                 "mkv"}),
    [](const auto& p) { return p.param.name; });

// Audio that beeps exactly when the video flashes, cut into >= 4 segments and reassembled: every
// beep still starts within one frame of its flash (AAC copied from MP4 and Vorbis re-encoded).
class SyncTest : public ::testing::TestWithParam<std::string> {};

std::vector<double> FlashTimes(const std::string& path) {
  const auto times = testing::ProbeFrameTimes(path);
  const std::string gray = testing::Run("ffmpeg -v error -i '" + path +
                                        "' -map 0:v -f rawvideo -pix_fmt gray -s 16x12 -");
  std::vector<double> out;
  const size_t frame = 16 * 12;
  for (size_t f = 0; f * frame < gray.size() && f < times.size(); ++f) {
    long sum = 0;
    for (size_t i = 0; i < frame; ++i) sum += static_cast<unsigned char>(gray[f * frame + i]);
    if (sum / static_cast<long>(frame) > 128) out.push_back(times[f]);
  }
  return out;
}

std::vector<double> BeepTimes(const std::string& path) {
  const double start = std::stod(testing::ProbeValue(path, "stream=start_time", "a:0"));
  const std::string pcm =
      testing::Run("ffmpeg -v error -i '" + path + "' -map 0:a -f s16le -ac 1 -ar 48000 -");
  std::vector<double> out;
  const size_t n = pcm.size() / 2;
  size_t quiet = 48000;  // samples since the last loud one
  for (size_t i = 0; i < n; ++i) {
    int16_t s = 0;
    std::memcpy(&s, pcm.data() + 2 * i, 2);
    if (std::abs(s) > 4000) {
      if (quiet > 2400) out.push_back(start + static_cast<double>(i) / 48000);
      quiet = 0;
    } else {
      ++quiet;
    }
  }
  return out;
}

TEST_P(SyncTest, BeepsStayOnFlashes) {
  TempDir dir;
  const std::string source = dir.File("beep." + GetParam());
  const std::string audio = GetParam() == "mkv" ? "-c:a libvorbis" : "-c:a aac";
  ASSERT_TRUE(Ffmpeg(
      "-f lavfi -i \"color=c=black:s=64x48:r=25:d=4,"
      "drawbox=c=white:t=fill:enable='eq(mod(n,10),3)'\" "
      "-f lavfi -i \"aevalsrc='if(eq(mod(floor(t*25),10),3),0.8*sin(2*PI*1000*t),0)':s=48000:d=4\" "
      "-c:v libx264 -g 12 -keyint_min 12 -sc_threshold 0 " +
      audio + " " + source));
  PipelineRun run = RunPipeline(source, dir);
  EXPECT_GE(run.segments, 4);
  const auto flashes = FlashTimes(run.output);
  const auto beeps = BeepTimes(run.output);
  ASSERT_EQ(flashes.size(), 10u);
  ASSERT_EQ(beeps.size(), flashes.size());
  for (size_t i = 0; i < beeps.size(); ++i) {
    EXPECT_NEAR(beeps[i], flashes[i], 1.0 / 25) << "beep " << i;
  }
  ExpectFaithful(source, run);
}

INSTANTIATE_TEST_SUITE_P(Containers, SyncTest, ::testing::Values("mp4", "mkv"));

TEST(ReassemblerTest, WritesStereoMetadata) {
  TempDir dir;
  const std::string source = dir.File("s.mp4");
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=96x64:r=25:d=2 -c:v libx264 -g 10 " + source));
  ReassembleOptions opt;
  opt.stereo = StereoLayout::kSideBySide;
  PipelineRun run = RunPipeline(source, dir, opt);
  EXPECT_EQ(testing::ProbeValue(run.output, "stream_side_data=side_data_type", "v:0"), "Stereo 3D");
  EXPECT_EQ(testing::ProbeValue(run.output, "stream_side_data=type", "v:0"), "side by side");
  opt.stereo = StereoLayout::kTopBottom;
  auto again = Reassemble(source, {run.output}, dir.File("tb.mp4"), opt);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(testing::ProbeValue(dir.File("tb.mp4"), "stream_side_data=type", "v:0"),
            "top and bottom");
}

TEST(ReassemblerTest, SubtitlesComeBackAsMovText) {
  TempDir dir;
  {
    std::ofstream srt(dir.File("s.srt"));
    srt << "1\n00:00:00,500 --> 00:00:01,200\nHello\n\n2\n00:00:01,500 --> 00:00:01,900\nWorld\n";
  }
  const std::string source = dir.File("sub.mkv");
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=96x64:r=25:d=2 -i " + dir.File("s.srt") +
                     " -c:v libx264 -g 10 -c:s srt " + source));
  PipelineRun run = RunPipeline(source, dir);
  EXPECT_EQ(run.stats.subtitle_streams, 1);
  EXPECT_EQ(testing::ProbeValue(run.output, "stream=codec_name", "s:0"), "mov_text");
  const std::string cues = testing::Run(
      "ffprobe -v error -select_streams s:0 -show_entries "
      "packet=pts_time -of csv=p=0 '" +
      run.output + "'");
  // The MP4 muxer fills the gaps between cues with empty samples; the cues keep their times.
  EXPECT_NE(cues.find("0.500000\n"), std::string::npos) << cues;
  EXPECT_NE(cues.find("1.500000\n"), std::string::npos) << cues;
  ExpectFaithful(source, run);
}

TEST(ReassemblerTest, Errors) {
  TempDir dir;
  const std::string source = dir.File("s.mp4");
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=96x64:r=25:d=1 -c:v libx264 " + source));
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=64x48:r=25:d=1 -c:v libx264 " + dir.File("o.mp4")));
  EXPECT_EQ(Reassemble(source, {}, dir.File("f.mp4")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Reassemble(source, {dir.File("missing.mp4")}, dir.File("f.mp4")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Reassemble(source, {source, dir.File("o.mp4")}, dir.File("f.mp4")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir.File("f.mp4")));
}

}  // namespace
}  // namespace stereospot::media
