// The web UI's files (src/server/web/), embedded in the executable at build time by
// embed_assets.cmake, so the binary serves its UI with no files beside it and no CDN.
#pragma once

#include <span>
#include <string_view>

namespace stereospot::server {

struct WebAsset {
  std::string_view name;          // file name under src/server/web/ ("app.js")
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

// Every embedded file, in name order.
std::span<const WebAsset> WebAssets();

}  // namespace stereospot::server
