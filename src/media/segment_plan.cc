#include "media/segment_plan.h"

#include <algorithm>
#include <cmath>

namespace stereospot::media {

namespace {

int64_t OffsetAt(const MediaInfo& info, size_t kf) {
  return kf < info.keyframes.size() ? info.keyframes[kf].byte_offset : info.video_bytes;
}

// Cut indices (into info.keyframes) for `n` segments of about equal duration: for each ideal
// boundary, the keyframe nearest to it that lies after the previous cut.
std::vector<size_t> EvenCuts(const MediaInfo& info, int n, double start, double end) {
  const auto& kfs = info.keyframes;
  std::vector<size_t> cuts = {0};
  for (int i = 1; i < n; ++i) {
    const double ideal = start + (end - start) * i / n;
    size_t best = cuts.back();
    for (size_t k = cuts.back() + 1; k < kfs.size(); ++k) {
      if (!kfs[k].closed) continue;
      if (best == cuts.back() ||
          std::abs(kfs[k].seconds - ideal) < std::abs(kfs[best].seconds - ideal)) {
        best = k;
      }
      if (kfs[k].seconds > ideal) break;
    }
    if (best != cuts.back()) cuts.push_back(best);
  }
  return cuts;
}

// Splits any segment larger than max_bytes at further keyframes, greedily.
std::vector<size_t> EnforceMaxBytes(const MediaInfo& info, const std::vector<size_t>& cuts,
                                    int64_t max_bytes) {
  std::vector<size_t> out;
  for (size_t i = 0; i < cuts.size(); ++i) {
    const size_t end = i + 1 < cuts.size() ? cuts[i + 1] : info.keyframes.size();
    size_t start = cuts[i];
    out.push_back(start);
    for (size_t k = start + 1; k < end; ++k) {
      if (!info.keyframes[k].closed) continue;
      // Cut before keyframe k+1's GOP would overflow the current segment.
      if (OffsetAt(info, k + 1) - OffsetAt(info, start) > max_bytes) {
        out.push_back(k);
        start = k;
      }
    }
  }
  return out;
}

}  // namespace

Result<SegmentPlan> PlanSegments(const MediaInfo& info, const SegmentPlanOptions& options) {
  if (options.target_seconds <= 0 || options.max_bytes <= 0 || options.min_segments < 1 ||
      options.min_segment_seconds < 0) {
    return Status::InvalidArgument("segment plan options out of range");
  }
  if (info.keyframes.empty()) return Status::InvalidArgument("no keyframes to plan segments on");
  const double start = info.keyframes.front().seconds;
  const double end = std::max(info.video_end_seconds, info.keyframes.back().seconds);
  const double duration = end - start;
  int n = std::max(1, static_cast<int>(std::ceil(duration / options.target_seconds - 1e-9)));
  int by_min = options.min_segments;
  if (options.min_segment_seconds > 0) {
    by_min = std::min(by_min, static_cast<int>(duration / options.min_segment_seconds));
  }
  n = std::max(n, std::max(1, by_min));
  std::vector<size_t> cuts =
      EnforceMaxBytes(info, EvenCuts(info, n, start, end), options.max_bytes);

  SegmentPlan plan;
  for (size_t i = 0; i < cuts.size(); ++i) {
    const Keyframe& kf = info.keyframes[cuts[i]];
    SegmentSpec s;
    s.index = static_cast<int>(i);
    s.first_packet = kf.packet_index;
    s.start_seconds = kf.seconds;
    if (i + 1 < cuts.size()) {
      const Keyframe& next = info.keyframes[cuts[i + 1]];
      s.end_packet = next.packet_index;
      s.end_seconds = next.seconds;
      s.bytes = next.byte_offset - kf.byte_offset;
    } else {
      s.end_packet = info.video_packets;
      s.end_seconds = end;
      s.bytes = info.video_bytes - kf.byte_offset;
    }
    plan.segments.push_back(s);
  }
  return plan;
}

}  // namespace stereospot::media
