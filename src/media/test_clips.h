// Test helpers for the media tests: temporary directories, clips generated with the ffmpeg CLI
// (lavfi sources) and ffprobe as an oracle. Tests only; the product never runs these programs.
// Every helper that cannot find its tool or input fails the test with a message saying how to
// get it (never skips).
#pragma once

#include <string>
#include <vector>

namespace stereospot::media::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Path of a clip in ../shared/media/video; ADD_FAILURE()s with instructions when it is missing.
std::string SharedClip(const std::string& name);
// Every clip in ../shared/media/video (fails the test when the folder is absent or empty).
std::vector<std::string> SharedClips();

// Runs a shell command and returns its stdout; ADD_FAILURE()s with the command and exit status
// when it fails. `ok` (optional) receives whether it succeeded.
std::string Run(const std::string& command, bool* ok = nullptr);

// Runs "ffmpeg -v error -y <args>"; fails the test with install advice when ffmpeg is absent.
bool Ffmpeg(const std::string& args);

// Two 0.5 s clips of the flat colour 0x3366CC (64x48, 10 fps, 5 frames) in `dir`, for colour
// handling checks: "ten.mp4" (10-bit HEVC, BT.709, limited range) and "full.mp4" (H.264 yuvj420p,
// full range, BT.601). False (with a test failure) when ffmpeg fails.
bool MakeColourClips(const TempDir& dir);

// A testsrc2 clip of width x height (1 s, 10 fps) at `upright`, and the same stream at `rotated`
// carrying a 90 degree display matrix (a phone's portrait video). False (with a test failure)
// when ffmpeg fails.
bool MakeRotatedClip(int width, int height, const std::string& upright, const std::string& rotated);

// Presentation times (seconds) of the video frames of `path`, in presentation order, as ffprobe
// reports them after decoding (frames) or from a packet scan (packets).
std::vector<double> ProbeFrameTimes(const std::string& path);
std::vector<double> ProbePacketTimes(const std::string& path);
// A single ffprobe value, e.g. ProbeValue(path, "format=duration").
std::string ProbeValue(const std::string& path, const std::string& entries,
                       const std::string& select = "");

}  // namespace stereospot::media::testing
