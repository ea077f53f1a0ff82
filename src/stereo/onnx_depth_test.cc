// Tests of the onnx depth backend against PyTorch: the project's export tool builds each
// architecture with random weights at a small input size, exports it and writes PyTorch's output
// on a fixed image; the backend must reproduce it from C++ (relative error < 1e-4).
//
// The exported models are cached in the build tree, keyed by the tool's content, and made under
// a file lock: ctest runs each test in its own process, possibly in parallel, and the export of
// the ViT costs about 15 s.
#include "stereo/onnx_depth.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <sys/file.h>
#include <unistd.h>

#include "stereo/depth_factory.h"

namespace stereospot::stereo {
namespace {

namespace fs = std::filesystem;

constexpr const char* kInstallHint =
    "run `bash scripts/install-deps.sh` (installs python3-torch, python3-numpy, python3-onnx)";

struct TestModel {
  const char* family;
  int width;
  int height;
  const char* file;
};
// Small inputs keep the test fast: a 14 x 14 patch grid for the ViT (the real architecture:
// 384-dim, 12 blocks, 6 heads), and 128 px for the CNN.
constexpr TestModel kDa2{"depth-anything-v2", 196, 196, "da2_196.onnx"};
constexpr TestModel kMidas{"midas-small", 128, 128, "midas_128.onnx"};

// Debian's interpreter, which has python3-torch (a python3 earlier on PATH may not).
std::string Python() {
  if (const char* env = std::getenv("STEREOSPOT_PYTHON")) return env;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<float> ReadFloats(const fs::path& path, size_t count) {
  std::vector<float> v(count);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(count * sizeof(float)));
  if (static_cast<size_t>(in.gcount()) != count * sizeof(float)) v.clear();
  return v;
}

// Holds an flock on `path` for its lifetime.
class FileLock {
 public:
  explicit FileLock(const fs::path& path) : fd_(::open(path.c_str(), O_CREAT | O_RDWR, 0644)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// Exports `model` (once per tool version) and returns its .onnx path, or fails the test with
// the reason. Never skips: a missing torch is a broken set-up, and the message says how to fix it.
fs::path ExportedModel(const TestModel& model) {
  const fs::path tool = fs::path(STEREOSPOT_SOURCE_DIR) / "tools" / "export_depth_onnx.py";
  const std::string source = ReadText(tool);
  if (source.empty()) {
    ADD_FAILURE() << "cannot read " << tool;
    return {};
  }
  const fs::path dir = fs::path(STEREOSPOT_BINARY_DIR) / "onnx_test_models" /
                       std::to_string(std::hash<std::string>{}(source));
  fs::create_directories(dir);
  const fs::path onnx = dir / model.file;
  const fs::path done = dir / (std::string(model.file) + ".done");
  FileLock lock(dir / "lock");
  if (fs::exists(done)) return onnx;

  const fs::path log = dir / (std::string(model.file) + ".log");
  const std::string probe =
      Python() + " -c 'import torch, numpy, onnx' > '" + log.string() + "' 2>&1";
  if (std::system(probe.c_str()) != 0) {
    ADD_FAILURE() << Python() << " cannot import torch, numpy and onnx: " << kInstallHint << "\n"
                  << ReadText(log);
    return {};
  }
  std::ostringstream cmd;
  cmd << Python() << " '" << tool.string() << "' --family " << model.family
      << " --random-weights --seed 7 --width " << model.width << " --height " << model.height
      << " --reference --output '" << onnx.string() << "' > '" << log.string() << "' 2>&1";
  if (std::system(cmd.str().c_str()) != 0) {
    ADD_FAILURE() << "export failed: " << cmd.str() << "\n" << ReadText(log);
    return {};
  }
  std::ofstream(done) << "ok\n";
  // Exports made by earlier versions of the tool are about 100 MB each: drop them.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir.parent_path(), ec)) {
    if (entry.path() != dir) fs::remove_all(entry.path(), ec);
  }
  return onnx;
}

// The reference image (float32 H x W x 3, RGB values 0..255) as 8-bit RGB.
cv::Mat ReferenceImage(const fs::path& onnx, const TestModel& model) {
  const std::vector<float> v = ReadFloats(onnx.string() + ".ref_input.f32",
                                          static_cast<size_t>(model.width) * model.height * 3);
  if (v.empty()) return {};
  cv::Mat f(model.height, model.width, CV_32FC3, const_cast<float*>(v.data()));
  cv::Mat rgb;
  f.convertTo(rgb, CV_8UC3);
  return rgb;
}

struct Errors {
  double rel_l2 = 0;   // ||a - b|| / ||b||
  double rel_max = 0;  // max |a - b| / max |b|
};

Errors Compare(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0, max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
    max_diff = std::max(max_diff, std::abs(d));
    max_ref = std::max(max_ref, std::abs(static_cast<double>(b[i])));
  }
  return {std::sqrt(num / std::max(den, 1e-30)), max_diff / std::max(max_ref, 1e-30)};
}

void ExpectMatchesPyTorch(const TestModel& model) {
  const fs::path onnx = ExportedModel(model);
  ASSERT_FALSE(onnx.empty());
  auto estimator = MakeDepthEstimator("onnx:" + onnx.string(), {});
  ASSERT_TRUE(estimator.ok()) << estimator.status().ToString();
  EXPECT_EQ(estimator.value()->name(), "onnx:" + onnx.string());

  const cv::Mat rgb = ReferenceImage(onnx, model);
  ASSERT_FALSE(rgb.empty());
  const std::vector<float> want = ReadFloats(onnx.string() + ".ref_output.f32",
                                             static_cast<size_t>(model.width) * model.height);
  ASSERT_FALSE(want.empty());

  DepthMap depth;
  ASSERT_TRUE(estimator.value()->Estimate(ImageViewOf(rgb, ChannelOrder::kRgb), &depth).ok());
  ASSERT_EQ(depth.width, model.width);
  ASSERT_EQ(depth.height, model.height);
  const Errors e = Compare(depth.values, want);
  std::printf("%s %dx%d: relative error %.3g (L2), %.3g (max)\n", model.family, model.width,
              model.height, e.rel_l2, e.rel_max);
  EXPECT_LT(e.rel_l2, 1e-4);
  EXPECT_LT(e.rel_max, 1e-4);

  // The same frame in B G R order gives the same depth.
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  DepthMap again;
  ASSERT_TRUE(estimator.value()->Estimate(ImageViewOf(bgr), &again).ok());
  EXPECT_EQ(again.values, depth.values);
}

TEST(OnnxDepthTest, DepthAnythingV2MatchesPyTorch) { ExpectMatchesPyTorch(kDa2); }

TEST(OnnxDepthTest, MidasSmallMatchesPyTorch) { ExpectMatchesPyTorch(kMidas); }

TEST(OnnxDepthTest, OtherFrameSizesKeepTheirAspectRatio) {
  const fs::path onnx = ExportedModel(kMidas);
  ASSERT_FALSE(onnx.empty());
  DepthEstimatorOptions options;
  options.depth_resolution = 90;
  auto estimator = OnnxDepthEstimator::Open("onnx", onnx, options);
  ASSERT_TRUE(estimator.ok()) << estimator.status().ToString();
  cv::Mat frame(240, 320, CV_8UC3);
  cv::randu(frame, 0, 255);
  DepthMap depth;
  ASSERT_TRUE(estimator.value()->Estimate(ImageViewOf(frame), &depth).ok());
  EXPECT_EQ(depth.height, 90);
  EXPECT_EQ(depth.width, 120);
  ASSERT_EQ(depth.values.size(), 90u * 120u);
  for (float v : depth.values) ASSERT_TRUE(std::isfinite(v));

  // A tiny frame is enlarged for the network, and the map is never larger than the frame.
  cv::Mat tiny(20, 30, CV_8UC3, cv::Scalar(10, 200, 90));
  ASSERT_TRUE(estimator.value()->Estimate(ImageViewOf(tiny), &depth).ok());
  EXPECT_EQ(depth.width, 30);
  EXPECT_EQ(depth.height, 20);

  EXPECT_TRUE(estimator.value()->Estimate(ImageView{}, &depth).IsInvalidArgument());
  EXPECT_TRUE(estimator.value()->Estimate(ImageViewOf(frame), nullptr).IsInvalidArgument());
}

// A scratch directory under the build tree, emptied first.
fs::path Scratch(const std::string& name) {
  const fs::path dir = fs::path(STEREOSPOT_BINARY_DIR) / "onnx_test_scratch" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(OnnxDepthTest, MissingModelOrManifestIsPermanent) {
  const fs::path dir = Scratch("missing");
  auto missing = MakeDepthEstimator("onnx:" + (dir / "nope.onnx").string(), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kPermanent) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("does not exist"), std::string::npos);

  std::ofstream(dir / "bare.onnx") << "x";
  auto bare = MakeDepthEstimator("onnx:" + (dir / "bare.onnx").string(), {});
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.status().code(), StatusCode::kPermanent);
  EXPECT_TRUE(LoadOnnxManifest(dir / "bare.onnx").status().IsNotFound());
  EXPECT_NE(bare.status().message().find("manifest"), std::string::npos);
  EXPECT_NE(bare.status().message().find("export_depth_onnx.py"), std::string::npos);

  EXPECT_TRUE(MakeDepthEstimator("onnx:", {}).status().IsInvalidArgument());
}

TEST(OnnxDepthTest, InvalidManifestFileIsPermanent) {
  const fs::path dir = Scratch("invalid_manifest");
  std::ofstream(dir / "m.onnx") << "x";
  std::ofstream(dir / "m.onnx.json") << R"({"family":"depth-anything-v2","input_width":500})";
  auto r = MakeDepthEstimator("onnx:" + (dir / "m.onnx").string(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermanent) << r.status().ToString();
  EXPECT_NE(r.status().message().find("m.onnx.json"), std::string::npos);
}

TEST(OnnxDepthTest, ManifestIsValidated) {
  const auto parse = [](const std::string& json) { return ParseOnnxManifest(json, "m.json"); };
  auto ok = parse(R"({"family":"depth-anything-v2","input_width":518,"input_height":392})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok.value().family, OnnxModelFamily::kDepthAnythingV2);
  EXPECT_EQ(ok.value().input_width, 518);
  EXPECT_FLOAT_EQ(ok.value().std[2], 0.225f);
  auto midas = parse(
      R"({"family":"midas-small","input_width":256,"input_height":256,"mean":[0.5,0.5,0.5],
          "std":[0.5,0.5,0.5],"channel_order":"bgr"})");
  ASSERT_TRUE(midas.ok()) << midas.status().ToString();
  EXPECT_TRUE(midas.value().bgr_input);
  EXPECT_FLOAT_EQ(midas.value().mean[0], 0.5f);

  for (const char* bad : {
           "not json",
           "[]",
           R"({"family":"dpt-large","input_width":384,"input_height":384})",
           R"({"family":"depth-anything-v2","input_width":500,"input_height":392})",
           R"({"family":"depth-anything-v2","input_width":518})",
           R"({"family":"midas-small","input_width":250,"input_height":256})",
           R"({"family":"midas-small","input_width":0,"input_height":256})",
           R"({"family":"midas-small","input_width":256,"input_height":256,"std":[1,0,1]})",
           R"({"family":"midas-small","input_width":256,"input_height":256,"mean":[1,2]})",
           R"({"family":"midas-small","input_width":256,"input_height":256,"output":"depth"})",
       }) {
    auto r = parse(bad);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad << " -> " << r.status().ToString();
  }
}

TEST(OnnxDepthTest, GraphOpenCvCannotImportSaysHowToReExport) {
  const fs::path dir = Scratch("garbage");
  std::ofstream(dir / "bad.onnx") << "this is not an ONNX protobuf";
  std::ofstream(dir / "bad.onnx.json")
      << R"({"family":"midas-small","input_width":256,"input_height":256})";
  auto r = MakeDepthEstimator("onnx:" + (dir / "bad.onnx").string(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermanent) << r.status().ToString();
  EXPECT_NE(r.status().message().find("export_depth_onnx.py"), std::string::npos);
}

TEST(OnnxDepthTest, ManifestSizeTheGraphWasNotExportedForIsPermanent) {
  const fs::path onnx = ExportedModel(kDa2);
  ASSERT_FALSE(onnx.empty());
  const fs::path dir = Scratch("wrong_size");
  fs::copy_file(onnx, dir / "model.onnx");
  // model.json (extension replaced) is the second place a manifest is looked for.
  std::ofstream(dir / "model.json")
      << R"({"family":"depth-anything-v2","input_width":182,"input_height":126})";
  auto r = OnnxDepthEstimator::Open("onnx", dir / "model.onnx", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermanent) << r.status().ToString();
  EXPECT_NE(r.status().message().find("--width"), std::string::npos);
}

}  // namespace
}  // namespace stereospot::stereo
