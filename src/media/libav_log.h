// Routes FFmpeg's own log output (libavformat, libavcodec, x264...) into the project's log
// format (DESIGN.md section 9) under the component "stereospot.libav", so a worker's stderr
// holds one format only. Messages below `min_level` are dropped: at the default (warnings)
// encoder statistics and banners stay out while real problems (a corrupt packet, a missing
// reference frame) are kept.
#pragma once

#include "core/log.h"

namespace stereospot::media {

// Installs the route process-wide. Call once at start-up, before any threads use libav*.
// Idempotent.
void RouteLibavLogs(LogLevel min_level = LogLevel::kWarn);

}  // namespace stereospot::media
