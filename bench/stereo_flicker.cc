// Flicker of normalised depth on real clips, temporal normalisation on vs off (issue 5).
//
//   stereo_flicker [CLIP...]   (default: the clips in ../shared/media/video)
//
// Frames are decoded by the ffmpeg command-line tool (a test-time oracle, never part of the
// product) at 384 px short side, depth comes from the builtin backend, and the metric is
// FlickerMeter's: mean |change of normalised depth| between consecutive frames over pixels whose
// luma did not change (static regions), scene cuts excluded. Lower is steadier.
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "stereo/builtin_depth.h"
#include "stereo/depth_factory.h"
#include "stereo/temporal.h"

namespace {

using namespace stereospot::stereo;  // NOLINT: a small tool

bool ProbeSize(const std::string& clip, int* width, int* height) {
  const std::string cmd =
      "ffprobe -v error -select_streams v:0 -show_entries stream=width,height "
      "-of csv=p=0 '" +
      clip + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return false;
  const int n = std::fscanf(p, "%d,%d", width, height);
  pclose(p);
  return n == 2 && *width > 0 && *height > 0;
}

int Measure(const std::string& clip) {
  int w = 0, h = 0;
  if (!ProbeSize(clip, &w, &h)) {
    std::fprintf(stderr, "%s: cannot probe (is ffprobe installed? scripts/install-deps.sh)\n",
                 clip.c_str());
    return 1;
  }
  // 384 px short side, even sizes.
  const double s = 384.0 / std::min(w, h);
  const int ow = static_cast<int>(w * s / 2) * 2, oh = static_cast<int>(h * s / 2) * 2;
  const std::string cmd = "ffmpeg -v error -i '" + clip + "' -vf scale=" + std::to_string(ow) +
                          ":" + std::to_string(oh) + " -f rawvideo -pix_fmt bgr24 -";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return 1;

  stereospot::DepthEstimatorOptions depth_options;
  depth_options.motion_cue = std::getenv("FLICKER_NO_MOTION") == nullptr;
  BuiltinDepthEstimator estimator(depth_options);
  SceneCutDetector detector;
  TemporalNormaliser normaliser(NormaliserOptions{});
  FlickerMeter off, on;
  std::deque<std::pair<cv::Mat, bool>> waiting;  // frames whose depth the normaliser holds
  stereospot::DepthMap map;
  cv::Mat frame(oh, ow, CV_8UC3), single, smoothed;
  int frames = 0, cuts = 0;
  const auto drain = [&]() {
    while (normaliser.Pop(&smoothed)) {
      if (!on.Add(waiting.front().first, smoothed, waiting.front().second).ok()) return false;
      waiting.pop_front();
    }
    return true;
  };
  while (std::fread(frame.data, 1, frame.total() * 3, pipe) == frame.total() * 3) {
    const bool cut = detector.IsCut(frame);
    if (cut) estimator.Reset();
    cuts += cut ? 1 : 0;
    ++frames;
    if (!estimator.Estimate(ImageViewOf(frame), &map).ok()) return 1;
    const cv::Mat raw(map.height, map.width, CV_32FC1, map.values.data());
    if (!NormaliseFrame(raw, NormaliserOptions{}, &single).ok()) return 1;
    if (!off.Add(frame, single, cut).ok()) return 1;
    if (!normaliser.Push(raw, cut).ok()) return 1;
    waiting.emplace_back(frame.clone(), cut);
    if (!drain()) return 1;
  }
  pclose(pipe);
  normaliser.Finish();
  if (!drain()) return 1;
  std::printf("%s: %d frames at %dx%d, %d scene cuts; flicker off %.5f, on %.5f (%.1fx lower)\n",
              clip.c_str(), frames, ow, oh, cuts, off.mean(), on.mean(),
              on.mean() > 0 ? off.mean() / on.mean() : 0.0);
  return frames > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> clips(argv + 1, argv + argc);
  if (clips.empty()) {
    const std::string dir = std::string(STEREOSPOT_SHARED_DIR) + "/media/video/";
    clips = {dir + "gopro_max-heromode.mp4", dir + "mdn_flower.mp4",
             dir + "intel_one-by-one-person-detection.mp4"};
  }
  int rc = 0;
  for (const auto& clip : clips) rc |= Measure(clip);
  return rc;
}
