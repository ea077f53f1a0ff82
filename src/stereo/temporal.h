// Temporal stability of depth (DESIGN.md section 6, `temporal`, `edge_dilation`):
//   - SceneCutDetector: a cheap colour-histogram detector of hard cuts;
//   - TemporalNormaliser: maps raw relative depth to [0, 1] with a min / max that is robust
//     (percentiles), looks ahead a few frames, is smoothed over time and resets at scene cuts;
//     it can be warmed on frames before a segment's first frame so segment boundaries do not show;
//   - DilateForeground: grows near regions so view synthesis keeps foreground edges whole;
//   - FlickerMeter: mean frame-to-frame change of normalised depth over static regions.
//
// Threading: each class is single-threaded (one instance per stream). Free functions are
// thread-safe on distinct outputs. No function throws.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include <opencv2/core.hpp>

#include "core/result.h"
#include "core/status.h"

namespace stereospot::stereo {

class SceneCutDetector {
 public:
  // A cut is reported when half the colour histogram mass moved since the previous frame.
  static constexpr double kDefaultThreshold = 0.5;
  explicit SceneCutDetector(double threshold = kDefaultThreshold) : threshold_(threshold) {}

  // True when `frame` (CV_8UC3, any size) starts a new shot. The first frame after construction
  // or Reset() is a cut. Frames of another size than the previous one count as a cut.
  // Errors: kInvalidArgument for an empty or non-CV_8UC3 frame (reported as a cut).
  bool IsCut(const cv::Mat& frame);
  // Histogram distance in [0, 1] computed by the last IsCut (0 for the first frame).
  double last_distance() const { return last_distance_; }
  void Reset() { has_prev_ = false; }

 private:
  double threshold_;
  bool has_prev_ = false;
  cv::Size prev_size_;
  double last_distance_ = 0.0;
  cv::Mat thumb_;
  std::vector<float> hist_, prev_hist_;
};

struct NormaliserOptions {
  // Frames of look-ahead: frame t is normalised with the range of frames [t, t + lookahead]
  // (within its shot), so the range widens before a near object arrives, not after.
  // Allowed: [0, 64]. Default: 8.
  int lookahead = 8;
  // Weight of the new target range per frame (exponential smoothing); 1 = no smoothing.
  // Allowed: (0, 1]. Default: 0.15.
  double smoothing = 0.15;
  // Percentiles taken as a frame's min and max, so a few outlier pixels do not set the range.
  // Allowed: 0 <= low < high <= 1. Default: 0.02, 0.98.
  double low_percentile = 0.02;
  double high_percentile = 0.98;
};

// Normalises a stream of raw depth maps (CV_32FC1, larger = nearer, one size per stream) to
// [0, 1] with a temporally smoothed range. Output lags input by `lookahead` frames:
//   Push() frames in order, Pop() whatever is ready, Finish() at the end, then Pop() the rest.
// Frames pushed with warmup = true update the range state but are never popped: push the frames
// before a segment's first frame that way, so the segment starts from the state the previous
// segment ended in. The state forgets its start geometrically, by (1 - smoothing) per frame, so
// warm on about 3 / smoothing frames (20 at the default) plus the look-ahead, or from the shot's
// first frame when it is nearer. Buffers are reused; the steady state allocates nothing.
class TemporalNormaliser {
 public:
  // REQUIRES: ValidateNormaliserOptions(options).ok()
  explicit TemporalNormaliser(const NormaliserOptions& options);

  // Errors: kInvalidArgument for an empty or non-CV_32FC1 map, a size differing from the
  // previous frame's without a scene cut, or a Push after Finish.
  Status Push(const cv::Mat& raw, bool scene_cut, bool warmup = false);
  // Writes the next normalised frame into *out (reused when it has the size) and returns true,
  // or returns false when no frame is ready yet.
  bool Pop(cv::Mat* out);
  // No more input: every pushed frame becomes ready. Push may follow only after Reset().
  void Finish() { finished_ = true; }
  // Forgets everything (a new stream).
  void Reset();

 private:
  struct Pending {
    cv::Mat raw;
    float lo = 0.0f, hi = 0.0f;
    bool cut = false;
    bool warmup = false;
  };

  NormaliserOptions options_;
  std::deque<Pending> pending_;
  std::vector<Pending> free_;  // recycled buffers
  std::vector<float> samples_;
  bool has_state_ = false;
  bool finished_ = false;
  double lo_ = 0.0, hi_ = 1.0;
};

Status ValidateNormaliserOptions(const NormaliserOptions& options);

// Two-pass form of TemporalNormaliser, for callers that must emit each frame as soon as it is
// decoded (a synchronous frame callback) and so cannot wait `lookahead` frames: pass 1 measures
// every frame's range (depth only, at depth resolution), PlanDepthRanges computes the smoothed
// ranges the streaming normaliser would use, pass 2 applies them. Results equal the streaming
// normaliser's.
struct DepthRange {
  float lo = 0.0f;
  float hi = 1.0f;
};
// The robust (percentile) range of one raw map. Errors: kInvalidArgument for a bad map/options.
Result<DepthRange> MeasureDepthRange(const cv::Mat& raw, const NormaliserOptions& options);
// Smoothed range of every frame from the measured ranges and scene-cut flags (same length;
// frame 0 always starts a shot). Errors: kInvalidArgument for mismatched lengths or options.
Result<std::vector<DepthRange>> PlanDepthRanges(const std::vector<DepthRange>& measured,
                                                const std::vector<bool>& cuts,
                                                const NormaliserOptions& options);
// Maps raw depth into [0, 1] with `range` (clamped; a flat range gives 0.5 everywhere).
Status ApplyDepthRange(const cv::Mat& raw, DepthRange range, cv::Mat* out);

// Normalises one map by its own percentiles (temporal = off). *out is CV_32FC1 in [0, 1].
Status NormaliseFrame(const cv::Mat& raw, const NormaliserOptions& options, cv::Mat* out);

// Grows near regions (larger values) of `depth` (CV_32FC1) by `iterations` pixels in place, so a
// foreground object's edge pixels carry its depth rather than a blend with the background.
// Errors: kInvalidArgument for a bad map or iterations outside [0, 32].
Status DilateForeground(cv::Mat* depth, int iterations);

// Accumulates the flicker of normalised depth: the mean absolute change between consecutive
// frames over pixels whose luma changed by less than `static_luma` (0..255) at the depth's
// resolution. Pairs across a scene cut are skipped.
class FlickerMeter {
 public:
  explicit FlickerMeter(int static_luma = 4) : static_luma_(static_luma) {}
  // frame: CV_8UC3 any size; depth: CV_32FC1 normalised.
  Status Add(const cv::Mat& frame, const cv::Mat& depth, bool scene_cut);
  // Mean over all static pixels of all pairs so far; 0 when there were none.
  double mean() const { return pixels_ ? sum_ / static_cast<double>(pixels_) : 0.0; }
  int64_t static_pixels() const { return pixels_; }

 private:
  int static_luma_;
  cv::Mat luma_, prev_luma_, prev_depth_;
  bool has_prev_ = false;
  double sum_ = 0.0;
  int64_t pixels_ = 0;
};

}  // namespace stereospot::stereo
