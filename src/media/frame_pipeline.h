// Frame pipeline: decode one segment, hand every frame to a callback in the pixel layout it asks
// for, and encode what the callback returns into an MP4 segment.
//
// Guarantees on success:
//   - frames out == frames in: the callback runs once per decoded frame, in presentation order,
//     and every returned image is encoded;
//   - each output frame keeps its input frame's presentation timestamp and duration, so variable
//     frame rate survives;
//   - input colours are converted with the source's matrix and range (10-bit, full-range "yuvj"
//     and limited-range inputs alike); the output is tagged with that matrix, limited range, and
//     the source's primaries and transfer;
//   - rotation is applied to the pixels: a source carrying a display matrix (e.g. a phone video
//     shot in portrait) is handed to the callback upright and encoded upright without a display
//     matrix. Stereo layouts must be packed in display orientation, which metadata rotation would
//     break (a rotated side-by-side frame would put the eyes on top of each other).
// The callback may return an image of another size than its input (side-by-side doubles the
// width); the encoder is opened on the first returned image, and every later image must have
// the same size and layout.
//
// Errors: kPermanent for undecodable input or an unusable encoder choice (e.g. NVENC asked for
// but absent), kInvalidArgument for bad options or images, whatever the callback returns (which
// stops the conversion), kIoError/kUnavailable for I/O. The output is written to a temporary
// name and renamed on success only.
// Threading: reentrant; the callback runs on the calling thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/stereo_layout.h"

namespace stereospot::media {

enum class PixelLayout {
  kRgb24,    // one packed plane, R G B bytes
  kYuv420p,  // three planes, chroma halved both ways (sizes rounded up), limited range
  kYuv444p,  // three full-size planes, limited range
  // One packed plane of Y Cb Cr bytes per pixel (4:4:4), limited range, in the source's matrix:
  // the decoded picture without a colour conversion. A 4:2:0 chroma sample is repeated over its
  // 2x2 block, and a 4:2:0 encoder takes the mean of each block, so a 4:2:0 picture survives the
  // round trip exactly. For pixel work that does not care about the colour model (moving,
  // blending and resizing pixels), it saves the RGB conversion in and out of the callback.
  kYuvPacked,
};

// A frame image that owns its pixels. Planes are tightly packed rows of `stride[i]` bytes.
struct VideoImage {
  int width = 0;
  int height = 0;
  PixelLayout layout = PixelLayout::kRgb24;
  std::array<std::vector<uint8_t>, 3> planes;
  std::array<int, 3> stride = {0, 0, 0};

  // (Re)shapes the image and its planes for `layout` at width x height (contents undefined).
  void Allocate(int w, int h, PixelLayout l);
  int plane_count() const { return IsPacked() ? 1 : 3; }
  // One plane of 3-byte pixels (kRgb24, kYuvPacked).
  bool IsPacked() const {
    return layout == PixelLayout::kRgb24 || layout == PixelLayout::kYuvPacked;
  }
  int plane_height(int plane) const;
};

struct FrameInfo {
  int64_t index = 0;     // 0-based position in the segment, presentation order
  double seconds = 0.0;  // presentation time in the source timeline
  // The same frame scaled down for analysis (ConvertOptions::analysis_short_side), upright, in
  // the callback's layout, or RGB24 when that is kYuvPacked (analysis models want RGB); null
  // when none was asked for or the frame itself is already that image (small enough, and in that
  // layout). Valid during the call only.
  const VideoImage* analysis = nullptr;
};

// The size a frame of width x height is scaled to so that its short side is `short_side`
// (aspect kept, rounded); the frame's own size when it is that small already.
std::array<int, 2> AnalysisSize(int width, int height, int short_side);

// Receives the decoded frame `in` (upright, in the requested layout) and fills `out`. `out` is
// reused between calls (its buffers stay allocated), so a callback that keeps the same size
// reallocates nothing. Returning non-OK stops the conversion.
using FrameCallback =
    std::function<Status(const FrameInfo& info, const VideoImage& in, VideoImage* out)>;

struct EncodeOptions {
  // "libx264" (default), "libx265", "h264_nvenc", "hevc_nvenc". NVENC is used only when named
  // here and present; otherwise kPermanent.
  std::string codec = "libx264";
  int crf = 20;                     // quality; for NVENC mapped to -cq
  std::string preset = "medium";    // encoder preset name
  std::string pix_fmt = "yuv420p";  // encoded pixel format
  std::string profile;              // e.g. "high"; empty = encoder default
  int threads = 0;                  // encoder and decoder threads; 0 = automatic
  // libx264 with frame threads: how many pictures the caller may hand over before x264's
  // look-ahead thread takes them (x264's sync-lookahead). x264's own default (B-frames + 1) makes
  // the caller wait while the look-ahead makes its first decision over rc-lookahead frames at
  // once, about half a second at 3840x1080 with nothing else running, at every segment's start.
  // A deeper hand-off lets the caller go on producing pictures meanwhile. The depth takes part
  // in x264's decisions, so the bitstream differs slightly from another depth's (same frame
  // types and quality), and is as deterministic as before. -1 = as many as fit in about 200 MB
  // of pictures, at most 24 (24 at 3840x1080); 0 = x264's default. Allowed: [-1, 250].
  int handoff_frames = -1;
  // Frame-packing arrangement SEI written into the H.264 stream (libx264 only; players use it
  // for half-width/half-height layouts). kNone and kMono write none. Default: kNone.
  StereoLayout frame_packing = StereoLayout::kNone;
};

// Receives each decoded frame of DecodeFrames; returning non-OK stops the decoding.
using FrameVisitor = std::function<Status(const FrameInfo& info, const VideoImage& frame)>;

// Analysis ahead of the callback, on one decode: for work whose result for frame i depends on
// later frames (temporal smoothing that looks ahead).
struct LookaheadOptions {
  // Each decoded frame's analysis image (ConvertOptions::analysis_short_side, else the frame in
  // the callback's layout) goes to `visitor` as soon as it is decoded (FrameInfo::analysis is
  // null there; the image is valid during the call only).
  FrameVisitor visitor;
  // The frame callback sees frame i only after the visitor has seen frame i + frames (or every
  // frame, at the end). Held frames share the decoder's buffers: nothing is copied, and memory
  // grows by `frames` decoded pictures. Allowed: [0, 256].
  int frames = 0;
  // Called once, after the visitor has seen the last frame and before the callback sees the
  // held ones. May be empty.
  std::function<Status()> on_end;
};

struct ConvertOptions {
  PixelLayout layout = PixelLayout::kRgb24;  // what the callback receives
  EncodeOptions encode;
  // > 0: also hand the callback each frame scaled to AnalysisSize(.., analysis_short_side)
  // (FrameInfo::analysis), made from the decoded picture in one conversion (area filter), which
  // costs far less than scaling the full-size image afterwards. Default: 0 (none).
  int analysis_short_side = 0;
  // With a visitor set, the analysis image goes to it instead of the callback (FrameInfo::
  // analysis is then null in the callback), `frames` frames ahead. Default: none.
  LookaheadOptions lookahead;
};

struct ConvertStats {
  int64_t frames_in = 0;
  int64_t frames_out = 0;
  int width_out = 0;
  int height_out = 0;
};

// Converts `input_segment` into `output_path` (MP4) through `callback`.
Result<ConvertStats> ConvertSegment(const std::string& input_segment,
                                    const std::string& output_path, const ConvertOptions& options,
                                    const FrameCallback& callback);

struct DecodeOptions {
  PixelLayout layout = PixelLayout::kRgb24;  // what the visitor receives
  int threads = 0;                           // decoder threads; 0 = automatic
  // > 0: the visitor receives only the frames scaled to AnalysisSize(.., analysis_short_side),
  // pixel for pixel the FrameInfo::analysis images ConvertSegment makes with the same value (no
  // full-size conversion is done). Default: 0 (full-size frames).
  int analysis_short_side = 0;
  // > 0: decode only the end of the input: from the last keyframe at or before the point
  // tail_frames frames (at the stream's average rate) before the end, so at least the last
  // tail_frames frames of a constant-rate input are visited, and usually a few more. FrameInfo::
  // index then counts from that keyframe. Default: 0 (every frame).
  int tail_frames = 0;
  // Skip the decoder's deblocking filter and allow its other non-exact shortcuts: faster, and
  // invisible in frames scaled down for analysis, but the pictures differ slightly from the
  // exact decode (deterministically: the same input always gives the same frames). Default: off.
  bool fast = false;
};

// Decodes every frame of `input` exactly as ConvertSegment hands them to its callback (same
// order, pixels, rotation and FrameInfo; DecodeOptions::tail_frames and fast trade that for
// speed), encoding nothing: for analysis beside or before a conversion.
// Returns the number of frames. Errors: those of ConvertSegment's decoding side, or the
// visitor's.
Result<int64_t> DecodeFrames(const std::string& input, const DecodeOptions& options,
                             const FrameVisitor& visitor);

// A callback that returns its input unchanged (tests, benchmarks).
FrameCallback IdentityCallback();

}  // namespace stereospot::media
