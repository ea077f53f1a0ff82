// End to end on real clips (issue #6, item 6): `stereospot convert` (the real binary, the whole
// pipeline on a private embedded backend) on the first 3 s of every clip in
// ../shared/media/video with default parameters, and on one clip with each layout. Each output
// must decode fully (every frame of the source, no decoder error), last as long as the source
// within one frame, keep the audio when the source has it, and have the layout's frame size.
// ffmpeg and ffprobe are the oracle.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/conversion_params.h"
#include "media/test_clips.h"

namespace stereospot {
namespace {

namespace fs = std::filesystem;
using media::testing::Ffmpeg;
using media::testing::ProbeValue;
using media::testing::Run;
using media::testing::TempDir;

constexpr double kCutSeconds = 3.0;
constexpr char kLayoutClip[] = "mdn_chroma-keying_video.mp4";  // 320x192 at 59.94 fps, AAC

std::string SharedVideoDir() { return std::string(STEREOSPOT_SHARED_DIR) + "/media/video"; }

// The clips' file names, for the test parameters (empty when the folder is absent; the
// SharedClipsArePresent test then fails with instructions).
std::vector<std::string> ClipNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(SharedVideoDir(), ec)) {
    if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string TestNameOf(const std::string& text) {
  std::string name;
  for (char c : text) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

// The stereospot binary under test: $TEST_STEREOSPOT_BIN when set (another build, or a copy
// that a concurrent rebuild cannot replace mid-run), else the one built beside this test.
std::string StereospotBinary() {
  const char* bin = std::getenv("TEST_STEREOSPOT_BIN");
  return bin != nullptr && *bin != '\0' ? bin : STEREOSPOT_BIN;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// The first kCutSeconds of `clip`, stream-copied into `dir`. Every stream is kept where the
// container allows it; a data track it cannot hold (a GoPro fdsc track in MP4) is left out.
std::string CutClip(const TempDir& dir, const std::string& clip) {
  const std::string out = dir.File("source" + fs::path(clip).extension().string());
  const std::string cut = "-i " + Quote(clip) + " -t " + std::to_string(kCutSeconds);
  bool ok = false;
  Run("ffmpeg -nostdin -v error -y " + cut + " -map 0 -c copy " + Quote(out) + " 2>&1", &ok);
  if (ok) return out;
  std::string maps = "-map 0:v -map 0:a?";
  const std::string data = ProbeValue(clip, "stream=index", "d");
  std::istringstream indices(data);
  std::string index;
  while (std::getline(indices, index)) {
    const std::string with = maps + " -map 0:" + index;
    Run("ffmpeg -nostdin -v error -y " + cut + " " + with + " -c copy " + Quote(out) + " 2>&1",
        &ok);
    if (ok) maps = with;
  }
  EXPECT_TRUE(Ffmpeg(cut + " " + maps + " -c copy " + Quote(out)));
  return out;
}

struct VideoFacts {
  int frames = 0;         // decoded frames
  std::string errors;     // what the decoder said at -v error
  double duration = 0;    // first frame's start to last frame's end, in seconds
  double frame_rate = 0;  // average frames per second
  int width = 0;
  int height = 0;
  bool has_audio = false;
  int audio_frames = 0;  // decoded audio frames
};

double ParseRate(const std::string& rate) {
  const auto slash = rate.find('/');
  if (slash == std::string::npos) return rate.empty() ? 0 : std::stod(rate);
  const double den = std::stod(rate.substr(slash + 1));
  return den == 0 ? 0 : std::stod(rate.substr(0, slash)) / den;
}

// Decodes every video frame (and audio frame) of `path` with ffmpeg and measures it with ffprobe.
VideoFacts Examine(const TempDir& dir, const std::string& path) {
  VideoFacts facts;
  const std::string errors = dir.File("decode-errors.txt");
  bool ok = false;
  const std::string sums = Run("ffmpeg -nostdin -hide_banner -v error -i " + Quote(path) +
                                   " -map 0:v:0 -f framemd5 - 2>" + Quote(errors),
                               &ok);
  EXPECT_TRUE(ok) << "ffmpeg could not decode " << path;
  std::istringstream lines(sums);
  std::string line;
  while (std::getline(lines, line)) facts.frames += !line.empty() && line[0] != '#';
  std::ifstream err(errors);
  std::getline(err, facts.errors, '\0');

  facts.width = std::atoi(ProbeValue(path, "stream=width", "v:0").c_str());
  facts.height = std::atoi(ProbeValue(path, "stream=height", "v:0").c_str());
  facts.frame_rate = ParseRate(ProbeValue(path, "stream=avg_frame_rate", "v:0"));
  if (facts.frame_rate <= 0)
    facts.frame_rate = ParseRate(ProbeValue(path, "stream=r_frame_rate", "v:0"));
  // Span of the decoded frames: min(pts) to max(pts + duration); a frame without a duration
  // lasts 1 / rate.
  const std::string times =
      Run("ffprobe -v error -select_streams v:0 -show_entries "
          "frame=pts_time,duration_time -of csv=p=0 " +
          Quote(path));
  double first = 1e18, end = -1e18;
  std::istringstream rows(times);
  while (std::getline(rows, line)) {
    const auto comma = line.find(',');
    const std::string pts = line.substr(0, comma);
    if (pts.empty() || pts == "N/A") continue;
    std::string dur = comma == std::string::npos ? "" : line.substr(comma + 1);
    dur.erase(std::remove(dur.begin(), dur.end(), ','), dur.end());
    const double start = std::stod(pts);
    const double length = dur.empty() || dur == "N/A"
                              ? (facts.frame_rate > 0 ? 1 / facts.frame_rate : 0)
                              : std::stod(dur);
    first = std::min(first, start);
    end = std::max(end, start + length);
  }
  facts.duration = end > first ? end - first : 0;

  facts.has_audio = !ProbeValue(path, "stream=index", "a").empty();
  if (facts.has_audio) {
    const std::string audio = Run("ffmpeg -nostdin -hide_banner -v error -i " + Quote(path) +
                                      " -map 0:a:0 -f framemd5 - 2>&1",
                                  &ok);
    EXPECT_TRUE(ok) << "ffmpeg could not decode the audio of " << path;
    std::istringstream audio_lines(audio);
    while (std::getline(audio_lines, line)) facts.audio_frames += !line.empty() && line[0] != '#';
  }
  return facts;
}

struct ConvertRun {
  bool ok = false;
  std::string output;  // stdout and stderr
};

ConvertRun Convert(const std::string& source, const std::string& out, const std::string& flags) {
  ConvertRun run;
  run.output = Run(StereospotBinary() + " convert " + Quote(source) + " -o " + Quote(out) +
                       " --preset ultrafast " + flags + " </dev/null 2>&1",
                   &run.ok);
  return run;
}

// The suffix the convert command names for the output ("a player-friendly name would end in
// _LR"), or empty.
std::string NamedSuffix(const std::string& output) {
  const std::string marker = "would end in ";
  const auto at = output.rfind(marker);
  if (at == std::string::npos) return "";
  const auto start = at + marker.size();
  const auto stop = output.find_first_of(")\n", start);
  return output.substr(start, stop - start);
}

// The output against its source: every frame, the same length within one frame, the audio kept.
void ExpectFaithful(const VideoFacts& source, const VideoFacts& out) {
  std::cerr << "[e2e] source " << source.width << "x" << source.height << " " << source.frames
            << " frames " << source.duration << " s audio " << source.audio_frames << " frames; "
            << "output " << out.width << "x" << out.height << " " << out.frames << " frames "
            << out.duration << " s audio " << out.audio_frames << " frames\n";
  EXPECT_GT(source.frames, 0);
  EXPECT_GT(source.duration, kCutSeconds - 0.5) << "the source cut is too short to prove much";
  EXPECT_EQ(out.frames, source.frames) << "the output does not decode to every source frame";
  EXPECT_TRUE(out.errors.empty()) << "decoder errors:\n" << out.errors.substr(0, 2000);
  const double frame = 1 / source.frame_rate;
  EXPECT_NEAR(out.duration, source.duration, frame + 1e-3)
      << "durations differ by more than one frame (" << frame << " s)";
  EXPECT_EQ(out.has_audio, source.has_audio);
  if (source.has_audio) {
    EXPECT_GT(out.audio_frames, 0) << "the audio does not decode";
  }
}

TEST(EndToEndTest, SharedClipsArePresent) {
  EXPECT_FALSE(ClipNames().empty())
      << "no clips in " << SharedVideoDir()
      << ": check out the shared/ folder beside the repo (../shared/media/video)";
}

class DefaultParamsTest : public ::testing::TestWithParam<std::string> {};

// Each clip with the default parameters (preset ultrafast, to bound the time).
TEST_P(DefaultParamsTest, ConvertsFaithfully) {
  TempDir dir;
  const std::string clip = SharedVideoDir() + "/" + GetParam();
  ASSERT_TRUE(fs::exists(clip)) << clip;
  const std::string source = CutClip(dir, clip);
  const VideoFacts in = Examine(dir, source);
  const std::string out = dir.File("out.mp4");
  const ConvertRun run = Convert(source, out, "");
  ASSERT_TRUE(run.ok) << run.output;
  const VideoFacts converted = Examine(dir, out);
  ExpectFaithful(in, converted);
  EXPECT_EQ(converted.width, 2 * in.width);  // sbs, the default layout
  EXPECT_EQ(converted.height, in.height);
  EXPECT_EQ(NamedSuffix(run.output), "_LRF_Full_SBS");
}

INSTANTIATE_TEST_SUITE_P(SharedClips, DefaultParamsTest, ::testing::ValuesIn(ClipNames()),
                         [](const auto& param_info) { return TestNameOf(param_info.param); });

struct LayoutCase {
  Layout layout;
  std::string suffix;  // what players recognise
  int width_factor;    // output size over the source's
  int height_factor;
};

// Names the case in test listings.
void PrintTo(const LayoutCase& c, std::ostream* os) { *os << LayoutName(c.layout); }

class LayoutTest : public ::testing::TestWithParam<LayoutCase> {};

// One clip in each layout: the frame size of the layout, the player suffix, and everything
// ExpectFaithful checks.
TEST_P(LayoutTest, ConvertsFaithfully) {
  const LayoutCase& c = GetParam();
  EXPECT_EQ(LayoutDownloadSuffix(c.layout, AnaglyphMethod::kDubois), c.suffix);
  TempDir dir;
  const std::string clip = SharedVideoDir() + "/" + kLayoutClip;
  ASSERT_TRUE(fs::exists(clip)) << clip << ": check out ../shared/media/video";
  const std::string source = CutClip(dir, clip);
  const VideoFacts in = Examine(dir, source);
  const std::string out = dir.File("out.mp4");
  const ConvertRun run = Convert(source, out, "--layout " + std::string(LayoutName(c.layout)));
  ASSERT_TRUE(run.ok) << run.output;
  const VideoFacts converted = Examine(dir, out);
  ExpectFaithful(in, converted);
  EXPECT_EQ(converted.width, in.width * c.width_factor);
  EXPECT_EQ(converted.height, in.height * c.height_factor);
  EXPECT_EQ(NamedSuffix(run.output), c.suffix);
}

INSTANTIATE_TEST_SUITE_P(EveryLayout, LayoutTest,
                         ::testing::Values(LayoutCase{Layout::kSbs, "_LRF_Full_SBS", 2, 1},
                                           LayoutCase{Layout::kHalfSbs, "_LR", 1, 1},
                                           LayoutCase{Layout::kTb, "_TBF_fulltb", 1, 2},
                                           LayoutCase{Layout::kHalfTb, "_TB", 1, 1},
                                           LayoutCase{Layout::kCross, "_RLF_cross", 2, 1},
                                           LayoutCase{Layout::kAnaglyph, "_redcyan_dubois", 1, 1},
                                           LayoutCase{Layout::kRgbd, "_RGBD", 2, 1}),
                         [](const auto& param_info) {
                           return TestNameOf(std::string(LayoutName(param_info.param.layout)));
                         });

// The number of segments `convert` reported ("wrote OUT (N segments, ...)"), or -1.
int WrittenSegments(const std::string& output) {
  const std::string marker = "wrote ";
  const auto at = output.rfind(marker);
  if (at == std::string::npos) return -1;
  const auto open = output.find(" (", at);
  if (open == std::string::npos) return -1;
  return std::atoi(output.c_str() + open + 2);
}

// `convert` cuts as many segments as it runs video workers (more would only add boundaries in
// one process), unless chunking.min_segments is set; and its progress counts frames as they are
// encoded, so a one-segment run still shows progress.
TEST(EndToEndTest, ConvertCutsOneSegmentPerVideoWorker) {
  TempDir dir;
  const std::string clip = SharedVideoDir() + "/intel_one-by-one-person-detection.mp4";
  ASSERT_TRUE(fs::exists(clip)) << clip << ": check out ../shared/media/video";
  const std::string source = dir.File("long.mp4");
  bool cut = false;
  media::testing::Run(
      "ffmpeg -nostdin -v error -y -i " + Quote(clip) + " -t 12 -c copy " + Quote(source) + " 2>&1",
      &cut);
  ASSERT_TRUE(cut) << "ffmpeg could not cut " << clip;
  const VideoFacts in = Examine(dir, source);
  struct Case {
    std::string settings;
    int segments;
  };
  for (const Case& c : {Case{"--set workers.video=1", 1}, Case{"--set workers.video=2", 2},
                        Case{"--set workers.video=1 --set chunking.min_segments=3", 3}}) {
    SCOPED_TRACE(c.settings);
    const std::string out = dir.File("out.mp4");
    bool ok = false;
    const std::string output =
        media::testing::Run(StereospotBinary() + " " + c.settings + " convert " + Quote(source) +
                                " -o " + Quote(out) + " --force --preset ultrafast </dev/null 2>&1",
                            &ok);
    ASSERT_TRUE(ok) << output;
    EXPECT_EQ(WrittenSegments(output), c.segments) << output;
    ExpectFaithful(in, Examine(dir, out));
    // The last progress line counts every frame.
    const auto last = output.rfind("progress: completed");
    ASSERT_NE(last, std::string::npos) << output;
    const std::string line = output.substr(last, output.find('\n', last) - last);
    EXPECT_NE(line.find(" frames=" + std::to_string(in.frames) + " "), std::string::npos)
        << line << " (the source has " << in.frames << " frames)";
  }
}

// The anaglyph suffix names its method, for every method.
TEST(EndToEndTest, AnaglyphSuffixNamesTheMethod) {
  for (AnaglyphMethod m : {AnaglyphMethod::kDubois, AnaglyphMethod::kColor, AnaglyphMethod::kGray,
                           AnaglyphMethod::kHalfColor, AnaglyphMethod::kWimmer}) {
    EXPECT_EQ(LayoutDownloadSuffix(Layout::kAnaglyph, m),
              "_redcyan_" + std::string(AnaglyphMethodName(m)));
  }
  EXPECT_EQ(LayoutDownloadSuffix(Layout::kAnaglyph, AnaglyphMethod::kGray), "_redcyan_gray");
}

}  // namespace
}  // namespace stereospot
