// Internal to the media layer: converts text subtitles (SubRip, ASS, WebVTT...) to MP4's
// mov_text for the reassembler. Bitmap subtitles cannot be converted and are dropped there.
#pragma once

#include <memory>

#include "media/av_handles.h"

namespace stereospot::media {

class SubtitleConverter {
 public:
  // True when `in` holds text subtitles this class can convert.
  static bool CanConvert(const AVStream* in);
  // Fills `out`'s codec parameters (mov_text, time base 1/1000).
  static Result<std::unique_ptr<SubtitleConverter>> Open(const AVStream* in, AVStream* out);
  // Converts one source packet (source time base) into `out` (timestamps in `out_tb`).
  // *got is false when the packet held no subtitle event.
  Status Convert(const AVPacket* pkt, AVRational in_tb, AVRational out_tb, AVPacket* out,
                 bool* got);

 private:
  CodecContextPtr dec_, enc_;
};

}  // namespace stereospot::media
