#include "pipeline/stereo_segment.h"

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <pthread.h>

#include "core/handoff_queue.h"
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

// The pixels views are rendered in. Views only move, blend and resize pixels, which gives the
// same result in any colour model, so the layouts made of whole views render in the decoder's own
// Y Cb Cr (no conversion to RGB and back). Anaglyph mixes colour channels and RGBD draws depth
// as gray: those need RGB.
media::PixelLayout PixelsFor(Layout layout) {
  switch (layout) {
    case Layout::kSbs:
    case Layout::kHalfSbs:
    case Layout::kTb:
    case Layout::kHalfTb:
    case Layout::kCross:
      return media::PixelLayout::kYuvPacked;
    default:
      return media::PixelLayout::kRgb24;
  }
}

// A borrowed OpenCV view of a packed 3-byte image (RGB24 or kYuvPacked). OpenCV's constructor takes
// a non-const pointer; the view is only read.
cv::Mat MatOf(const media::VideoImage& image) {
  return cv::Mat(image.height, image.width, CV_8UC3,
                 const_cast<uint8_t*>(image.planes[0].data()),  // NOLINT: read-only use
                 static_cast<size_t>(image.stride[0]));
}

// Depth backends see frames at their working resolution, scaled by the media layer while it
// converts the decoded picture (media::ConvertOptions::analysis_short_side): far cheaper than a
// full-size RGB frame scaled afterwards.
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

 private:
  DepthStage(std::unique_ptr<DepthEstimator> estimator, int short_side)
      : estimator_(std::move(estimator)), short_side_(short_side) {}

  std::unique_ptr<DepthEstimator> estimator_;
  int short_side_;
  DepthMap map_;
};

// Runs `body` on a thread of its own and joins it when destroyed, so no return path can leave
// the thread running.
class JoinedThread {
 public:
  JoinedThread() = default;
  JoinedThread(const JoinedThread&) = delete;
  JoinedThread& operator=(const JoinedThread&) = delete;
  ~JoinedThread() { Join(); }
  Status Start(std::function<void()> body) {
    try {
      thread_ = std::thread(std::move(body));
    } catch (const std::system_error& e) {
      return Status::Unavailable(std::string("cannot start a thread: ") + e.what());
    }
    return Status::OK();
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

class SegmentJob {
 public:
  SegmentJob(const ConversionParams& params, const StereoSegmentOptions& options)
      : params_(params), options_(options), normaliser_(normaliser_options_) {}

  Result<StereoSegmentStats> Run(const std::string& input, const std::string& warmup,
                                 const std::string& output) {
    if (params_.max_fps != 0) {
      return Status::Permanent(
          "max_fps is not supported by this version (frames in must equal frames out); leave it "
          "at 0");
    }
    STEREOSPOT_ASSIGN_OR_RETURN(stereo_options_, StereoOptionsFor(params_));
    STEREOSPOT_ASSIGN_OR_RETURN(depth_, DepthStage::Create(params_));
    STEREOSPOT_RETURN_IF_ERROR(stereo::ValidateNormaliserOptions(normaliser_options_));
    STEREOSPOT_ASSIGN_OR_RETURN(stereo::StereoRenderer renderer,
                                stereo::StereoRenderer::Create(stereo_options_));
    renderer_.emplace(std::move(renderer));

    const auto start = Clock::now();
    // Unbounded, yet never more than the conversion's look-ahead plus one frame in flight: the
    // conversion queues a frame for analysis only as it hands the oldest held one to rendering.
    HandoffQueue<cv::Mat> frames;  // analysis images, in frame order
    HandoffQueue<cv::Mat> depths;  // maps ready to render (normalised, edges dilated)
    JoinedThread analysis;
    STEREOSPOT_RETURN_IF_ERROR(analysis.Start([&] {
      // Named so that profilers and debuggers tell it from the codecs' threads.
      pthread_setname_np(pthread_self(), "ss-analysis");
      const auto analysis_start = Clock::now();
      // The warm-up runs here, so decoding the segment and starting its encoder overlap it.
      Status analysed = Status::OK();
      if (!warmup.empty() && options_.warmup_frames > 0) analysed = Warm(warmup, frames);
      if (analysed.ok()) analysed = Analyse(&frames, &depths);
      if (analysed.ok()) {
        depths.Close();
      } else {
        depths.Fail(analysed);
        frames.Fail(analysed);
      }
      stats_.analysis_seconds = SecondsSince(analysis_start);
    }));
    Status converted = Convert(input, output, &frames, &depths);
    // The analysis thread ends however the conversion did: at the end of its frames, or at once.
    if (converted.ok()) {
      frames.Close();
    } else {
      frames.Fail(Status::Cancelled("rendering stopped"));
    }
    analysis.Join();
    STEREOSPOT_RETURN_IF_ERROR(converted);
    if (analysed_frames_ != stats_.frames) {
      return Status::Internal("the conversion saw " + std::to_string(stats_.frames) +
                              " frames, the analysis " + std::to_string(analysed_frames_));
    }
    stats_.conversion_seconds = SecondsSince(start);
    return stats_;
  }

 private:
  bool Cancelled() const { return options_.cancelled && options_.cancelled(); }

  void Report(std::int64_t frames, Clock::time_point start) const {
    if (!options_.progress || options_.progress_every <= 0) return;
    if (frames % options_.progress_every != 0) return;
    options_.progress(StereoSegmentProgress{frames, SecondsSince(start)});
  }

  // One prescaled frame through cut detection and depth: the raw depth, valid until the next
  // call. Frames must come in order (the detector and some backends keep sequence state).
  Result<cv::Mat> Estimate(const cv::Mat& small, bool* cut) {
    *cut = cuts_detector_.IsCut(small);  // the very first frame is always a cut
    return depth_->Estimate(small, *cut);
  }

  // Runs the last warmup_frames frames of the previous segment through the same steps as the
  // segment's own, so the scene-cut detector, the depth backend and the normaliser's range
  // continue across the boundary. Only the warm-up segment's tail is decoded. Runs on the
  // analysis thread before the segment's frames; stops when `segment` has failed (the
  // conversion ended early: cancelled or failed).
  Status Warm(const std::string& warmup, const HandoffQueue<cv::Mat>& segment) {
    std::deque<cv::Mat> frames;
    const auto visit = [&](const media::FrameInfo&, const media::VideoImage& image) -> Status {
      if (!segment.status().ok()) return Status::Cancelled("rendering stopped");
      frames.push_back(MatOf(image).clone());
      if (static_cast<int>(frames.size()) > options_.warmup_frames) frames.pop_front();
      return Status::OK();
    };
    media::DecodeOptions decode;
    decode.threads = options_.threads;
    decode.analysis_short_side = depth_->short_side();  // only the depth stage's size is needed
    decode.tail_frames = options_.warmup_frames;
    // Warm-up frames only feed analysis state: deblocking is lost in the scaling anyway.
    decode.fast = true;
    auto decoded = media::DecodeFrames(warmup, decode, visit);
    if (!decoded.ok()) {
      if (decoded.status().code() == StatusCode::kCancelled) return decoded.status();
      return Status(decoded.status().code(),
                    "warm-up segment: " + std::string(decoded.status().message()));
    }
    for (const cv::Mat& small : frames) {
      bool cut = false;
      STEREOSPOT_ASSIGN_OR_RETURN(cv::Mat raw, Estimate(small, &cut));
      if (params_.temporal) {
        STEREOSPOT_RETURN_IF_ERROR(normaliser_.Push(raw, cut, /*warmup=*/true));
      }
    }
    stats_.warmup_frames = static_cast<std::int64_t>(frames.size());
    return Status::OK();
  }

  // Normalised depth with foreground edges dilated, the form the renderer takes.
  Status Finish(cv::Mat* depth) { return stereo::DilateForeground(depth, params_.edge_dilation); }

  // The analysis thread: scene cuts, depth and temporal normalisation of each analysis image,
  // in frame order. With temporal normalisation a map is ready `lookahead` frames after its
  // frame arrived (the normaliser looks ahead), which is why the conversion holds that many
  // decoded frames back from rendering. Touches only analysis state; stats_ fields it writes
  // are read after the join.
  Status Analyse(HandoffQueue<cv::Mat>* frames, HandoffQueue<cv::Mat>* depths) {
    const auto push_ready = [&]() -> Status {
      cv::Mat depth;
      while (normaliser_.Pop(&depth)) {
        STEREOSPOT_RETURN_IF_ERROR(Finish(&depth));
        if (!depths->Push(std::move(depth))) return Status::Cancelled("rendering stopped");
      }
      return Status::OK();
    };
    cv::Mat small;
    while (frames->Pop(&small)) {
      bool cut = false;
      STEREOSPOT_ASSIGN_OR_RETURN(cv::Mat raw, Estimate(small, &cut));
      if (cut && analysed_frames_ > 0) ++stats_.scene_cuts;
      ++analysed_frames_;
      if (params_.temporal) {
        STEREOSPOT_RETURN_IF_ERROR(normaliser_.Push(raw, cut));
        STEREOSPOT_RETURN_IF_ERROR(push_ready());
        continue;
      }
      cv::Mat depth;
      STEREOSPOT_RETURN_IF_ERROR(stereo::NormaliseFrame(raw, normaliser_options_, &depth));
      STEREOSPOT_RETURN_IF_ERROR(Finish(&depth));
      if (!depths->Push(std::move(depth))) return Status::Cancelled("rendering stopped");
    }
    if (!frames->status().ok()) return Status::Cancelled("rendering stopped");
    if (params_.temporal) {
      normaliser_.Finish();
      STEREOSPOT_RETURN_IF_ERROR(push_ready());
    }
    return Status::OK();
  }

  // The calling thread: decodes the segment once (media::ConvertSegment), sends each frame's
  // analysis image to the analysis thread as it is decoded, and renders each frame, held back
  // by the look-ahead, with the depth map queued for it, packed straight into the encoder's
  // frame.
  Status Convert(const std::string& input, const std::string& output, HandoffQueue<cv::Mat>* frames,
                 HandoffQueue<cv::Mat>* depths) {
    media::ConvertOptions convert;
    const media::PixelLayout pixels = PixelsFor(params_.layout);
    convert.layout = pixels;
    convert.encode.codec = params_.codec;
    convert.encode.crf = params_.crf;
    convert.encode.preset = params_.preset;
    convert.encode.pix_fmt = params_.pix_fmt;
    convert.encode.threads = options_.threads;
    convert.encode.frame_packing = FramePackingFor(params_.layout);
    convert.analysis_short_side = depth_->short_side();
    // The normaliser's look-ahead, plus a few frames so that analysis runs ahead of rendering
    // rather than in step with it.
    constexpr int kAnalysisSlack = 4;
    convert.lookahead.frames =
        (params_.temporal ? normaliser_options_.lookahead : 0) + kAnalysisSlack;
    convert.lookahead.visitor = [&](const media::FrameInfo&,
                                    const media::VideoImage& image) -> Status {
      if (Cancelled()) return Status::Cancelled("segment conversion cancelled");
      if (!frames->Push(MatOf(image).clone())) return frames->status();
      return Status::OK();
    };
    convert.lookahead.on_end = [&] {
      frames->Close();
      return Status::OK();
    };
    const auto start = Clock::now();
    cv::Mat depth;
    const auto callback = [&](const media::FrameInfo& info, const media::VideoImage& in,
                              media::VideoImage* out) -> Status {
      if (Cancelled()) return Status::Cancelled("segment conversion cancelled");
      if (!depths->Pop(&depth)) {
        if (!depths->status().ok()) return depths->status();
        return Status::Internal("the conversion decoded more frames than the analysis");
      }
      STEREOSPOT_ASSIGN_OR_RETURN(cv::Size packed,
                                  stereo::PackedSize(stereo_options_.layout, in.width, in.height));
      if (out->width != packed.width || out->height != packed.height || out->layout != pixels) {
        out->Allocate(packed.width, packed.height, pixels);
      }
      // Render straight into the encoder's frame; copy only if the renderer chose a buffer of
      // its own.
      cv::Mat target(packed.height, packed.width, CV_8UC3, out->planes[0].data(),
                     static_cast<size_t>(out->stride[0]));
      uint8_t* const buffer = target.data;
      STEREOSPOT_RETURN_IF_ERROR(renderer_->Render(MatOf(in), depth, &target));
      if (target.data != buffer) {
        target.copyTo(cv::Mat(packed.height, packed.width, CV_8UC3, buffer,
                              static_cast<size_t>(out->stride[0])));
      }
      Report(info.index + 1, start);
      return Status::OK();
    };
    auto converted = media::ConvertSegment(input, output, convert, callback);
    if (!converted.ok()) return converted.status();
    stats_.frames = converted->frames_in;
    stats_.width_out = converted->width_out;
    stats_.height_out = converted->height_out;
    return Status::OK();
  }

  const ConversionParams& params_;
  const StereoSegmentOptions& options_;
  stereo::StereoOptions stereo_options_;
  stereo::NormaliserOptions normaliser_options_;
  std::unique_ptr<DepthStage> depth_;
  std::optional<stereo::StereoRenderer> renderer_;  // set by Run
  // Analysis state: only the analysis thread touches these (the warm-up runs there too).
  stereo::SceneCutDetector cuts_detector_;
  stereo::TemporalNormaliser normaliser_;
  std::int64_t analysed_frames_ = 0;
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
