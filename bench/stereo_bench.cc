// Benchmarks of the stereo step (issue 5): each stage at 1920x1080, and the whole step into
// full side-by-side, which must reach 60 fps on one core. BM_StereoStep runs with one OpenCV
// thread (pin the process to one core too); BM_StereoStepParallel with OpenCV's default:
//   taskset -c 1 build/bench/stereo_bench --benchmark_filter=StereoStep/
// Frames are the Tsukuba left view scaled up (real texture), depth from the builtin backend.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <benchmark/benchmark.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "stereo/builtin_depth.h"
#include "stereo/depth_factory.h"
#include "stereo/packing.h"
#include "stereo/stereo_renderer.h"
#include "stereo/temporal.h"
#include "stereo/view_synth.h"

namespace stereospot::stereo {
namespace {

constexpr int kWidth = 1920;
constexpr int kHeight = 1080;

cv::Mat Source(int width, int height) {
  const std::string path =
      std::string(STEREOSPOT_SHARED_DIR) + "/media/stereo/tsukuba/scene1.row3.col3.ppm";
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) {
    std::fprintf(stderr, "stereo_bench: %s not found (shared media must sit beside the repo)\n",
                 path.c_str());
    std::exit(1);
  }
  cv::Mat out;
  cv::resize(image, out, cv::Size(width, height), 0, 0, cv::INTER_CUBIC);
  return out;
}

// Normalised depth of the source at 384 px short side, as the pipeline would produce it.
cv::Mat Depth(const cv::Mat& source) {
  BuiltinDepthEstimator estimator(DepthEstimatorOptions{});
  DepthMap map;
  if (!estimator.Estimate(ImageViewOf(source), &map).ok()) std::exit(1);
  cv::Mat raw(map.height, map.width, CV_32FC1, map.values.data());
  cv::Mat depth;
  if (!NormaliseFrame(raw, NormaliserOptions{}, &depth).ok()) std::exit(1);
  if (!DilateForeground(&depth, 2).ok()) std::exit(1);
  return depth;
}

void SetFps(benchmark::State& state) {
  state.counters["fps"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_ShiftFromDepth(benchmark::State& state) {
  const cv::Mat depth = Depth(Source(kWidth, kHeight));
  cv::Mat shift;
  for (auto _ : state) {
    if (!ShiftFromDepth(depth, 2.0, 0.5, kWidth, kHeight, &shift).ok()) state.SkipWithError("");
    benchmark::DoNotOptimize(shift.data);
  }
  SetFps(state);
}
BENCHMARK(BM_ShiftFromDepth)->Unit(benchmark::kMillisecond);

void BM_RenderEye(benchmark::State& state) {
  const auto method = static_cast<RenderMethod>(state.range(0));
  const cv::Mat source = Source(kWidth, kHeight);
  cv::Mat shift;
  if (!ShiftFromDepth(Depth(source), 2.0, 0.5, kWidth, kHeight, &shift).ok()) std::exit(1);
  ViewSynthesizer synth;
  cv::Mat out;
  for (auto _ : state) {
    if (!synth.Render(source, shift, Eye::kLeft, method, &out).ok()) state.SkipWithError("");
    benchmark::DoNotOptimize(out.data);
  }
  state.SetLabel(std::string(RenderMethodName(method)));
  SetFps(state);
}
BENCHMARK(BM_RenderEye)
    ->Arg(static_cast<int>(RenderMethod::kForwardSplat))
    ->Arg(static_cast<int>(RenderMethod::kBackwardWarp))
    ->Unit(benchmark::kMillisecond);

// Packing two ready views (a copy); the renderer avoids it for full layouts.
void BM_PackViews(benchmark::State& state) {
  const auto layout = static_cast<Layout>(state.range(0));
  const cv::Mat left = Source(kWidth, kHeight);
  const cv::Mat right = left.clone();
  StereoOptions options;
  options.layout = layout;
  cv::Mat out;
  for (auto _ : state) {
    if (!PackViews(left, right, options, &out).ok()) state.SkipWithError("");
    benchmark::DoNotOptimize(out.data);
  }
  state.SetLabel(std::string(LayoutName(layout)));
  SetFps(state);
}
BENCHMARK(BM_PackViews)
    ->Arg(static_cast<int>(Layout::kSbs))
    ->Arg(static_cast<int>(Layout::kHalfSbs))
    ->Arg(static_cast<int>(Layout::kAnaglyph))
    ->Unit(benchmark::kMillisecond);

// Sets OpenCV's thread count for one benchmark and restores it afterwards.
class ThreadCount {
 public:
  explicit ThreadCount(int threads) : saved_(cv::getNumThreads()) {
    if (threads > 0) cv::setNumThreads(threads);
  }
  ~ThreadCount() { cv::setNumThreads(saved_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

// The whole stereo step: upsample depth to shift, both views, packing. range(2): OpenCV threads
// (0: OpenCV's default, rows in parallel).
void BM_StereoStep(benchmark::State& state) {
  const ThreadCount threads(static_cast<int>(state.range(2)));
  StereoOptions options;
  options.layout = static_cast<Layout>(state.range(0));
  options.renderer = static_cast<RenderMethod>(state.range(1));
  const cv::Mat source = Source(kWidth, kHeight);
  const cv::Mat depth = Depth(source);
  auto renderer = StereoRenderer::Create(options);
  if (!renderer.ok()) std::exit(1);
  cv::Mat out;
  for (auto _ : state) {
    if (!renderer->Render(source, depth, &out).ok()) state.SkipWithError("");
    benchmark::DoNotOptimize(out.data);
  }
  state.SetLabel(std::string(LayoutName(options.layout)) + "/" +
                 std::string(RenderMethodName(options.renderer)));
  SetFps(state);
}
BENCHMARK(BM_StereoStep)
    ->Args({static_cast<int>(Layout::kSbs), static_cast<int>(RenderMethod::kForwardSplat), 1})
    ->Args({static_cast<int>(Layout::kSbs), static_cast<int>(RenderMethod::kBackwardWarp), 1})
    ->Args({static_cast<int>(Layout::kHalfSbs), static_cast<int>(RenderMethod::kForwardSplat), 1})
    ->Args({static_cast<int>(Layout::kAnaglyph), static_cast<int>(RenderMethod::kForwardSplat), 1})
    ->Unit(benchmark::kMillisecond);
// Rows in parallel on every core OpenCV uses; wall time is what counts here.
BENCHMARK(BM_StereoStep)
    ->Name("BM_StereoStepParallel")
    ->Args({static_cast<int>(Layout::kSbs), static_cast<int>(RenderMethod::kForwardSplat), 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Depth estimation (not part of the stereo step): builtin at 384 px short side, from a frame
// already at that size and from a 1080p frame (which adds the downscale).
void BM_BuiltinDepth(benchmark::State& state) {
  const int h = static_cast<int>(state.range(0));
  const cv::Mat source = Source(h * 16 / 9, h);
  BuiltinDepthEstimator estimator(DepthEstimatorOptions{});
  DepthMap map;
  for (auto _ : state) {
    if (!estimator.Estimate(ImageViewOf(source), &map).ok()) state.SkipWithError("");
    benchmark::DoNotOptimize(map.values.data());
  }
  SetFps(state);
}
BENCHMARK(BM_BuiltinDepth)->Arg(256)->Arg(384)->Arg(1080)->Unit(benchmark::kMillisecond);

void BM_TemporalNormaliser(benchmark::State& state) {
  const cv::Mat depth = Depth(Source(683, 384));
  TemporalNormaliser normaliser(NormaliserOptions{});
  cv::Mat out;
  bool first = true;
  for (auto _ : state) {
    if (!normaliser.Push(depth, first).ok()) state.SkipWithError("");
    first = false;
    normaliser.Pop(&out);
    benchmark::DoNotOptimize(out.data);
  }
  SetFps(state);
}
BENCHMARK(BM_TemporalNormaliser)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace stereospot::stereo

BENCHMARK_MAIN();
