#include "stereo/packing.h"

#include <cmath>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "stereo/stereo_renderer.h"
#include "stereo/test_scene.h"

namespace stereospot::stereo {
namespace {

using test_scene::GreenCentroidX;
using test_scene::MakeTestScene;

cv::Vec3b Bgr(int r, int g, int b) {
  return cv::Vec3b(static_cast<uint8_t>(b), static_cast<uint8_t>(g), static_cast<uint8_t>(r));
}

cv::Vec3b AnaglyphOf(cv::Vec3b left, cv::Vec3b right, AnaglyphMethod method) {
  const cv::Mat l(2, 2, CV_8UC3, cv::Scalar(left[0], left[1], left[2]));
  const cv::Mat r(2, 2, CV_8UC3, cv::Scalar(right[0], right[1], right[2]));
  cv::Mat out;
  EXPECT_TRUE(MakeAnaglyph(l, r, method, &out).ok());
  return out.at<cv::Vec3b>(1, 1);
}

TEST(Anaglyph, SimpleMethodsOnKnownColours) {
  const cv::Vec3b red = Bgr(255, 0, 0), blue = Bgr(0, 0, 255), white = Bgr(255, 255, 255);
  const cv::Vec3b black = Bgr(0, 0, 0);
  EXPECT_EQ(AnaglyphOf(red, blue, AnaglyphMethod::kColor), Bgr(255, 0, 255));
  EXPECT_EQ(AnaglyphOf(blue, red, AnaglyphMethod::kColor), Bgr(0, 0, 0));
  EXPECT_EQ(AnaglyphOf(white, black, AnaglyphMethod::kGray), Bgr(255, 0, 0));
  EXPECT_EQ(AnaglyphOf(black, white, AnaglyphMethod::kGray), Bgr(0, 255, 255));
  // Gray: luma of (100, 150, 200) = 0.299*100 + 0.587*150 + 0.114*200 = 140.75.
  EXPECT_EQ(AnaglyphOf(Bgr(100, 150, 200), black, AnaglyphMethod::kGray), Bgr(141, 0, 0));
  EXPECT_EQ(AnaglyphOf(Bgr(100, 150, 200), Bgr(1, 2, 3), AnaglyphMethod::kHalfColor),
            Bgr(141, 2, 3));
  // Wimmer: red = 0.7 * 100 + 0.3 * 200 = 130 from the left; green and blue from the right.
  EXPECT_EQ(AnaglyphOf(Bgr(0, 100, 200), Bgr(10, 20, 30), AnaglyphMethod::kWimmer),
            Bgr(130, 20, 30));
}

double Srgb(double linear) {
  return linear <= 0.0031308 ? 12.92 * linear : 1.055 * std::pow(linear, 1 / 2.4) - 0.055;
}
double Linear(double srgb) {
  return srgb <= 0.04045 ? srgb / 12.92 : std::pow((srgb + 0.055) / 1.055, 2.4);
}

TEST(Anaglyph, DuboisIsAppliedInLinearLight) {
  // Both eyes white: each row of L + R sums to ~1, so white stays white.
  const cv::Vec3b white = Bgr(255, 255, 255), black = Bgr(0, 0, 0);
  const cv::Vec3b w = AnaglyphOf(white, white, AnaglyphMethod::kDubois);
  for (int c = 0; c < 3; ++c) EXPECT_GE(w[c], 254);
  // Left mid-gray, right black: red = sRGB(1.132965 * linear(128/255)); green, blue clip to 0.
  const double red = Srgb(1.132965 * Linear(128.0 / 255.0)) * 255.0;
  const cv::Vec3b g = AnaglyphOf(Bgr(128, 128, 128), black, AnaglyphMethod::kDubois);
  EXPECT_NEAR(g[2], red, 1.0);
  EXPECT_NEAR(red, 135.6, 0.5);  // in gamma space it would be 1.133 * 128 = 145
  EXPECT_EQ(g[1], 0);
  EXPECT_EQ(g[0], 0);
  // Right pure blue: blue = sRGB(1.2264) clips to 255, red and green go negative and clip.
  EXPECT_EQ(AnaglyphOf(black, Bgr(0, 0, 255), AnaglyphMethod::kDubois), Bgr(0, 0, 255));
}

TEST(Anaglyph, RejectsMismatchedViews) {
  cv::Mat out;
  const cv::Mat a(4, 4, CV_8UC3), b(4, 5, CV_8UC3), c(4, 4, CV_8UC1);
  EXPECT_TRUE(MakeAnaglyph(a, b, AnaglyphMethod::kDubois, &out).IsInvalidArgument());
  EXPECT_TRUE(MakeAnaglyph(a, c, AnaglyphMethod::kDubois, &out).IsInvalidArgument());
  EXPECT_TRUE(MakeAnaglyph(a, a, AnaglyphMethod::kDubois, nullptr).IsInvalidArgument());
}

TEST(PackedSize, PerLayout) {
  EXPECT_EQ(*PackedSize(Layout::kSbs, 640, 360), cv::Size(1280, 360));
  EXPECT_EQ(*PackedSize(Layout::kCross, 640, 360), cv::Size(1280, 360));
  EXPECT_EQ(*PackedSize(Layout::kRgbd, 640, 360), cv::Size(1280, 360));
  EXPECT_EQ(*PackedSize(Layout::kTb, 640, 360), cv::Size(640, 720));
  EXPECT_EQ(*PackedSize(Layout::kHalfSbs, 640, 360), cv::Size(640, 360));
  EXPECT_EQ(*PackedSize(Layout::kHalfTb, 640, 360), cv::Size(640, 360));
  EXPECT_EQ(*PackedSize(Layout::kAnaglyph, 640, 360), cv::Size(640, 360));
  EXPECT_TRUE(PackedSize(Layout::kHalfSbs, 641, 360).status().IsInvalidArgument());
  EXPECT_TRUE(PackedSize(Layout::kHalfTb, 640, 361).status().IsInvalidArgument());
  EXPECT_TRUE(PackedSize(Layout::kSbs, 0, 360).status().IsInvalidArgument());
}

// Renders the test scene (square at depth 1, plane at 0, convergence 0.5) with `layout` and
// returns the green centroid of row 32 in each eye, in source pixels.
struct EyeCentroids {
  double left;
  double right;
};
EyeCentroids RenderScene(Layout layout, bool swap) {
  const auto scene = MakeTestScene(128, 64, cv::Rect(48, 16, 32, 32));
  StereoOptions options;
  options.layout = layout;
  options.swap_eyes = swap;
  options.divergence = 5.0;  // 0.025 * 128 * 0.5 = 1.6 px per eye each way
  auto renderer = StereoRenderer::Create(options);
  EXPECT_TRUE(renderer.ok());
  cv::Mat out;
  EXPECT_TRUE(renderer->Render(scene.image, scene.depth, &out).ok());
  const int w = 128, h = 64;
  cv::Mat first, second;
  double sx = 1.0;
  switch (layout) {
    case Layout::kSbs:
    case Layout::kCross:
      first = out.colRange(0, w);
      second = out.colRange(w, 2 * w);
      break;
    case Layout::kTb:
      first = out.rowRange(0, h);
      second = out.rowRange(h, 2 * h);
      break;
    case Layout::kHalfSbs:
      first = out.colRange(0, w / 2);
      second = out.colRange(w / 2, w);
      sx = 2.0;
      break;
    case Layout::kHalfTb: {
      cv::resize(out.rowRange(0, h / 2), first, cv::Size(w, h), 0, 0, cv::INTER_NEAREST);
      cv::resize(out.rowRange(h / 2, h), second, cv::Size(w, h), 0, 0, cv::INTER_NEAREST);
      break;
    }
    default:
      break;
  }
  EyeCentroids c{sx * GreenCentroidX(first, 32), sx * GreenCentroidX(second, 32)};
  if (layout == Layout::kCross) std::swap(c.left, c.right);
  return c;
}

class LayoutGeometryTest : public ::testing::TestWithParam<Layout> {};

TEST_P(LayoutGeometryTest, NearSquareHasCrossedParallaxInEachEye) {
  const EyeCentroids c = RenderScene(GetParam(), false);
  // Source centroid 63.5. The square is 1.6 px in front per eye, but the plane around it goes
  // 1.6 px the other way; the square's own displacement is what is measured.
  EXPECT_NEAR(c.left, 63.5 + 1.6, 1.0) << LayoutName(GetParam());
  EXPECT_NEAR(c.right, 63.5 - 1.6, 1.0) << LayoutName(GetParam());
  EXPECT_GT(c.left - c.right, 2.0);
}

TEST_P(LayoutGeometryTest, SwapEyesReversesParallax) {
  const EyeCentroids c = RenderScene(GetParam(), true);
  EXPECT_LT(c.left - c.right, -2.0) << LayoutName(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Layouts, LayoutGeometryTest,
                         ::testing::Values(Layout::kSbs, Layout::kHalfSbs, Layout::kTb,
                                           Layout::kHalfTb, Layout::kCross));

TEST(Layout, AnaglyphPutsTheLeftEyeInRed) {
  // A red plane (R 200, G 40, B 40) with a green square in front of it.
  auto scene = MakeTestScene(128, 64, cv::Rect(48, 16, 32, 32));
  scene.image.setTo(cv::Scalar(40, 40, 200));
  scene.image(scene.square).setTo(cv::Scalar(0, 255, 0));
  StereoOptions options;
  options.layout = Layout::kAnaglyph;
  options.anaglyph = AnaglyphMethod::kColor;
  options.divergence = 5.0;
  auto renderer = StereoRenderer::Create(options);
  ASSERT_TRUE(renderer.ok());
  cv::Mat out;
  ASSERT_TRUE(renderer->Render(scene.image, scene.depth, &out).ok());
  ASSERT_EQ(out.size(), scene.image.size());
  // The square spans [49.6, 81.6) in the left eye and [46.4, 78.4) in the right.
  EXPECT_EQ(out.at<cv::Vec3b>(32, 47), Bgr(200, 255, 0));   // left: plane, right: square
  EXPECT_EQ(out.at<cv::Vec3b>(32, 60), Bgr(0, 255, 0));     // both: square
  EXPECT_EQ(out.at<cv::Vec3b>(32, 80), Bgr(0, 40, 40));     // left: square, right: plane
  EXPECT_EQ(out.at<cv::Vec3b>(32, 100), Bgr(200, 40, 40));  // both: plane
}

TEST(Layout, RgbdShowsDepthAsGray) {
  const auto scene = MakeTestScene(64, 32, cv::Rect(16, 8, 16, 16));
  StereoOptions options;
  options.layout = Layout::kRgbd;
  auto renderer = StereoRenderer::Create(options);
  ASSERT_TRUE(renderer.ok());
  cv::Mat out;
  ASSERT_TRUE(renderer->Render(scene.image, scene.depth, &out).ok());
  ASSERT_EQ(out.size(), cv::Size(128, 32));
  EXPECT_EQ(cv::norm(out.colRange(0, 64), scene.image, cv::NORM_INF), 0.0);
  EXPECT_EQ(out.at<cv::Vec3b>(16, 64 + 20), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(out.at<cv::Vec3b>(2, 64 + 2), cv::Vec3b(0, 0, 0));
  EXPECT_TRUE(renderer->RenderWithShift(scene.image, scene.depth, &out).IsInvalidArgument());
}

TEST(Layout, SteadyStateReusesTheOutput) {
  const auto scene = MakeTestScene(64, 32, cv::Rect(16, 8, 16, 16));
  auto renderer = StereoRenderer::Create(StereoOptions{});
  ASSERT_TRUE(renderer.ok());
  cv::Mat out;
  ASSERT_TRUE(renderer->Render(scene.image, scene.depth, &out).ok());
  const uint8_t* data = out.data;
  ASSERT_TRUE(renderer->Render(scene.image, scene.depth, &out).ok());
  EXPECT_EQ(out.data, data);
}

TEST(Options, ValidationNamesTheField) {
  StereoOptions options;
  options.divergence = 12.0;
  auto r = StereoRenderer::Create(options);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("divergence"), std::string::npos);
  options = StereoOptions{};
  options.convergence = -0.1;
  r = StereoRenderer::Create(options);
  EXPECT_NE(r.status().message().find("convergence"), std::string::npos);
  options = StereoOptions{};
  options.layout = static_cast<Layout>(99);
  EXPECT_TRUE(ValidateStereoOptions(options).IsInvalidArgument());
}

TEST(Options, ParsersRoundTripAndRejectUnknownNames) {
  for (Layout l : {Layout::kSbs, Layout::kHalfSbs, Layout::kTb, Layout::kHalfTb, Layout::kCross,
                   Layout::kAnaglyph, Layout::kRgbd}) {
    EXPECT_EQ(*ParseLayout(LayoutName(l)), l);
  }
  for (AnaglyphMethod m : {AnaglyphMethod::kDubois, AnaglyphMethod::kColor, AnaglyphMethod::kGray,
                           AnaglyphMethod::kHalfColor, AnaglyphMethod::kWimmer}) {
    EXPECT_EQ(*ParseAnaglyphMethod(AnaglyphMethodName(m)), m);
  }
  EXPECT_EQ(*ParseRenderMethod("backward"), RenderMethod::kBackwardWarp);
  auto bad = ParseLayout("SBS");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("half-sbs"), std::string::npos);  // lists the choices
  EXPECT_TRUE(ParseAnaglyphMethod("").status().IsInvalidArgument());
}

TEST(Layout, OddSizeForHalfLayoutIsAClearError) {
  StereoOptions options;
  options.layout = Layout::kHalfSbs;
  auto renderer = StereoRenderer::Create(options);
  ASSERT_TRUE(renderer.ok());
  const cv::Mat frame(8, 9, CV_8UC3, cv::Scalar(0));
  const cv::Mat depth(4, 4, CV_32FC1, cv::Scalar(0.5f));
  cv::Mat out;
  const Status s = renderer->Render(frame, depth, &out);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("even width"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace stereospot::stereo

namespace stereospot::stereo {
namespace {

TEST(StereoRenderer, FusedShiftRowsMatchShiftFromDepth) {
  cv::Mat depth(27, 48, CV_32FC1);
  cv::randu(depth, 0.0f, 1.0f);
  StereoOptions options;
  options.divergence = 3.0;
  options.convergence = 0.3;
  auto renderer = StereoRenderer::Create(options);
  ASSERT_TRUE(renderer.ok());
  cv::Mat fused, reference;
  ASSERT_TRUE(renderer->ShiftMapForTesting(depth, 320, 180, &fused).ok());
  ASSERT_TRUE(ShiftFromDepth(depth, 3.0, 0.3, 320, 180, &reference).ok());
  EXPECT_LT(cv::norm(fused, reference, cv::NORM_INF), 1e-3);
}

TEST(StereoRenderer, RenderEqualsRenderWithTheShiftMap) {
  const auto scene = MakeTestScene(96, 48, cv::Rect(30, 10, 30, 20));
  cv::Mat depth;
  cv::resize(scene.depth, depth, cv::Size(24, 12), 0, 0, cv::INTER_AREA);
  auto renderer = StereoRenderer::Create(StereoOptions{});
  ASSERT_TRUE(renderer.ok());
  cv::Mat shift, a, b;
  ASSERT_TRUE(ShiftFromDepth(depth, 2.0, 0.5, 96, 48, &shift).ok());
  ASSERT_TRUE(renderer->Render(scene.image, depth, &a).ok());
  ASSERT_TRUE(renderer->RenderWithShift(scene.image, shift, &b).ok());
  // Float rounding of the two shift computations may move a blend weight by one step.
  EXPECT_LE(cv::norm(a, b, cv::NORM_INF), 2.0);
}

}  // namespace
}  // namespace stereospot::stereo

namespace stereospot::stereo {
namespace {

TEST(Anaglyph, RgbByteOrderGivesTheSameColours) {
  // Left (R 100, G 150, B 200), right (R 10, G 20, B 30), as BGR and as RGB bytes.
  const cv::Mat left_bgr(2, 2, CV_8UC3, cv::Scalar(200, 150, 100));
  const cv::Mat right_bgr(2, 2, CV_8UC3, cv::Scalar(30, 20, 10));
  const cv::Mat left_rgb(2, 2, CV_8UC3, cv::Scalar(100, 150, 200));
  const cv::Mat right_rgb(2, 2, CV_8UC3, cv::Scalar(10, 20, 30));
  for (auto method : {AnaglyphMethod::kDubois, AnaglyphMethod::kGray, AnaglyphMethod::kWimmer}) {
    cv::Mat bgr, rgb;
    ASSERT_TRUE(MakeAnaglyph(left_bgr, right_bgr, method, &bgr, ChannelOrder::kBgr).ok());
    ASSERT_TRUE(MakeAnaglyph(left_rgb, right_rgb, method, &rgb, ChannelOrder::kRgb).ok());
    const cv::Vec3b a = bgr.at<cv::Vec3b>(0, 0), b = rgb.at<cv::Vec3b>(0, 0);
    EXPECT_EQ(a[0], b[2]);
    EXPECT_EQ(a[1], b[1]);
    EXPECT_EQ(a[2], b[0]);
  }
}

}  // namespace
}  // namespace stereospot::stereo

namespace stereospot::stereo {
namespace {

TEST(PackViews, HalfLayoutsAverageNeighbourPairs) {
  cv::Mat left(4, 4, CV_8UC3), right(4, 4, CV_8UC3);
  cv::randu(left, 0, 256);
  cv::randu(right, 0, 256);
  StereoOptions options;
  options.layout = Layout::kHalfSbs;
  cv::Mat out;
  ASSERT_TRUE(PackViews(left, right, options, &out).ok());
  ASSERT_EQ(out.size(), cv::Size(4, 4));
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(out.at<cv::Vec3b>(1, 1)[c],
              (left.at<cv::Vec3b>(1, 2)[c] + left.at<cv::Vec3b>(1, 3)[c] + 1) / 2);
    EXPECT_EQ(out.at<cv::Vec3b>(2, 2)[c],
              (right.at<cv::Vec3b>(2, 0)[c] + right.at<cv::Vec3b>(2, 1)[c] + 1) / 2);
  }
  options.layout = Layout::kHalfTb;
  ASSERT_TRUE(PackViews(left, right, options, &out).ok());
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(out.at<cv::Vec3b>(1, 3)[c],
              (left.at<cv::Vec3b>(2, 3)[c] + left.at<cv::Vec3b>(3, 3)[c] + 1) / 2);
    EXPECT_EQ(out.at<cv::Vec3b>(2, 0)[c],
              (right.at<cv::Vec3b>(0, 0)[c] + right.at<cv::Vec3b>(1, 0)[c] + 1) / 2);
  }
}

}  // namespace
}  // namespace stereospot::stereo
