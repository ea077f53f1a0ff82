// Segment cutter: copies the video stream of a source into one file per planned segment, by
// stream copy (no decoding), in one streaming pass with memory independent of the source size.
//
// Each segment holds the video packets [first_packet, end_packet) of its SegmentSpec with their
// source timestamps unchanged (so segment frames keep the source's presentation times) and the
// source's display matrix, and decodes on its own because it starts at a keyframe. Audio,
// subtitle and data streams are not copied (reassembly takes them from the source).
// Container: MP4 when the codec fits it (H.264, HEVC, VP9, AV1, MPEG-4...), otherwise Matroska
// (VP8, Theora...) written under the caller's path; libavformat detects the container from the
// content, never the file name, so every reader in this layer opens either.
//
// Errors: those of Probe for the source; kIoError/kUnavailable for write failures; kInternal if
// the source does not match the plan (changed since probing). A failed call leaves no partial
// segment behind (each is written to a temporary name and renamed when complete); segments
// already published stay.
// Threading: reentrant.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/probe.h"
#include "media/segment_plan.h"

namespace stereospot::media {

struct WrittenSegment {
  SegmentSpec spec;
  std::string path;
  int64_t frames = 0;  // video packets written (one frame each)
  int64_t bytes = 0;   // size of the published file
};

struct CutOptions {
  // Where segment `spec` is published. Required. The directory must exist.
  std::function<std::string(const SegmentSpec& spec)> path_for;
  // Called after each segment is published, before the next is started (e.g. to enqueue it).
  // A non-OK return stops the cut and is returned. Optional.
  std::function<Status(const WrittenSegment& segment)> on_written;
};

// Returns "mp4" or "matroska": the container segments of this video codec are written in.
std::string SegmentContainerFor(const std::string& video_codec);

// Cuts `source` (probed as `info`) along `plan`. Returns the segments in plan order.
Result<std::vector<WrittenSegment>> CutSegments(const std::string& source, const MediaInfo& info,
                                                const SegmentPlan& plan, const CutOptions& options);

}  // namespace stereospot::media
