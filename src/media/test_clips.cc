#include "media/test_clips.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

extern "C" {
#include <libavutil/log.h>
}

#include <gtest/gtest.h>
#include <stdlib.h>

namespace stereospot::media::testing {

namespace {

constexpr char kInstall[] =
    "install the ffmpeg CLI (test oracle only): sudo scripts/install-deps.sh "
    "(or apt-get install ffmpeg)";

bool HaveTool(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

std::vector<double> ParseTimes(const std::string& text) {
  std::vector<double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line.erase(std::remove(line.begin(), line.end(), ','), line.end());
    if (line.empty() || line == "N/A") continue;
    out.push_back(std::stod(line));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "stereospot_media_XXXXXX").string();
  char* made = ::mkdtemp(tmpl.data());
  if (made == nullptr) ADD_FAILURE() << "mkdtemp failed for " << tmpl;
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SharedClip(const std::string& name) {
  const std::string path = std::string(STEREOSPOT_SHARED_DIR) + "/media/video/" + name;
  if (!std::filesystem::exists(path)) {
    ADD_FAILURE() << "missing test clip " << path
                  << ": check out the shared/ folder beside the repo (../shared/media/video)";
  }
  return path;
}

std::vector<std::string> SharedClips() {
  const std::string dir = std::string(STEREOSPOT_SHARED_DIR) + "/media/video";
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) {
    ADD_FAILURE() << "no clips in " << dir
                  << ": check out the shared/ folder beside the repo (../shared/media/video)";
  }
  return out;
}

std::string Run(const std::string& command, bool* ok) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    if (ok != nullptr) *ok = false;
    return out;
  }
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int rc = ::pclose(pipe);
  if (ok != nullptr) *ok = rc == 0;
  if (rc != 0 && ok == nullptr) ADD_FAILURE() << "command failed (" << rc << "): " << command;
  return out;
}

bool MakeColourClips(const TempDir& dir) {
  const std::string color = "-f lavfi -i color=c=0x3366CC:s=64x48:r=10:d=0.5 ";
  return Ffmpeg(color +
                "-vf scale=out_color_matrix=bt709:out_range=tv,format=yuv420p10le "
                "-c:v libx265 -x265-params log-level=none -colorspace bt709 -color_range tv " +
                dir.File("ten.mp4")) &&
         Ffmpeg(color + "-c:v libx264 -pix_fmt yuvj420p -colorspace smpte170m " +
                dir.File("full.mp4"));
}

bool MakeRotatedClip(int width, int height, const std::string& upright,
                     const std::string& rotated) {
  return Ffmpeg("-f lavfi -i testsrc2=s=" + std::to_string(width) + "x" + std::to_string(height) +
                ":r=10:d=1 -c:v libx264 -crf 10 " + upright) &&
         Ffmpeg("-i " + upright + " -c copy -metadata:s:v:0 rotate=90 " + rotated);
}

bool Ffmpeg(const std::string& args) {
  if (!HaveTool("ffmpeg")) {
    ADD_FAILURE() << "ffmpeg not found: " << kInstall;
    return false;
  }
  bool ok = false;
  Run("ffmpeg -nostdin -hide_banner -v error -y " + args + " 2>&1", &ok);
  if (!ok) ADD_FAILURE() << "ffmpeg failed: ffmpeg " << args;
  return ok;
}

static std::string Ffprobe(const std::string& args) {
  if (!HaveTool("ffprobe")) {
    ADD_FAILURE() << "ffprobe not found: " << kInstall;
    return "";
  }
  return Run("ffprobe -v error " + args);
}

std::vector<double> ProbeFrameTimes(const std::string& path) {
  return ParseTimes(
      Ffprobe("-select_streams v:0 -show_entries frame=pts_time -of csv=p=0 '" + path + "'"));
}

std::vector<double> ProbePacketTimes(const std::string& path) {
  return ParseTimes(
      Ffprobe("-select_streams v:0 -show_entries packet=pts_time -of csv=p=0 '" + path + "'"));
}

std::string ProbeValue(const std::string& path, const std::string& entries,
                       const std::string& select) {
  std::string sel = select.empty() ? "" : "-select_streams " + select + " ";
  std::string out =
      Ffprobe(sel + "-show_entries " + entries + " -of default=nw=1:nk=1 '" + path + "'");
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace stereospot::media::testing

namespace {
// libx264 and friends log at INFO to stderr; keep test output readable.
const int kQuietLibav = [] {
  av_log_set_level(AV_LOG_ERROR);
  return 0;
}();
}  // namespace

// LeakSanitizer hook (read only in the sanitizer build): libx265 3.5 (Debian 12) leaks its frame
// filter buffers at encoder close for some picture sizes (FrameFilter::init, seen with 852x478).
// The leak is inside x265's own allocator, not in our owners, so it is suppressed by library.
extern "C" const char* __lsan_default_suppressions() { return "leak:libx265.so\n"; }
