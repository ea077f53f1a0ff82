// Probe: what a media file holds, read with libavformat, plus a keyframe index from a packet
// scan of the video stream (no decoding).
//
// Errors (Status codes a worker can act on, messages a user understands):
//   kNotFound         the file does not exist.
//   kInvalidArgument  the file is empty (zero bytes).
//   kPermanent        not a media file; no video stream (e.g. audio only); the video codec has no
//                     decoder here; the file is truncated (its index or packets end early).
//   kIoError / kUnavailable  reading failed for a reason outside the file's content.
// Threading: Probe is reentrant; results are plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace stereospot::media {

enum class StreamKind { kVideo, kAudio, kSubtitle, kData, kAttachment, kUnknown };
std::string_view StreamKindName(StreamKind kind);

struct Rational {
  int num = 0;
  int den = 1;
  double ToDouble() const { return den == 0 ? 0.0 : static_cast<double>(num) / den; }
};

struct StreamInfo {
  int index = -1;
  StreamKind kind = StreamKind::kUnknown;
  std::string codec;     // libavcodec name ("h264", "aac"), "none" when unknown
  std::string language;  // from the "language" tag, empty when absent
  // Audio only.
  int sample_rate = 0;
  int channels = 0;
  // Video only (the fields of VideoInfo describe the chosen video stream in more detail).
  int width = 0;
  int height = 0;
  bool attached_picture = false;  // cover art, never chosen as the video stream
};

struct VideoInfo {
  int stream_index = -1;
  std::string codec;
  std::string profile;  // "High", "Main 10"... empty when unknown
  int width = 0;
  int height = 0;
  std::string pix_fmt;          // "yuv420p", "yuv420p10le"...
  int bit_depth = 8;            // bits per component
  std::string color_range;      // "tv", "pc" or "unknown"
  std::string color_matrix;     // "bt709", "smpte170m"... or "unknown"
  std::string color_primaries;  // idem
  std::string color_transfer;   // idem
  Rational frame_rate;          // nominal (r_frame_rate)
  Rational avg_frame_rate;      // average over the stream
  Rational time_base;           // of the stream's timestamps
  int rotation_degrees = 0;     // clockwise display rotation from the display matrix: 0/90/180/270
  bool has_b_frames = false;
};

// One video packet that starts a decodable point (AV_PKT_FLAG_KEY), in decode order.
struct Keyframe {
  int64_t packet_index = 0;  // position among the video packets in decode order
  int64_t pts = 0;           // in VideoInfo::time_base
  double seconds = 0.0;      // pts in seconds
  int64_t byte_offset = 0;   // sum of video packet sizes before this packet
  // True when no later packet before the next keyframe is shown before this one: a segment
  // starting here decodes completely on its own. False for open-GOP random access points
  // (HEVC CRA, H.264 recovery points) whose leading pictures reference the previous GOP.
  bool closed = true;
};

struct MediaInfo {
  std::string path;
  std::string container;  // libavformat short name(s), e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  double duration_seconds = 0.0;
  double start_seconds = 0.0;
  int64_t file_bytes = 0;
  std::vector<StreamInfo> streams;
  VideoInfo video;
  // Packet scan of the video stream.
  std::vector<Keyframe> keyframes;
  int64_t video_packets = 0;
  int64_t video_bytes = 0;
  double video_end_seconds = 0.0;  // max(pts + duration) over the video packets

  bool has_audio() const;
};

struct ProbeOptions {
  // Scan every video packet to build the keyframe index. Default: true.
  bool scan_packets = true;
};

// Probes `path`. See the file comment for errors.
Result<MediaInfo> Probe(const std::string& path, const ProbeOptions& options = {});

// Random access to a file that is not on the local disk (an object in a store, read by ranges).
struct ByteRangeSource {
  std::string name;        // names the file in messages and in MediaInfo::path
  std::uint64_t size = 0;  // the file's length in bytes
  // Copies the bytes at [offset, offset + buffer.size()) clipped to `size` into `buffer` and
  // returns how many were copied (> 0 while offset < size). Called only with offset < size.
  // An error aborts the probe and is returned by it unchanged.
  std::function<Result<std::size_t>(std::uint64_t offset, std::span<char> buffer)> read;
};

// Probes the file `source` reads, with the same results and errors as Probe(path); a read error
// of the source is returned as the source gave it (so a store outage is not "not a video").
// Reads only what the demuxer asks for: the header, and every video packet with scan_packets.
Result<MediaInfo> Probe(const ByteRangeSource& source, const ProbeOptions& options = {});

}  // namespace stereospot::media
