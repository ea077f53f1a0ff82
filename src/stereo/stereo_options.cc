#include "stereo/stereo_options.h"

#include <array>
#include <cmath>
#include <string>
#include <utility>

namespace stereospot::stereo {
namespace {

constexpr std::array<std::pair<std::string_view, Layout>, 7> kLayouts = {{
    {"sbs", Layout::kSbs},
    {"half-sbs", Layout::kHalfSbs},
    {"tb", Layout::kTb},
    {"half-tb", Layout::kHalfTb},
    {"cross", Layout::kCross},
    {"anaglyph", Layout::kAnaglyph},
    {"rgbd", Layout::kRgbd},
}};

constexpr std::array<std::pair<std::string_view, AnaglyphMethod>, 5> kAnaglyphs = {{
    {"dubois", AnaglyphMethod::kDubois},
    {"color", AnaglyphMethod::kColor},
    {"gray", AnaglyphMethod::kGray},
    {"half-color", AnaglyphMethod::kHalfColor},
    {"wimmer", AnaglyphMethod::kWimmer},
}};

constexpr std::array<std::pair<std::string_view, RenderMethod>, 2> kRenderers = {{
    {"splat", RenderMethod::kForwardSplat},
    {"backward", RenderMethod::kBackwardWarp},
}};

template <typename T, size_t N>
Result<T> ParseName(const std::array<std::pair<std::string_view, T>, N>& table,
                    std::string_view what, std::string_view name) {
  std::string allowed;
  for (const auto& [spelling, value] : table) {
    if (spelling == name) return value;
    if (!allowed.empty()) allowed += ", ";
    allowed += spelling;
  }
  return Status::InvalidArgument(std::string(what) + " '" + std::string(name) +
                                 "' is not one of: " + allowed);
}

template <typename T, size_t N>
std::string_view NameOf(const std::array<std::pair<std::string_view, T>, N>& table, T value) {
  for (const auto& [spelling, v] : table) {
    if (v == value) return spelling;
  }
  return "unknown";
}

}  // namespace

Status ValidateStereoOptions(const StereoOptions& options) {
  if (!std::isfinite(options.divergence) || options.divergence < 0.0 ||
      options.divergence > kMaxDivergence) {
    return Status::InvalidArgument("divergence " + std::to_string(options.divergence) +
                                   " is outside [0, " + std::to_string(kMaxDivergence) +
                                   "] (percent of max(width, height))");
  }
  if (!std::isfinite(options.convergence) || options.convergence < 0.0 ||
      options.convergence > 1.0) {
    return Status::InvalidArgument("convergence " + std::to_string(options.convergence) +
                                   " is outside [0, 1] (0 = all in front, 1 = all behind)");
  }
  if (NameOf(kLayouts, options.layout) == "unknown") {
    return Status::InvalidArgument("layout has an unknown value");
  }
  if (NameOf(kAnaglyphs, options.anaglyph) == "unknown") {
    return Status::InvalidArgument("anaglyph has an unknown value");
  }
  if (NameOf(kRenderers, options.renderer) == "unknown") {
    return Status::InvalidArgument("renderer has an unknown value");
  }
  return Status::OK();
}

Result<Layout> ParseLayout(std::string_view name) { return ParseName(kLayouts, "layout", name); }
Result<AnaglyphMethod> ParseAnaglyphMethod(std::string_view name) {
  return ParseName(kAnaglyphs, "anaglyph", name);
}
Result<RenderMethod> ParseRenderMethod(std::string_view name) {
  return ParseName(kRenderers, "renderer", name);
}

std::string_view LayoutName(Layout layout) { return NameOf(kLayouts, layout); }
std::string_view AnaglyphMethodName(AnaglyphMethod method) { return NameOf(kAnaglyphs, method); }
std::string_view RenderMethodName(RenderMethod method) { return NameOf(kRenderers, method); }

}  // namespace stereospot::stereo
