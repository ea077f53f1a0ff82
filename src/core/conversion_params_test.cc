#include "core/conversion_params.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stereospot {
namespace {

using nlohmann::json;

TEST(ConversionParamsTest, EmptyObjectGivesDesignDefaults) {
  auto p = ConversionParams::FromJson(json::object());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->layout, Layout::kSbs);
  EXPECT_EQ(p->divergence, 2.0);
  EXPECT_EQ(p->convergence, 0.5);
  EXPECT_EQ(p->depth, "builtin");
  EXPECT_EQ(p->edge_dilation, 2);
  EXPECT_TRUE(p->temporal);
  EXPECT_FALSE(p->swap_eyes);
  EXPECT_EQ(p->codec, "libx264");
  EXPECT_EQ(p->crf, 20);
  EXPECT_EQ(p->preset, "medium");
  EXPECT_EQ(p->pix_fmt, "yuv420p");
}

TEST(ConversionParamsTest, RoundTripsThroughJson) {
  auto p = ConversionParams::FromJson(json{{"layout", "anaglyph"},
                                           {"anaglyph", "wimmer"},
                                           {"divergence", 3.5},
                                           {"crf", 18},
                                           {"depth", "onnx:/models/da2.onnx"},
                                           {"swap_eyes", true}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto again = ConversionParams::FromJson(p->ToJson());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToJson(), p->ToJson());
  EXPECT_EQ(again->layout, Layout::kAnaglyph);
  EXPECT_EQ(again->anaglyph, AnaglyphMethod::kWimmer);
}

TEST(ConversionParamsTest, RejectsBadValuesNamingTheField) {
  struct Case {
    json input;
    std::string field;
  };
  const Case cases[] = {
      {json{{"layout", "3d"}}, "layout"},
      {json{{"layout", 1}}, "layout"},
      {json{{"anaglyph", "blue"}}, "anaglyph"},
      {json{{"divergence", 0}}, "divergence"},
      {json{{"divergence", 11}}, "divergence"},
      {json{{"divergence", "2"}}, "divergence"},
      {json{{"convergence", -0.1}}, "convergence"},
      {json{{"convergence", 1.5}}, "convergence"},
      {json{{"crf", 52}}, "crf"},
      {json{{"crf", 20.5}}, "crf"},
      {json{{"preset", "warp"}}, "preset"},
      {json{{"codec", "vp9"}}, "codec"},
      {json{{"pix_fmt", "rgb24"}}, "pix_fmt"},
      {json{{"depth", "onnx:"}}, "depth"},
      {json{{"depth", "magic"}}, "depth"},
      {json{{"depth_resolution", 10}}, "depth_resolution"},
      {json{{"edge_dilation", -1}}, "edge_dilation"},
      {json{{"temporal", "yes"}}, "temporal"},
      {json{{"max_fps", 1000}}, "max_fps"},
      {json{{"colour", "red"}}, "colour"},
  };
  for (const auto& c : cases) {
    auto p = ConversionParams::FromJson(c.input);
    ASSERT_FALSE(p.ok()) << c.input.dump();
    EXPECT_TRUE(p.status().IsInvalidArgument());
    EXPECT_NE(p.status().message().find(c.field), std::string::npos) << p.status().message();
  }
  EXPECT_FALSE(ConversionParams::FromJson(json::array()).ok());
}

TEST(ConversionParamsTest, DownloadSuffixes) {
  EXPECT_EQ(LayoutDownloadSuffix(Layout::kSbs, AnaglyphMethod::kDubois), "_LRF_Full_SBS");
  EXPECT_EQ(LayoutDownloadSuffix(Layout::kHalfSbs, AnaglyphMethod::kDubois), "_LR");
  EXPECT_EQ(LayoutDownloadSuffix(Layout::kTb, AnaglyphMethod::kDubois), "_TBF_fulltb");
  EXPECT_EQ(LayoutDownloadSuffix(Layout::kHalfTb, AnaglyphMethod::kDubois), "_TB");
  EXPECT_EQ(LayoutDownloadSuffix(Layout::kCross, AnaglyphMethod::kDubois), "_RLF_cross");
  EXPECT_EQ(LayoutDownloadSuffix(Layout::kAnaglyph, AnaglyphMethod::kGray), "_redcyan_gray");
}

}  // namespace
}  // namespace stereospot
