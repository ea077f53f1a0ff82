#include "core/conversion_params.h"

#include <array>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

namespace stereospot {
namespace {

constexpr std::array<std::pair<Layout, std::string_view>, 7> kLayoutNames = {{
    {Layout::kSbs, "sbs"},
    {Layout::kHalfSbs, "half-sbs"},
    {Layout::kTb, "tb"},
    {Layout::kHalfTb, "half-tb"},
    {Layout::kCross, "cross"},
    {Layout::kAnaglyph, "anaglyph"},
    {Layout::kRgbd, "rgbd"},
}};

constexpr std::array<std::pair<AnaglyphMethod, std::string_view>, 5> kAnaglyphNames = {{
    {AnaglyphMethod::kDubois, "dubois"},
    {AnaglyphMethod::kColor, "color"},
    {AnaglyphMethod::kGray, "gray"},
    {AnaglyphMethod::kHalfColor, "half-color"},
    {AnaglyphMethod::kWimmer, "wimmer"},
}};

const std::set<std::string, std::less<>> kCodecs = {"libx264", "libx265", "h264_nvenc",
                                                    "hevc_nvenc"};
const std::set<std::string, std::less<>> kPresets = {
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"};
const std::set<std::string, std::less<>> kPixFmts = {"yuv420p", "yuv420p10le", "yuv444p"};

template <typename Set>
std::string Join(const Set& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

Status Invalid(std::string_view field, std::string_view why) {
  return Status::InvalidArgument("parameter '" + std::string(field) + "' " + std::string(why));
}

// Reads one field when present, checking its JSON type first.
template <typename T>
Status ReadField(const nlohmann::json& json, const char* field, T* out) {
  auto it = json.find(field);
  if (it == json.end()) return Status::OK();
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return Invalid(field, "must be true or false");
  } else if constexpr (std::is_same_v<T, int>) {
    if (!it->is_number_integer()) return Invalid(field, "must be an integer");
    auto v = it->get<std::int64_t>();
    if (v < -1'000'000 || v > 1'000'000) return Invalid(field, "is out of range");
    *out = static_cast<int>(v);
    return Status::OK();
  } else if constexpr (std::is_same_v<T, double>) {
    if (!it->is_number()) return Invalid(field, "must be a number");
  } else {
    if (!it->is_string()) return Invalid(field, "must be a string");
  }
  *out = it->get<T>();
  return Status::OK();
}

Status CheckRange(const char* field, double value, double lo, double hi, bool lo_open = false) {
  bool below = lo_open ? value <= lo : value < lo;
  if (below || value > hi || value != value) {
    return Invalid(field, "must be in " + std::string(lo_open ? "(" : "[") +
                              nlohmann::json(lo).dump() + ", " + nlohmann::json(hi).dump() +
                              "], got " + nlohmann::json(value).dump());
  }
  return Status::OK();
}

}  // namespace

std::string_view LayoutName(Layout layout) {
  for (const auto& [l, name] : kLayoutNames) {
    if (l == layout) return name;
  }
  return "unknown";
}

std::optional<Layout> ParseLayout(std::string_view name) {
  for (const auto& [l, n] : kLayoutNames) {
    if (n == name) return l;
  }
  return std::nullopt;
}

std::string_view AnaglyphMethodName(AnaglyphMethod method) {
  for (const auto& [m, name] : kAnaglyphNames) {
    if (m == method) return name;
  }
  return "unknown";
}

std::optional<AnaglyphMethod> ParseAnaglyphMethod(std::string_view name) {
  for (const auto& [m, n] : kAnaglyphNames) {
    if (n == name) return m;
  }
  return std::nullopt;
}

std::string LayoutDownloadSuffix(Layout layout, AnaglyphMethod method) {
  switch (layout) {
    case Layout::kSbs:
      return "_LRF_Full_SBS";
    case Layout::kHalfSbs:
      return "_LR";
    case Layout::kTb:
      return "_TBF_fulltb";
    case Layout::kHalfTb:
      return "_TB";
    case Layout::kCross:
      return "_RLF_cross";
    case Layout::kAnaglyph:
      return "_redcyan_" + std::string(AnaglyphMethodName(method));
    case Layout::kRgbd:
      return "_RGBD";
  }
  return "";
}

nlohmann::json ConversionParams::ToJson() const {
  return nlohmann::json{
      {"layout", LayoutName(layout)},
      {"anaglyph", AnaglyphMethodName(anaglyph)},
      {"divergence", divergence},
      {"convergence", convergence},
      {"depth", depth},
      {"depth_resolution", depth_resolution},
      {"edge_dilation", edge_dilation},
      {"temporal", temporal},
      {"swap_eyes", swap_eyes},
      {"codec", codec},
      {"crf", crf},
      {"preset", preset},
      {"pix_fmt", pix_fmt},
      {"max_fps", max_fps},
  };
}

Result<ConversionParams> ConversionParams::FromJson(const nlohmann::json& json) {
  if (!json.is_object()) return Status::InvalidArgument("parameters must be a JSON object");
  static const std::set<std::string, std::less<>> kKnown = {
      "layout",        "anaglyph", "divergence", "convergence", "depth", "depth_resolution",
      "edge_dilation", "temporal", "swap_eyes",  "codec",       "crf",   "preset",
      "pix_fmt",       "max_fps"};
  for (const auto& [key, value] : json.items()) {
    if (kKnown.count(key) == 0) {
      return Status::InvalidArgument("unknown parameter '" + key + "' (known: " + Join(kKnown) +
                                     ")");
    }
  }

  ConversionParams p;
  std::string layout(LayoutName(p.layout));
  std::string anaglyph(AnaglyphMethodName(p.anaglyph));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "layout", &layout));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "anaglyph", &anaglyph));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "divergence", &p.divergence));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "convergence", &p.convergence));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "depth", &p.depth));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "depth_resolution", &p.depth_resolution));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "edge_dilation", &p.edge_dilation));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "temporal", &p.temporal));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "swap_eyes", &p.swap_eyes));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "codec", &p.codec));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "crf", &p.crf));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "preset", &p.preset));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "pix_fmt", &p.pix_fmt));
  STEREOSPOT_RETURN_IF_ERROR(ReadField(json, "max_fps", &p.max_fps));

  auto parsed_layout = ParseLayout(layout);
  if (!parsed_layout) {
    std::set<std::string> names;
    for (const auto& entry : kLayoutNames) names.emplace(entry.second);
    return Invalid("layout", "must be one of: " + Join(names) + "; got '" + layout + "'");
  }
  p.layout = *parsed_layout;
  auto parsed_anaglyph = ParseAnaglyphMethod(anaglyph);
  if (!parsed_anaglyph) {
    std::set<std::string> names;
    for (const auto& entry : kAnaglyphNames) names.emplace(entry.second);
    return Invalid("anaglyph", "must be one of: " + Join(names) + "; got '" + anaglyph + "'");
  }
  p.anaglyph = *parsed_anaglyph;

  STEREOSPOT_RETURN_IF_ERROR(CheckRange("divergence", p.divergence, 0, 10, /*lo_open=*/true));
  STEREOSPOT_RETURN_IF_ERROR(CheckRange("convergence", p.convergence, 0, 1));
  STEREOSPOT_RETURN_IF_ERROR(CheckRange("edge_dilation", p.edge_dilation, 0, 10));
  STEREOSPOT_RETURN_IF_ERROR(CheckRange("crf", p.crf, 0, 51));
  STEREOSPOT_RETURN_IF_ERROR(CheckRange("max_fps", p.max_fps, 0, 240));
  if (p.depth_resolution != 0) {
    STEREOSPOT_RETURN_IF_ERROR(CheckRange("depth_resolution", p.depth_resolution, 64, 2048));
  }
  if (p.depth != "builtin" && !(p.depth.rfind("onnx:", 0) == 0 && p.depth.size() > 5)) {
    return Invalid("depth", "must be 'builtin' or 'onnx:<model path>'; got '" + p.depth + "'");
  }
  if (kCodecs.count(p.codec) == 0) {
    return Invalid("codec", "must be one of: " + Join(kCodecs) + "; got '" + p.codec + "'");
  }
  if (kPresets.count(p.preset) == 0) {
    return Invalid("preset", "must be one of: " + Join(kPresets) + "; got '" + p.preset + "'");
  }
  if (kPixFmts.count(p.pix_fmt) == 0) {
    return Invalid("pix_fmt", "must be one of: " + Join(kPixFmts) + "; got '" + p.pix_fmt + "'");
  }
  return p;
}

}  // namespace stereospot
