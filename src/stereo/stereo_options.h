// Conversion parameters of the stereo step (DESIGN.md section 6) and their validation.
//
// Every option has a default, a parser from the user's spelling, and a canonical name. Parsers and
// ValidateStereoOptions return kInvalidArgument with a message that names the parameter, the value
// given and what is allowed; nothing here throws.
#pragma once

#include <string_view>

#include "core/result.h"
#include "core/status.h"

namespace stereospot::stereo {

// How the two views are arranged in the output frame.
enum class Layout {
  kSbs,       // left | right, each at full size: 2W x H
  kHalfSbs,   // left | right, each squeezed to half width: W x H (W must be even)
  kTb,        // left over right at full size: W x 2H
  kHalfTb,    // left over right, each squeezed to half height: W x H (H must be even)
  kCross,     // right | left (cross-eyed viewing): 2W x H
  kAnaglyph,  // one W x H frame, red-cyan, see AnaglyphMethod
  kRgbd,      // source image | normalised depth as gray (1 = near = white): 2W x H
};

// Red-cyan anaglyph matrices (published; see packing.cc for the values and sources).
enum class AnaglyphMethod {
  kDubois,     // Dubois least-squares red-cyan, applied in linear light
  kColor,      // red from the left, green and blue from the right
  kGray,       // luma of each eye
  kHalfColor,  // left luma in red, right green and blue
  kWimmer,     // Wimmer's optimised anaglyph: red = 0.7 G + 0.3 B of the left
};

// Byte order of 3-channel frames. Only colour mixing (anaglyph) and luma depend on it; shifting
// and packing move whole pixels.
enum class ChannelOrder {
  kBgr,  // OpenCV's order
  kRgb,  // the media layer's RGB24
};

// How a view is synthesised from the source frame and a per-pixel shift.
enum class RenderMethod {
  kForwardSplat,  // default: forward mapping, occlusion by traversal order, background fill
  kBackwardWarp,  // fast: each output pixel samples the source at its own shift (previews)
};

struct StereoOptions {
  // Output arrangement. Default: kSbs.
  Layout layout = Layout::kSbs;
  // Used only with Layout::kAnaglyph. Default: kDubois.
  AnaglyphMethod anaglyph = AnaglyphMethod::kDubois;
  // Total parallax range in percent of max(width, height); 0 gives a flat (2D) picture.
  // Allowed: [0, 10]. Default: 2.0.
  double divergence = 2.0;
  // Normalised depth of the screen plane: 0 puts everything in front, 1 everything behind.
  // Allowed: [0, 1]. Default: 0.5.
  double convergence = 0.5;
  // Put the right eye where the left one would go (and vice versa). Default: false.
  bool swap_eyes = false;
  // View synthesis method. Default: kForwardSplat.
  RenderMethod renderer = RenderMethod::kForwardSplat;
  // Byte order of the frames given to StereoRenderer / PackViews. Default: kBgr.
  ChannelOrder channel_order = ChannelOrder::kBgr;
};

// Largest accepted divergence, in percent: beyond this the parallax is uncomfortable on any
// screen and forward splatting leaves holes wider than the fill can hide.
inline constexpr double kMaxDivergence = 10.0;

// OK when every field is in range; otherwise kInvalidArgument naming the first bad field.
Status ValidateStereoOptions(const StereoOptions& options);

// Parsers accept the canonical names below (lower case, as in DESIGN.md) and nothing else.
Result<Layout> ParseLayout(std::string_view name);
Result<AnaglyphMethod> ParseAnaglyphMethod(std::string_view name);
Result<RenderMethod> ParseRenderMethod(std::string_view name);  // "splat", "backward"

std::string_view LayoutName(Layout layout);  // "sbs", "half-sbs", "tb", ...
std::string_view AnaglyphMethodName(AnaglyphMethod method);
std::string_view RenderMethodName(RenderMethod method);

}  // namespace stereospot::stereo
