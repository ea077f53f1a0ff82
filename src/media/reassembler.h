// Reassembler: joins converted segments into the final MP4 and brings back the source's audio
// and subtitles.
//
// Video packets of the segments are copied in the given order (no re-encoding) with their
// timestamps, which are the source's (the cutter and the frame pipeline both keep them), so
// audio taken from the source stays in sync at every join by construction. Audio streams are
// copied when MP4 can carry their codec (AAC, MP3, AC-3, Opus...) and re-encoded to AAC
// otherwise (Vorbis, PCM...); mov_text subtitles are copied and other text subtitles (SubRip,
// ASS, WebVTT) converted to mov_text; bitmap subtitles MP4 cannot hold, data streams (timecode,
// GPS, ...) and attachments are dropped and counted. The file is written with `moov` first (fast
// start) and, when asked, stereo metadata (MP4 `st3d` box, which players and ffprobe read as the
// stereo 3D layout).
//
// Errors: kNotFound for a missing segment or source; kInvalidArgument for an empty segment list
// or segments whose video parameters differ; kPermanent for undecodable audio; kIoError or
// kUnavailable for I/O. The output appears whole or not at all (temporary name + rename).
// Threading: reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/stereo_layout.h"

namespace stereospot::media {

struct ReassembleOptions {
  StereoLayout stereo = StereoLayout::kNone;
  // Bit rate of the AAC encoder used when an audio stream cannot be copied. Default: 192 kb/s.
  int64_t aac_bit_rate = 192000;
};

struct ReassembleStats {
  int64_t video_frames = 0;
  double duration_seconds = 0;
  int audio_streams_copied = 0;
  int audio_streams_reencoded = 0;
  int subtitle_streams = 0;
  int streams_dropped = 0;  // data, attachments, unsupported subtitles
};

// Writes `output_path` from the converted `segments` (in order) and the audio and subtitle
// streams of `source`.
Result<ReassembleStats> Reassemble(const std::string& source,
                                   const std::vector<std::string>& segments,
                                   const std::string& output_path,
                                   const ReassembleOptions& options = {});

}  // namespace stereospot::media
