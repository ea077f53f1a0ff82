#include "media/segment_cutter.h"

#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "media/test_clips.h"

namespace stereospot::media {
namespace {

using testing::Ffmpeg;
using testing::TempDir;

std::string SegmentPath(const TempDir& dir, const SegmentSpec& s, int total) {
  char name[64];
  std::snprintf(name, sizeof(name), "%05d_%05d_sbs.mp4", s.index, total);
  return dir.File(name);
}

// Cuts `source`, then checks with ffprobe that the segments hold exactly the source's frames:
// same count and same presentation times, each segment decoding on its own.
void CutAndVerify(const std::string& source, int min_expected_segments) {
  auto info = Probe(source);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  SegmentPlanOptions popt;
  popt.min_segment_seconds = 0.5;
  auto plan = PlanSegments(*info, popt);
  ASSERT_TRUE(plan.ok());
  EXPECT_GE(plan->total(), min_expected_segments);
  TempDir dir;
  CutOptions opt;
  const int total = plan->total();
  opt.path_for = [&](const SegmentSpec& s) { return SegmentPath(dir, s, total); };
  int notified = 0;
  opt.on_written = [&](const WrittenSegment& w) {
    EXPECT_EQ(w.spec.index, notified++);
    EXPECT_TRUE(std::filesystem::exists(w.path));
    return Status::OK();
  };
  auto written = CutSegments(source, *info, *plan, opt);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_EQ(static_cast<int>(written->size()), total);
  EXPECT_EQ(notified, total);

  std::vector<double> all;
  for (const auto& w : *written) {
    const auto frames = testing::ProbeFrameTimes(w.path);
    EXPECT_EQ(static_cast<int64_t>(frames.size()), w.frames) << w.path << " decodes alone";
    EXPECT_EQ(testing::ProbeValue(w.path, "stream=codec_type"), "video") << "video only";
    all.insert(all.end(), frames.begin(), frames.end());
  }
  const auto expected = testing::ProbeFrameTimes(source);
  ASSERT_EQ(all.size(), expected.size()) << source;
  for (size_t i = 0; i < all.size(); ++i) ASSERT_NEAR(all[i], expected[i], 1e-3) << i;
  // Nothing but the published segments is left in the directory.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, total);
}

TEST(SegmentCutterTest, RealMp4WithBFrames) {
  CutAndVerify(testing::SharedClip("mdn_flower.mp4"), 2);
}

TEST(SegmentCutterTest, CameraFileWithDataTracks) {
  CutAndVerify(testing::SharedClip("gopro_max-heromode.mp4"), 2);
}

TEST(SegmentCutterTest, WebmVp8GoesToMatroskaSegments) {
  EXPECT_EQ(SegmentContainerFor("vp8"), "matroska");
  EXPECT_EQ(SegmentContainerFor("h264"), "mp4");
  CutAndVerify(testing::SharedClip("mdn_flower.webm"), 1);
}

TEST(SegmentCutterTest, GeneratedMkvMovAndVfr) {
  TempDir dir;
  const std::string base = "-f lavfi -i testsrc2=s=96x64:r=25:d=4 -c:v libx264 -g 20 ";
  ASSERT_TRUE(Ffmpeg(base + dir.File("a.mkv")));
  ASSERT_TRUE(Ffmpeg(base + dir.File("a.mov")));
  // Variable frame rate: drop frames irregularly and keep the gaps (vsync passthrough).
  ASSERT_TRUE(
      Ffmpeg("-f lavfi -i testsrc2=s=96x64:r=25:d=4 "
             "-vf \"select='not(eq(mod(n,7),3))*not(eq(mod(n,5),1))'\" "
             "-fps_mode passthrough -c:v libx264 -g 15 " +
             dir.File("vfr.mp4")));
  CutAndVerify(dir.File("a.mkv"), 4);
  CutAndVerify(dir.File("a.mov"), 4);
  CutAndVerify(dir.File("vfr.mp4"), 2);
}

TEST(SegmentCutterTest, FailingCallbackStopsTheCut) {
  const std::string source = testing::SharedClip("mdn_flower.mp4");
  auto info = Probe(source);
  ASSERT_TRUE(info.ok());
  SegmentPlanOptions popt;
  popt.min_segment_seconds = 0.5;
  auto plan = PlanSegments(*info, popt);
  ASSERT_TRUE(plan.ok());
  TempDir dir;
  CutOptions opt;
  opt.path_for = [&](const SegmentSpec& s) { return SegmentPath(dir, s, plan->total()); };
  opt.on_written = [](const WrittenSegment&) { return Status::Unavailable("queue down"); };
  auto written = CutSegments(source, *info, *plan, opt);
  EXPECT_EQ(written.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace stereospot::media
