// Conversion parameters of a stereo job (DESIGN.md section 6), with defaults and validation.
//
// Stored in the job as JSON; FromJson is the one validator for every edge (API, CLI, stored
// jobs), so a job in the store always holds parameters that passed it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/result.h"

namespace stereospot {

enum class Layout { kSbs, kHalfSbs, kTb, kHalfTb, kCross, kAnaglyph, kRgbd };
enum class AnaglyphMethod { kDubois, kColor, kGray, kHalfColor, kWimmer };

std::string_view LayoutName(Layout layout);  // "half-sbs"
std::optional<Layout> ParseLayout(std::string_view name);
std::string_view AnaglyphMethodName(AnaglyphMethod method);
std::optional<AnaglyphMethod> ParseAnaglyphMethod(std::string_view name);

// The suffix players recognise, put before the extension of the download name
// ("_LRF_Full_SBS", "_redcyan_dubois").
std::string LayoutDownloadSuffix(Layout layout, AnaglyphMethod method);

struct ConversionParams {
  Layout layout = Layout::kSbs;
  AnaglyphMethod anaglyph = AnaglyphMethod::kDubois;  // used only when layout is anaglyph
  double divergence = 2.0;        // total parallax range, percent of max(width, height); (0, 10]
  double convergence = 0.5;       // normalised depth of the screen plane; [0, 1]
  std::string depth = "builtin";  // "builtin" or "onnx:<model path>"
  int depth_resolution = 0;       // short side of the depth input; 0 = the model's default
  int edge_dilation = 2;          // [0, 10]
  bool temporal = true;           // smoothed min/max normalisation with look-ahead
  bool swap_eyes = false;         // right eye first
  std::string codec = "libx264";  // libx264, libx265, h264_nvenc, hevc_nvenc
  int crf = 20;                   // [0, 51]
  std::string preset = "medium";
  std::string pix_fmt = "yuv420p";  // yuv420p, yuv420p10le, yuv444p
  double max_fps = 0;               // 0 = keep the source rate; else (0, 240]

  // Every field, defaults included.
  nlohmann::json ToJson() const;
  // Parses and validates. Missing fields take their defaults; unknown fields, wrong types and
  // out-of-range values are kInvalidArgument naming the field and what is allowed.
  static Result<ConversionParams> FromJson(const nlohmann::json& json);
};

}  // namespace stereospot
