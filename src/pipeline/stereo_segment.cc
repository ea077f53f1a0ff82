#include "pipeline/stereo_segment.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "media/frame_pipeline.h"
#include "media/stereo_layout.h"
#include "stereo/depth_factory.h"
#include "stereo/packing.h"
#include "stereo/stereo_options.h"
#include "stereo/stereo_renderer.h"
#include "stereo/temporal.h"

namespace stereospot::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The stereo layer keeps its own enums (it builds without core's parameter type); the names are
// the shared vocabulary, so convert by name rather than by enumerator order.
Result<stereo::StereoOptions> StereoOptionsFor(const ConversionParams& params) {
  stereo::StereoOptions options;
  STEREOSPOT_ASSIGN_OR_RETURN(options.layout,
                              stereo::ParseLayout(stereospot::LayoutName(params.layout)));
  STEREOSPOT_ASSIGN_OR_RETURN(
      options.anaglyph,
      stereo::ParseAnaglyphMethod(stereospot::AnaglyphMethodName(params.anaglyph)));
  options.divergence = params.divergence;
  options.convergence = params.convergence;
  options.swap_eyes = params.swap_eyes;
  options.channel_order = stereo::ChannelOrder::kRgb;  // the media layer hands out RGB24
  STEREOSPOT_RETURN_IF_ERROR(stereo::ValidateStereoOptions(options));
  return options;
}

media::StereoLayout FramePackingFor(Layout layout) {
  // The frame-packing SEI matters for the half layouts, where a player cannot tell a stereo
  // frame from a squeezed 2D one by its shape.
  switch (layout) {
    case Layout::kHalfSbs:
      return media::StereoLayout::kSideBySide;
    case Layout::kHalfTb:
      return media::StereoLayout::kTopBottom;
    default:
      return media::StereoLayout::kNone;
  }
}

// A borrowed OpenCV view of an RGB24 image. OpenCV's constructor takes a non-const pointer; the
// view is only read.
cv::Mat MatOf(const media::VideoImage& image) {
  return cv::Mat(image.height, image.width, CV_8UC3,
                 const_cast<uint8_t*>(image.planes[0].data()),  // NOLINT: read-only use
                 static_cast<size_t>(image.stride[0]));
}

// Depth backends see frames at their working resolution, scaled by the media layer while it
// converts the decoded picture (media::ConvertOptions::analysis_short_side): far cheaper than a
// full-size RGB frame scaled afterwards, and the same pixels in both passes and in the warm-up.
class DepthStage {
 public:
  static Result<std::unique_ptr<DepthStage>> Create(const ConversionParams& params) {
    DepthEstimatorOptions options;
    options.depth_resolution = params.depth_resolution;
    STEREOSPOT_ASSIGN_OR_RETURN(auto estimator, stereo::MakeDepthEstimator(params.depth, options));
    const bool builtin = params.depth == "builtin";
    // Networks resize to their own input; 518 px (Depth Anything's side) loses nothing for them.
    const int short_side = params.depth_resolution > 0 ? params.depth_resolution
                           : builtin                   ? 384
                                                       : 518;
    return std::unique_ptr<DepthStage>(new DepthStage(std::move(estimator), short_side));
  }

  // The short side frames are scaled to before depth estimation.
  int short_side() const { return short_side_; }

  // Raw depth of a prescaled frame; `cut` resets the backend's sequence state first. The
  // returned view is valid until the next call.
  Result<cv::Mat> Estimate(const cv::Mat& small, bool cut) {
    if (cut) estimator_->Reset();
    STEREOSPOT_RETURN_IF_ERROR(
        estimator_->Estimate(stereo::ImageViewOf(small, stereo::ChannelOrder::kRgb), &map_));
    return cv::Mat(map_.height, map_.width, CV_32FC1, map_.values.data());
  }

  void Reset() { estimator_->Reset(); }

 private:
  DepthStage(std::unique_ptr<DepthEstimator> estimator, int short_side)
      : estimator_(std::move(estimator)), short_side_(short_side) {}

  std::unique_ptr<DepthEstimator> estimator_;
  int short_side_;
  DepthMap map_;
};

// Hands pass 1's small frames from the decoding thread to the thread that measures them, so the
// depth stage of frame n runs while frame n + 1 decodes (pass 1 alone left a core idle about a
// third of the time on 2 cores). Bounded: the decoder waits when kDepth frames are queued.
// Frames keep their order; the first error of either side stops both.
class FrameHandoff {
 public:
  static constexpr size_t kDepth = 4;

  // Decoder side: queues a frame, waiting for room. False once the measuring side has stopped.
  bool Push(cv::Mat frame) {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return queue_.size() < kDepth || stopped_; });
    if (stopped_) return false;
    queue_.push_back(std::move(frame));
    ready_.notify_one();
    return true;
  }
  // Decoder side: no more frames.
  void Close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_one();
  }
  // Measuring side: the next frame, or false when closed and drained.
  bool Pop(cv::Mat* frame) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return false;
    *frame = std::move(queue_.front());
    queue_.pop_front();
    room_.notify_one();
    return true;
  }
  // Measuring side: stops taking frames (after an error).
  void Stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    room_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_, room_;
  std::deque<cv::Mat> queue_;
  bool closed_ = false;
  bool stopped_ = false;
};

class SegmentJob {
 public:
  SegmentJob(const ConversionParams& params, const StereoSegmentOptions& options)
      : params_(params), options_(options) {}

  Result<StereoSegmentStats> Run(const std::string& input, const std::string& warmup,
                                 const std::string& output) {
    if (params_.max_fps != 0) {
      return Status::Permanent(
          "max_fps is not supported by this version (frames in must equal frames out); leave it "
          "at 0");
    }
    STEREOSPOT_ASSIGN_OR_RETURN(stereo_options_, StereoOptionsFor(params_));
    STEREOSPOT_ASSIGN_OR_RETURN(depth_, DepthStage::Create(params_));
    STEREOSPOT_RETURN_IF_ERROR(stereo::ValidateNormaliserOptions(normaliser_));

    const auto analysis_start = Clock::now();
    if (!warmup.empty() && options_.warmup_frames > 0) {
      STEREOSPOT_RETURN_IF_ERROR(CollectWarmup(warmup));
    }
    STEREOSPOT_RETURN_IF_ERROR(Analyse(input));
    stats_.analysis_seconds = SecondsSince(analysis_start);

    const auto conversion_start = Clock::now();
    STEREOSPOT_RETURN_IF_ERROR(Convert(input, output));
    stats_.conversion_seconds = SecondsSince(conversion_start);
    return stats_;
  }

 private:
  bool Cancelled() const { return options_.cancelled && options_.cancelled(); }

  void Report(int pass, std::int64_t frames, Clock::time_point start) const {
    if (!options_.progress || options_.progress_every <= 0) return;
    if (frames % options_.progress_every != 0) return;
    options_.progress(StereoSegmentProgress{pass, frames, SecondsSince(start)});
  }

  // Decoding for analysis: frames arrive at the depth stage's working size.
  media::DecodeOptions Decode() const {
    media::DecodeOptions decode;
    decode.threads = options_.threads;
    decode.analysis_short_side = depth_->short_side();
    return decode;
  }

  // Keeps the last warmup_frames frames of the previous segment, prescaled.
  Status CollectWarmup(const std::string& warmup) {
    const auto visit = [&](const media::FrameInfo&, const media::VideoImage& image) -> Status {
      if (Cancelled()) return Status::Cancelled("segment conversion cancelled");
      warm_.push_back(MatOf(image).clone());
      if (static_cast<int>(warm_.size()) > options_.warmup_frames) warm_.pop_front();
      return Status::OK();
    };
    auto decoded = media::DecodeFrames(warmup, Decode(), visit);
    if (!decoded.ok()) {
      if (decoded.status().code() == StatusCode::kCancelled) return decoded.status();
      return Status(decoded.status().code(),
                    "warm-up segment: " + std::string(decoded.status().message()));
    }
    stats_.warmup_frames = static_cast<std::int64_t>(warm_.size());
    return Status::OK();
  }

  // Pass 1 for one prescaled frame: cut, depth, range; `keep` stores the depth for pass 2.
  Status Measure(const cv::Mat& small, bool keep) {
    const bool cut = cuts_detector_.IsCut(small);  // the very first frame is always a cut
    STEREOSPOT_ASSIGN_OR_RETURN(cv::Mat raw, depth_->Estimate(small, cut));
    STEREOSPOT_ASSIGN_OR_RETURN(stereo::DepthRange range,
                                stereo::MeasureDepthRange(raw, normaliser_));
    measured_.push_back(range);
    cuts_.push_back(cut);
    if (keep) {
      cached_bytes_ += static_cast<std::int64_t>(raw.total() * raw.elemSize());
      if (cached_bytes_ <= options_.memory_budget_bytes) {
        cache_.push_back(raw.clone());
      } else {
        cache_.clear();
        cache_enabled_ = false;
      }
    }
    return Status::OK();
  }

  Status Analyse(const std::string& input) {
    for (const cv::Mat& small : warm_) STEREOSPOT_RETURN_IF_ERROR(Measure(small, false));
    const auto start = Clock::now();
    std::int64_t frames = 0;
    FrameHandoff handoff;
    Status measured;  // the measuring thread's result; read after join
    const auto measure = [&] {
      cv::Mat small;
      while (handoff.Pop(&small)) {
        measured = Measure(small, cache_enabled_);
        if (!measured.ok()) {
          handoff.Stop();
          return;
        }
      }
    };
    std::thread measurer;
    try {
      measurer = std::thread(measure);
    } catch (const std::system_error& e) {
      return Status::Unavailable(std::string("cannot start the analysis thread: ") + e.what());
    }
    const auto visit = [&](const media::FrameInfo&, const media::VideoImage& image) -> Status {
      if (Cancelled()) return Status::Cancelled("segment conversion cancelled");
      if (!handoff.Push(MatOf(image).clone())) {
        return Status::Cancelled("analysis stopped");  // `measured` holds the reason
      }
      Report(1, ++frames, start);
      return Status::OK();
    };
    Result<std::int64_t> decoded = media::DecodeFrames(input, Decode(), visit);
    handoff.Close();
    measurer.join();
    STEREOSPOT_RETURN_IF_ERROR(measured);
    STEREOSPOT_ASSIGN_OR_RETURN(stats_.frames, std::move(decoded));
    for (size_t i = warm_.size() + 1; i < cuts_.size(); ++i) stats_.scene_cuts += cuts_[i] ? 1 : 0;
    if (params_.temporal) {
      STEREOSPOT_ASSIGN_OR_RETURN(ranges_, stereo::PlanDepthRanges(measured_, cuts_, normaliser_));
    }
    stats_.depth_reused = cache_enabled_;
    if (!cache_enabled_) {
      // Pass 2 estimates again: bring the backend to the state it had before the segment's
      // first frame by replaying the warm-up frames with the same resets.
      depth_->Reset();
      for (size_t i = 0; i < warm_.size(); ++i) {
        STEREOSPOT_RETURN_IF_ERROR(depth_->Estimate(warm_[i], cuts_[i]).status());
      }
    }
    warm_.clear();
    return Status::OK();
  }

  // Pass 2's depth for segment frame `index`: normalised to [0, 1], edges dilated. `small` is
  // the frame at the depth stage's working size (used when the depth was not kept).
  Status DepthFor(std::int64_t index, const cv::Mat& small) {
    const size_t at = static_cast<size_t>(stats_.warmup_frames + index);
    if (at >= cuts_.size()) {
      return Status::Internal("the conversion pass decoded more frames than the analysis pass");
    }
    cv::Mat raw;
    if (cache_enabled_) {
      raw = cache_[static_cast<size_t>(index)];
    } else {
      STEREOSPOT_ASSIGN_OR_RETURN(raw, depth_->Estimate(small, cuts_[at]));
    }
    if (params_.temporal) {
      STEREOSPOT_RETURN_IF_ERROR(stereo::ApplyDepthRange(raw, ranges_[at], &depth_norm_));
    } else {
      STEREOSPOT_RETURN_IF_ERROR(stereo::NormaliseFrame(raw, normaliser_, &depth_norm_));
    }
    return stereo::DilateForeground(&depth_norm_, params_.edge_dilation);
  }

  Status Convert(const std::string& input, const std::string& output) {
    STEREOSPOT_ASSIGN_OR_RETURN(stereo::StereoRenderer renderer,
                                stereo::StereoRenderer::Create(stereo_options_));
    media::ConvertOptions convert;
    convert.layout = media::PixelLayout::kRgb24;
    convert.encode.codec = params_.codec;
    convert.encode.crf = params_.crf;
    convert.encode.preset = params_.preset;
    convert.encode.pix_fmt = params_.pix_fmt;
    convert.encode.threads = options_.threads;
    convert.encode.frame_packing = FramePackingFor(params_.layout);
    // Without kept depth, pass 2 estimates again from the same small frames as pass 1.
    if (!cache_enabled_) convert.analysis_short_side = depth_->short_side();
    const auto start = Clock::now();
    const auto callback = [&](const media::FrameInfo& info, const media::VideoImage& in,
                              media::VideoImage* out) -> Status {
      if (Cancelled()) return Status::Cancelled("segment conversion cancelled");
      const cv::Mat frame = MatOf(in);
      STEREOSPOT_RETURN_IF_ERROR(
          DepthFor(info.index, info.analysis != nullptr ? MatOf(*info.analysis) : frame));
      STEREOSPOT_ASSIGN_OR_RETURN(cv::Size packed,
                                  stereo::PackedSize(stereo_options_.layout, in.width, in.height));
      if (out->width != packed.width || out->height != packed.height ||
          out->layout != media::PixelLayout::kRgb24) {
        out->Allocate(packed.width, packed.height, media::PixelLayout::kRgb24);
      }
      // Render straight into the encoder's frame; copy only if the renderer chose a buffer of
      // its own.
      cv::Mat target(packed.height, packed.width, CV_8UC3, out->planes[0].data(),
                     static_cast<size_t>(out->stride[0]));
      uint8_t* const buffer = target.data;
      STEREOSPOT_RETURN_IF_ERROR(renderer.Render(frame, depth_norm_, &target));
      if (target.data != buffer) {
        target.copyTo(cv::Mat(packed.height, packed.width, CV_8UC3, buffer,
                              static_cast<size_t>(out->stride[0])));
      }
      Report(2, info.index + 1, start);
      return Status::OK();
    };
    STEREOSPOT_ASSIGN_OR_RETURN(media::ConvertStats converted,
                                media::ConvertSegment(input, output, convert, callback));
    if (converted.frames_in != stats_.frames) {
      return Status::Internal("the conversion pass saw " + std::to_string(converted.frames_in) +
                              " frames, the analysis pass " + std::to_string(stats_.frames));
    }
    stats_.width_out = converted.width_out;
    stats_.height_out = converted.height_out;
    return Status::OK();
  }

  const ConversionParams& params_;
  const StereoSegmentOptions& options_;
  stereo::StereoOptions stereo_options_;
  stereo::NormaliserOptions normaliser_;
  std::unique_ptr<DepthStage> depth_;
  stereo::SceneCutDetector cuts_detector_;
  std::deque<cv::Mat> warm_;                  // prescaled frames of the previous segment
  std::vector<stereo::DepthRange> measured_;  // warm-up frames first, then the segment's
  std::vector<bool> cuts_;
  std::vector<stereo::DepthRange> ranges_;  // planned, same indexing (temporal only)
  std::vector<cv::Mat> cache_;              // raw depth of the segment's frames
  std::int64_t cached_bytes_ = 0;
  bool cache_enabled_ = true;
  cv::Mat depth_norm_;
  StereoSegmentStats stats_;
};

}  // namespace

Result<StereoSegmentStats> ConvertStereoSegment(const std::string& input_segment,
                                                const std::string& warmup_segment,
                                                const std::string& output_path,
                                                const ConversionParams& params,
                                                const StereoSegmentOptions& options) {
  SegmentJob job(params, options);
  return job.Run(input_segment, warmup_segment, output_path);
}

}  // namespace stereospot::pipeline
