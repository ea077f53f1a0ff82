// Segment planning: where to cut a video into independently decodable segments.
//
// A pure function of the probe's keyframe index: no I/O, deterministic, unit-tested. Cuts are
// made only at closed keyframes (packets in decode order that start a decodable point with no
// leading pictures), so every segment decodes completely on its own when copied out. Packet ranges
// are half-open [first, end).
#pragma once

#include <cstdint>
#include <vector>

#include "core/result.h"
#include "media/probe.h"

namespace stereospot::media {

struct SegmentPlanOptions {
  // Aimed-for segment duration in seconds. Default: 300.
  double target_seconds = 300.0;
  // Segments larger than this are split further at keyframes where possible. Default: 50 MB.
  int64_t max_bytes = 50LL * 1000 * 1000;
  // A video long enough is cut into at least this many segments, so a short video still keeps
  // several workers busy. Default: 4.
  int min_segments = 4;
  // ...but no segment is made shorter than this to reach min_segments. Default: 2 s.
  double min_segment_seconds = 2.0;
};

struct SegmentSpec {
  int index = 0;             // 0-based position in the plan
  int64_t first_packet = 0;  // decode-order index of the segment's first (key) packet
  int64_t end_packet = 0;    // one past the last packet (exclusive)
  double start_seconds = 0;  // presentation time of the first keyframe
  double end_seconds = 0;    // start of the next segment, or end of the video
  int64_t bytes = 0;         // video bytes in [first_packet, end_packet)
};

struct SegmentPlan {
  std::vector<SegmentSpec> segments;
  int total() const { return static_cast<int>(segments.size()); }
};

// Plans the segments of `info` (which must come from Probe with scan_packets). The first segment
// starts at the first keyframe; video packets before it (undecodable leading frames) belong to
// no segment and are reported by the cutter. kInvalidArgument on options out of range or an
// info without keyframes.
Result<SegmentPlan> PlanSegments(const MediaInfo& info, const SegmentPlanOptions& options = {});

}  // namespace stereospot::media
