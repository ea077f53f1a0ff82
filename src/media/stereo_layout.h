// StereoLayout: how two views share one coded frame, as recorded in container and bitstream
// metadata (MP4 st3d box, H.264 frame-packing SEI).
#pragma once

namespace stereospot::media {

enum class StereoLayout {
  kNone,        // no stereo metadata
  kSideBySide,  // left eye on the left (full or half width)
  kTopBottom,   // left eye on top (full or half height)
  kMono,        // explicitly 2D (anaglyph output, RGB-D); st3d only
};
// Neither MP4's st3d box nor this enum has a "right eye first" flag: cross-eyed (right-left)
// output is written with kNone so no player shows it with the eyes swapped.

}  // namespace stereospot::media
