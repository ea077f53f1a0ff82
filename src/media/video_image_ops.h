// Internal pixel operations on VideoImage used by the frame pipeline (not part of the API).
#pragma once

#include "media/frame_pipeline.h"

namespace stereospot::media {

// Writes `src` turned `cw_degrees` clockwise (0, 90, 180 or 270) into `dst`.
void RotateImage(const VideoImage& src, int cw_degrees, VideoImage* dst);

}  // namespace stereospot::media
