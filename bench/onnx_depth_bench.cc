// Time per frame of the onnx depth backend (issue 5) for each network family at its real size:
// Depth Anything V2 Small at 518x392 and a MiDaS-small-class CNN at 256x256, with random weights
// (the time does not depend on the weights). Frames are the Tsukuba left view at 1280x720.
//
//   build/bench/onnx_depth_bench [--frames N] [--threads T] [MODEL.onnx ...]
//
// Without models it exports both families with tools/export_depth_onnx.py (Debian's
// python3-torch, about a minute) into a temporary directory. Prints wall and process CPU
// milliseconds per frame (median over N frames, default 3) and OpenCV's thread count.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include "stereo/depth_factory.h"

namespace stereospot::stereo {
namespace {

namespace fs = std::filesystem;

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

cv::Mat Frame() {
  const std::string path =
      std::string(STEREOSPOT_SHARED_DIR) + "/media/stereo/tsukuba/scene1.row3.col3.ppm";
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) {
    std::fprintf(stderr, "onnx_depth_bench: %s not found\n", path.c_str());
    std::exit(1);
  }
  cv::Mat out;
  cv::resize(image, out, cv::Size(1280, 720), 0, 0, cv::INTER_CUBIC);
  return out;
}

// Exports both families at their real sizes into `dir`; returns the .onnx paths.
std::vector<std::string> ExportModels(const fs::path& dir) {
  const std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const std::string tool = std::string(STEREOSPOT_SOURCE_DIR) + "/tools/export_depth_onnx.py";
  struct Spec {
    const char* family;
    int width, height;
  };
  std::vector<std::string> paths;
  for (const Spec& s : {Spec{"depth-anything-v2", 518, 392}, Spec{"midas-small", 256, 256}}) {
    const std::string out = (dir / (std::string(s.family) + ".onnx")).string();
    const std::string cmd = python + " '" + tool + "' --family " + s.family +
                            " --random-weights --width " + std::to_string(s.width) + " --height " +
                            std::to_string(s.height) + " --output '" + out + "'";
    std::fprintf(stderr, "onnx_depth_bench: %s\n", cmd.c_str());
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "onnx_depth_bench: export failed (bash scripts/install-deps.sh)\n");
      std::exit(1);
    }
    paths.push_back(out);
  }
  return paths;
}

int Run(int argc, char** argv) {
  int frames = 3;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--frames" && i + 1 < argc) {
      frames = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--threads" && i + 1 < argc) {
      cv::setNumThreads(std::atoi(argv[++i]));
    } else {
      models.push_back(arg);
    }
  }
  fs::path temp;
  if (models.empty()) {
    temp = fs::temp_directory_path() / ("onnx_depth_bench." + std::to_string(getpid()));
    fs::create_directories(temp);
    models = ExportModels(temp);
  }
  const cv::Mat frame = Frame();
  std::printf("%-28s %10s %10s %8s %8s\n", "model", "load s", "wall ms", "cpu ms", "threads");
  for (const std::string& model : models) {
    const double load_start = WallSeconds();
    auto estimator = MakeDepthEstimator("onnx:" + model, DepthEstimatorOptions{});
    if (!estimator.ok()) {
      std::fprintf(stderr, "%s\n", estimator.status().ToString().c_str());
      return 1;
    }
    const double load = WallSeconds() - load_start;
    DepthMap depth;
    std::vector<double> wall, cpu;
    for (int i = 0; i < frames; ++i) {
      const double w0 = WallSeconds();
      const double c0 = CpuSeconds();
      if (!estimator.value()->Estimate(ImageViewOf(frame), &depth).ok()) return 1;
      cpu.push_back((CpuSeconds() - c0) * 1e3);
      wall.push_back((WallSeconds() - w0) * 1e3);
    }
    std::printf("%-28s %10.2f %10.1f %8.1f %8d\n", fs::path(model).filename().c_str(), load,
                Median(wall), Median(cpu), cv::getNumThreads());
  }
  if (!temp.empty()) fs::remove_all(temp);
  return 0;
}

}  // namespace
}  // namespace stereospot::stereo

int main(int argc, char** argv) { return stereospot::stereo::Run(argc, argv); }
