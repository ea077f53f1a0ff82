#include "stereo/temporal.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <opencv2/imgproc.hpp>

namespace stereospot::stereo {
namespace {

constexpr int kBinsPerChannel = 4;  // 64 colour bins: coarse enough to ignore motion and noise
constexpr int kMaxSamples = 4096;   // percentile samples per frame
constexpr int kMaxDilation = 32;
constexpr double kMinRange = 1e-6;

// Robust range of `raw` from a strided sample of at most kMaxSamples pixels; `samples` is scratch.
void Percentiles(const cv::Mat& raw, const NormaliserOptions& options, std::vector<float>* samples,
                 float* lo, float* hi) {
  const size_t total = raw.total();
  const size_t step = std::max<size_t>(1, total / kMaxSamples);
  samples->clear();
  for (size_t i = 0; i < total; i += step) {
    const int y = static_cast<int>(i / static_cast<size_t>(raw.cols));
    const int x = static_cast<int>(i % static_cast<size_t>(raw.cols));
    const float v = raw.at<float>(y, x);
    if (std::isfinite(v)) samples->push_back(v);
  }
  if (samples->empty()) {
    *lo = 0.0f;
    *hi = 1.0f;
    return;
  }
  const auto at = [samples](double q) {
    const size_t k = static_cast<size_t>(q * static_cast<double>(samples->size() - 1));
    std::nth_element(samples->begin(), samples->begin() + static_cast<ptrdiff_t>(k),
                     samples->end());
    return (*samples)[k];
  };
  *lo = at(options.low_percentile);
  *hi = at(options.high_percentile);
}

// Range of the frame at the head of a window: the widest of the window's measured ranges.
void Target(const std::vector<DepthRange>& window, double* lo, double* hi) {
  *lo = window[0].lo;
  *hi = window[0].hi;
  for (const DepthRange& r : window) {
    *lo = std::min<double>(*lo, r.lo);
    *hi = std::max<double>(*hi, r.hi);
  }
}

void MapRange(const cv::Mat& raw, double lo, double hi, cv::Mat* out) {
  const double range = hi - lo;
  if (range < kMinRange) {
    out->create(raw.size(), CV_32FC1);
    out->setTo(0.5f);  // a flat scene: everything on the screen plane's side of the range
  } else {
    raw.convertTo(*out, CV_32F, 1.0 / range, -lo / range);
    cv::max(*out, 0.0, *out);
    cv::min(*out, 1.0, *out);
  }
}

}  // namespace

bool SceneCutDetector::IsCut(const cv::Mat& frame) {
  if (frame.empty() || frame.type() != CV_8UC3) {
    has_prev_ = false;
    return true;
  }
  try {
    cv::resize(frame, thumb_, cv::Size(32, 18), 0.0, 0.0, cv::INTER_AREA);
  } catch (const cv::Exception&) {
    has_prev_ = false;
    return true;
  }
  hist_.assign(kBinsPerChannel * kBinsPerChannel * kBinsPerChannel, 0.0f);
  const float unit = 1.0f / static_cast<float>(thumb_.total());
  for (int y = 0; y < thumb_.rows; ++y) {
    const uint8_t* p = thumb_.ptr<uint8_t>(y);
    for (int x = 0; x < thumb_.cols; ++x, p += 3) {
      const int bin = (p[0] >> 6) * 16 + (p[1] >> 6) * 4 + (p[2] >> 6);
      hist_[static_cast<size_t>(bin)] += unit;
    }
  }
  bool cut = true;
  last_distance_ = 0.0;
  if (has_prev_ && frame.size() == prev_size_) {
    double l1 = 0.0;
    for (size_t i = 0; i < hist_.size(); ++i) l1 += std::abs(hist_[i] - prev_hist_[i]);
    last_distance_ = 0.5 * l1;
    cut = last_distance_ >= threshold_;
  }
  std::swap(hist_, prev_hist_);
  prev_size_ = frame.size();
  has_prev_ = true;
  return cut;
}

Status ValidateNormaliserOptions(const NormaliserOptions& o) {
  if (o.lookahead < 0 || o.lookahead > 64) {
    return Status::InvalidArgument("lookahead " + std::to_string(o.lookahead) +
                                   " is outside [0, 64] frames");
  }
  if (!(o.smoothing > 0.0 && o.smoothing <= 1.0)) {
    return Status::InvalidArgument("smoothing " + std::to_string(o.smoothing) +
                                   " is outside (0, 1]");
  }
  if (!(o.low_percentile >= 0.0 && o.low_percentile < o.high_percentile &&
        o.high_percentile <= 1.0)) {
    return Status::InvalidArgument("percentiles must satisfy 0 <= low < high <= 1");
  }
  return Status::OK();
}

TemporalNormaliser::TemporalNormaliser(const NormaliserOptions& options) : options_(options) {}

void TemporalNormaliser::Reset() {
  while (!pending_.empty()) {
    free_.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  has_state_ = false;
  finished_ = false;
}

Status TemporalNormaliser::Push(const cv::Mat& raw, bool scene_cut, bool warmup) {
  if (finished_) return Status::InvalidArgument("normaliser: Push after Finish without Reset");
  if (raw.empty() || raw.type() != CV_32FC1) {
    return Status::InvalidArgument("normaliser: depth must be a non-empty CV_32FC1 map");
  }
  if (!pending_.empty() && pending_.back().raw.size() != raw.size() && !scene_cut) {
    return Status::InvalidArgument("normaliser: depth size changed without a scene cut");
  }
  Pending p;
  if (!free_.empty()) {
    p = std::move(free_.back());
    free_.pop_back();
  }
  try {
    raw.copyTo(p.raw);
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("normaliser: OpenCV: ") + e.what());
  }
  Percentiles(p.raw, options_, &samples_, &p.lo, &p.hi);
  p.cut = scene_cut;
  p.warmup = warmup;
  pending_.push_back(std::move(p));
  return Status::OK();
}

bool TemporalNormaliser::Pop(cv::Mat* out) {
  while (!pending_.empty()) {
    // The window of the front frame: itself and the look-ahead frames of the same shot.
    const size_t limit = std::min(pending_.size(), static_cast<size_t>(options_.lookahead) + 1);
    size_t end = 1;
    while (end < limit && !pending_[end].cut) ++end;
    const bool window_complete =
        finished_ || end < limit || pending_.size() > static_cast<size_t>(options_.lookahead);
    if (!window_complete) return false;
    double target_lo = pending_[0].lo, target_hi = pending_[0].hi;
    for (size_t i = 1; i < end; ++i) {
      target_lo = std::min<double>(target_lo, pending_[i].lo);
      target_hi = std::max<double>(target_hi, pending_[i].hi);
    }
    Pending front = std::move(pending_.front());
    pending_.pop_front();
    if (front.cut || !has_state_) {
      lo_ = target_lo;
      hi_ = target_hi;
      has_state_ = true;
    } else {
      lo_ += options_.smoothing * (target_lo - lo_);
      hi_ += options_.smoothing * (target_hi - hi_);
    }
    if (front.warmup) {
      free_.push_back(std::move(front));
      continue;
    }
    MapRange(front.raw, lo_, hi_, out);
    free_.push_back(std::move(front));
    return true;
  }
  return false;
}

Status NormaliseFrame(const cv::Mat& raw, const NormaliserOptions& options, cv::Mat* out) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateNormaliserOptions(options));
  if (out == nullptr) return Status::InvalidArgument("normalise: null output");
  NormaliserOptions one = options;
  one.lookahead = 0;
  TemporalNormaliser normaliser(one);
  STEREOSPOT_RETURN_IF_ERROR(normaliser.Push(raw, true));
  normaliser.Finish();
  if (!normaliser.Pop(out)) return Status::Internal("normalise: no frame came out");
  return Status::OK();
}

Status DilateForeground(cv::Mat* depth, int iterations) {
  if (depth == nullptr || depth->empty() || depth->type() != CV_32FC1) {
    return Status::InvalidArgument("edge dilation: depth must be a non-empty CV_32FC1 map");
  }
  if (iterations < 0 || iterations > kMaxDilation) {
    return Status::InvalidArgument("edge_dilation " + std::to_string(iterations) +
                                   " is outside [0, " + std::to_string(kMaxDilation) + "]");
  }
  if (iterations == 0) return Status::OK();
  try {
    // Grey-level dilation takes the maximum: the nearer value wins at every edge.
    cv::dilate(*depth, *depth, cv::Mat(), cv::Point(-1, -1), iterations);
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("edge dilation: OpenCV: ") + e.what());
  }
  return Status::OK();
}

Status FlickerMeter::Add(const cv::Mat& frame, const cv::Mat& depth, bool scene_cut) {
  if (frame.empty() || frame.type() != CV_8UC3 || depth.empty() || depth.type() != CV_32FC1) {
    return Status::InvalidArgument("flicker: need a CV_8UC3 frame and a CV_32FC1 depth map");
  }
  try {
    cv::Mat gray;
    cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
    cv::resize(gray, luma_, depth.size(), 0.0, 0.0, cv::INTER_AREA);
    if (has_prev_ && !scene_cut && prev_depth_.size() == depth.size()) {
      for (int y = 0; y < depth.rows; ++y) {
        const uint8_t* l = luma_.ptr<uint8_t>(y);
        const uint8_t* pl = prev_luma_.ptr<uint8_t>(y);
        const float* d = depth.ptr<float>(y);
        const float* pd = prev_depth_.ptr<float>(y);
        for (int x = 0; x < depth.cols; ++x) {
          if (std::abs(static_cast<int>(l[x]) - static_cast<int>(pl[x])) >= static_luma_) continue;
          sum_ += std::abs(static_cast<double>(d[x]) - static_cast<double>(pd[x]));
          ++pixels_;
        }
      }
    }
    std::swap(luma_, prev_luma_);
    depth.copyTo(prev_depth_);
    has_prev_ = true;
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("flicker: OpenCV: ") + e.what());
  }
  return Status::OK();
}

Status ApplyDepthRange(const cv::Mat& raw, DepthRange range, cv::Mat* out) {
  if (raw.empty() || raw.type() != CV_32FC1 || out == nullptr) {
    return Status::InvalidArgument("depth range: need a non-empty CV_32FC1 map and an output");
  }
  try {
    MapRange(raw, range.lo, range.hi, out);
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("depth range: OpenCV: ") + e.what());
  }
  return Status::OK();
}

Result<DepthRange> MeasureDepthRange(const cv::Mat& raw, const NormaliserOptions& options) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateNormaliserOptions(options));
  if (raw.empty() || raw.type() != CV_32FC1) {
    return Status::InvalidArgument("depth range: depth must be a non-empty CV_32FC1 map");
  }
  std::vector<float> samples;
  DepthRange range;
  Percentiles(raw, options, &samples, &range.lo, &range.hi);
  return range;
}

Result<std::vector<DepthRange>> PlanDepthRanges(const std::vector<DepthRange>& measured,
                                                const std::vector<bool>& cuts,
                                                const NormaliserOptions& options) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateNormaliserOptions(options));
  if (measured.size() != cuts.size()) {
    return Status::InvalidArgument("depth range plan: ranges and cut flags differ in length");
  }
  std::vector<DepthRange> planned(measured.size());
  std::vector<DepthRange> window;
  double lo = 0.0, hi = 1.0;
  for (size_t t = 0; t < measured.size(); ++t) {
    // Same window and smoothing as TemporalNormaliser::Pop.
    window.assign(1, measured[t]);
    for (size_t i = t + 1; i < measured.size() && i <= t + static_cast<size_t>(options.lookahead);
         ++i) {
      if (cuts[i]) break;
      window.push_back(measured[i]);
    }
    double target_lo, target_hi;
    Target(window, &target_lo, &target_hi);
    if (t == 0 || cuts[t]) {
      lo = target_lo;
      hi = target_hi;
    } else {
      lo += options.smoothing * (target_lo - lo);
      hi += options.smoothing * (target_hi - hi);
    }
    planned[t] = DepthRange{static_cast<float>(lo), static_cast<float>(hi)};
  }
  return planned;
}

}  // namespace stereospot::stereo
