#include "media/frame_pipeline.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <vector>

#include "media/atomic_path.h"
#include "media/av_handles.h"
#include "media/video_image_ops.h"

extern "C" {
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/stereo3d.h>
}

namespace stereospot::media {

namespace {

// The colour description of the source, resolved once: every conversion in and out of the
// callback's layout uses the same matrix, so an identity callback changes no colour.
struct Colour {
  AVColorSpace matrix = AVCOL_SPC_BT709;
  bool full_range = false;
  AVColorPrimaries primaries = AVCOL_PRI_UNSPECIFIED;
  AVColorTransferCharacteristic transfer = AVCOL_TRC_UNSPECIFIED;
};

// libswscale still treats the deprecated "yuvj" formats as full range on its own and warns;
// use the plain format and say the range explicitly instead.
AVPixelFormat WithoutJ(AVPixelFormat f, bool* full) {
  switch (f) {
    case AV_PIX_FMT_YUVJ420P:
      *full = true;
      return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
      *full = true;
      return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
      *full = true;
      return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P:
      *full = true;
      return AV_PIX_FMT_YUV440P;
    default:
      return f;
  }
}

// EncodeOptions::handoff_frames resolved for a width x height encoder; 0 leaves x264's default.
int HandoffFrames(int requested, int width, int height) {
  if (requested >= 0) return requested;
  constexpr std::int64_t kBudgetBytes = 200LL << 20;
  constexpr int kMostFrames = 24;
  // An 8-bit 4:2:0 picture with x264's padding is about twice its luma plane.
  const std::int64_t picture = std::max<std::int64_t>(1, 2LL * width * height);
  return static_cast<int>(std::min<std::int64_t>(kMostFrames, kBudgetBytes / picture));
}

AVPixelFormat FormatOf(PixelLayout layout) {
  switch (layout) {
    case PixelLayout::kRgb24:
      return AV_PIX_FMT_RGB24;
    case PixelLayout::kYuv420p:
      return AV_PIX_FMT_YUV420P;
    case PixelLayout::kYuv444p:
      return AV_PIX_FMT_YUV444P;
    case PixelLayout::kYuvPacked:
      // No packed 8-bit 4:4:4 format in libswscale: converted through planar 4:4:4.
      return AV_PIX_FMT_YUV444P;
  }
  return AV_PIX_FMT_RGB24;
}

// The layout analysis images are made in: the callback's, except that packed Y Cb Cr is for
// pixel moving only and models want RGB.
PixelLayout AnalysisLayout(PixelLayout layout) {
  return layout == PixelLayout::kYuvPacked ? PixelLayout::kRgb24 : layout;
}

// `frame`'s planes, borrowed.
PlanarPicture PlanesOf(const AVFrame* frame, bool chroma_halved) {
  return PlanarPicture{frame->data, frame->linesize, frame->width, frame->height, chroma_halved};
}

int SwsMatrix(AVColorSpace m) {
  switch (m) {
    case AVCOL_SPC_BT709:
      return SWS_CS_ITU709;
    case AVCOL_SPC_FCC:
      return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M:
      return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return SWS_CS_BT2020;
    default:
      return SWS_CS_ITU601;
  }
}

// Sizes never change in these conversions, so no scaling filter matters; without ACCURATE_RND
// and FULL_CHR_H_INT libswscale takes its SIMD unscaled paths (which still honour the matrix and
// range set below), several times faster at a cost of at most one code value.
constexpr int kSwsFlags = SWS_BILINEAR;
// Downscaling for analysis: each output pixel averages the source pixels it covers.
constexpr int kSwsAnalysisFlags = SWS_AREA;
// A conversion between two pixel formats (and sizes), with explicit matrix and ranges.
Result<SwsContextPtr> MakeSws(int sw, int sh, AVPixelFormat sf, bool s_full, int dw, int dh,
                              AVPixelFormat df, bool d_full, AVColorSpace matrix,
                              int flags = kSwsFlags) {
  SwsContextPtr sws(sws_getContext(sw, sh, sf, dw, dh, df, flags, nullptr, nullptr, nullptr));
  if (!sws)
    return Status::Permanent("cannot convert pixel format " + std::string(av_get_pix_fmt_name(sf)) +
                             " to " + av_get_pix_fmt_name(df));
  const int* coeffs = sws_getCoefficients(SwsMatrix(matrix));
  sws_setColorspaceDetails(sws.get(), coeffs, s_full ? 1 : 0, coeffs, d_full ? 1 : 0, 0, 1 << 16,
                           1 << 16);
  return sws;
}

int RotationOf(const AVStream* st) {
  size_t size = 0;
  const uint8_t* m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (m == nullptr || size < 9 * sizeof(int32_t)) return 0;
  const double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(m));
  if (ccw != ccw) return 0;  // NaN: not a pure rotation
  const int cw = static_cast<int>(std::lround(-ccw / 90.0)) * 90;
  return ((cw % 360) + 360) % 360;
}

class Encoder {
 public:
  static Result<std::unique_ptr<Encoder>> Open(const std::string& path, const EncodeOptions& opt,
                                               const VideoImage& first, const AVStream* in,
                                               const Colour& colour);
  // Encodes `img` at `pts` (input stream time base).
  Status Encode(const VideoImage& img, int64_t pts);
  Status Finish();
  void SetDuration(int64_t pts, int64_t duration) { durations_[pts] = duration; }
  int64_t packets() const { return packets_; }
  int width() const { return ctx_->width; }
  int height() const { return ctx_->height; }

 private:
  Status Drain();

  OutputFormatPtr out_;
  CodecContextPtr ctx_;
  SwsContextPtr sws_;
  FramePtr frame_;
  PacketPtr pkt_;
  AVRational in_tb_{1, 1};
  int in_w_ = 0, in_h_ = 0;
  PixelLayout in_layout_ = PixelLayout::kRgb24;
  // kYuvPacked input for an encoder format other than 8-bit 4:2:0 / 4:4:4: unpacked to planar
  // 4:4:4 here, then converted by sws_.
  VideoImage planar_;
  std::map<int64_t, int64_t> durations_;
  int64_t packets_ = 0;
  StereoLayout packing_ = StereoLayout::kNone;
};

Result<std::unique_ptr<Encoder>> Encoder::Open(const std::string& path, const EncodeOptions& opt,
                                               const VideoImage& first, const AVStream* in,
                                               const Colour& colour) {
  const AVCodec* codec = avcodec_find_encoder_by_name(opt.codec.c_str());
  const bool nvenc = opt.codec.find("nvenc") != std::string::npos;
  if (codec == nullptr) {
    return Status::Permanent("video encoder '" + opt.codec + "' is not available in this build");
  }
  const AVPixelFormat pix = av_get_pix_fmt(opt.pix_fmt.c_str());
  if (pix == AV_PIX_FMT_NONE) return Status::InvalidArgument("unknown pix_fmt " + opt.pix_fmt);
  if (opt.handoff_frames < -1 || opt.handoff_frames > 250) {
    return Status::InvalidArgument("handoff_frames " + std::to_string(opt.handoff_frames) +
                                   " is outside [-1, 250]");
  }
  auto enc = std::make_unique<Encoder>();
  enc->ctx_.reset(avcodec_alloc_context3(codec));
  if (!enc->ctx_) return Status::Unavailable("out of memory allocating the encoder");
  AVCodecContext* c = enc->ctx_.get();
  // 4:2:0 and 4:2:2 encoders need even sizes: drop the odd last column/row.
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(pix);
  c->width = desc->log2_chroma_w > 0 ? first.width & ~1 : first.width;
  c->height = desc->log2_chroma_h > 0 ? first.height & ~1 : first.height;
  c->pix_fmt = pix;
  c->time_base = in->time_base;
  c->framerate = in->avg_frame_rate.num > 0 ? in->avg_frame_rate : in->r_frame_rate;
  c->sample_aspect_ratio = in->codecpar->sample_aspect_ratio;
  c->colorspace = colour.matrix;
  c->color_range = AVCOL_RANGE_MPEG;
  c->color_primaries = colour.primaries;
  c->color_trc = colour.transfer;
  c->thread_count = opt.threads;
  STEREOSPOT_ASSIGN_OR_RETURN(enc->out_, OpenOutput("mp4", path));
  if ((enc->out_->oformat->flags & AVFMT_GLOBALHEADER) != 0) {
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  }
  AVDictionary* raw_opts = nullptr;
  av_dict_set(&raw_opts, "preset", opt.preset.c_str(), 0);
  av_dict_set(&raw_opts, nvenc ? "cq" : "crf", std::to_string(opt.crf).c_str(), 0);
  if (!opt.profile.empty()) av_dict_set(&raw_opts, "profile", opt.profile.c_str(), 0);
  if (opt.codec == "libx265") av_dict_set(&raw_opts, "x265-params", "log-level=error", 0);
  if (opt.codec == "libx264" && opt.threads != 1) {
    const int handoff = HandoffFrames(opt.handoff_frames, c->width, c->height);
    if (handoff > 0) {
      av_dict_set(&raw_opts, "x264-params", ("sync-lookahead=" + std::to_string(handoff)).c_str(),
                  0);
    }
  }
  DictionaryPtr opts(raw_opts);
  raw_opts = opts.release();
  const int rc = avcodec_open2(c, codec, &raw_opts);
  opts.reset(raw_opts);
  if (rc < 0) {
    if (nvenc)
      return Status::Permanent("NVENC encoder '" + opt.codec +
                               "' could not start "
                               "(no NVIDIA GPU or driver): " +
                               AvErrorString(rc));
    return AvError("opening encoder " + opt.codec + " (" + opt.pix_fmt + ", preset " + opt.preset +
                       ", profile '" + opt.profile + "')",
                   rc);
  }
  if (const AVDictionaryEntry* e = av_dict_get(opts.get(), "", nullptr, AV_DICT_IGNORE_SUFFIX)) {
    return Status::InvalidArgument("encoder " + opt.codec + " does not take option " + e->key);
  }
  AVStream* st = avformat_new_stream(enc->out_.get(), nullptr);
  if (st == nullptr) return Status::Unavailable("out of memory adding the output stream");
  int r = avcodec_parameters_from_context(st->codecpar, c);
  if (r < 0) return AvError("setting output stream parameters", r);
  st->time_base = c->time_base;
  st->avg_frame_rate = c->framerate;
  r = avformat_write_header(enc->out_.get(), nullptr);
  if (r < 0) return AvError("writing header of " + path, r);
  // Packed Y Cb Cr goes straight into 8-bit 4:2:0 and 4:4:4 frames, without libswscale.
  const bool direct = first.layout == PixelLayout::kYuvPacked &&
                      (pix == AV_PIX_FMT_YUV420P || pix == AV_PIX_FMT_YUV444P);
  if (!direct) {
    const bool full = first.layout == PixelLayout::kRgb24;
    STEREOSPOT_ASSIGN_OR_RETURN(
        enc->sws_, MakeSws(c->width, c->height, FormatOf(first.layout), full, c->width, c->height,
                           pix, false, colour.matrix));
  }
  STEREOSPOT_ASSIGN_OR_RETURN(enc->frame_, AllocFrame());
  STEREOSPOT_ASSIGN_OR_RETURN(enc->pkt_, AllocPacket());
  enc->in_tb_ = in->time_base;
  enc->in_w_ = first.width;
  enc->in_h_ = first.height;
  enc->in_layout_ = first.layout;
  enc->packing_ = opt.frame_packing;
  return enc;
}

Status Encoder::Encode(const VideoImage& img, int64_t pts) {
  if (img.width != in_w_ || img.height != in_h_ || img.layout != in_layout_) {
    return Status::InvalidArgument("the callback changed the image size or layout mid-segment");
  }
  // The frame's buffer is reused while no one else holds it (libx264 copies each picture in
  // before avcodec_send_frame returns); an encoder that keeps references gets a fresh one. A
  // fresh multi-megabyte buffer per frame costs page faults on every frame.
  if (av_frame_is_writable(frame_.get()) == 0) {
    av_frame_unref(frame_.get());
    frame_->format = ctx_->pix_fmt;
    frame_->width = ctx_->width;
    frame_->height = ctx_->height;
    const int rc = av_frame_get_buffer(frame_.get(), 0);
    if (rc < 0) return AvError("allocating an encoder frame", rc);
  }
  av_frame_remove_side_data(frame_.get(), AV_FRAME_DATA_STEREO3D);
  if (!sws_) {
    UnpackYuv(img, PlanesOf(frame_.get(), ctx_->pix_fmt == AV_PIX_FMT_YUV420P));
  } else {
    const VideoImage* source = &img;
    if (img.layout == PixelLayout::kYuvPacked) {
      if (planar_.width != img.width || planar_.height != img.height) {
        planar_.Allocate(img.width, img.height, PixelLayout::kYuv444p);
      }
      uint8_t* planes[3] = {planar_.planes[0].data(), planar_.planes[1].data(),
                            planar_.planes[2].data()};
      UnpackYuv(img, PlanarPicture{planes, planar_.stride.data(), img.width, img.height, false});
      source = &planar_;
    }
    const uint8_t* src[4] = {source->planes[0].data(), source->planes[1].data(),
                             source->planes[2].data(), nullptr};
    const int strides[4] = {source->stride[0], source->stride[1], source->stride[2], 0};
    sws_scale(sws_.get(), src, strides, 0, ctx_->height, frame_->data, frame_->linesize);
  }
  frame_->pts = pts;
  frame_->pict_type = AV_PICTURE_TYPE_NONE;
  if (packing_ == StereoLayout::kSideBySide || packing_ == StereoLayout::kTopBottom) {
    // libx264 turns this side data into a frame-packing arrangement SEI.
    AVStereo3D* s3d = av_stereo3d_create_side_data(frame_.get());
    if (s3d == nullptr) return Status::Unavailable("out of memory adding stereo side data");
    s3d->type =
        packing_ == StereoLayout::kSideBySide ? AV_STEREO3D_SIDEBYSIDE : AV_STEREO3D_TOPBOTTOM;
  }
  const int rc = avcodec_send_frame(ctx_.get(), frame_.get());
  if (rc < 0) return AvError("encoding a frame", rc);
  return Drain();
}

Status Encoder::Drain() {
  AVStream* st = out_->streams[0];
  for (;;) {
    int rc = avcodec_receive_packet(ctx_.get(), pkt_.get());
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return Status::OK();
    if (rc < 0) return AvError("receiving an encoded packet", rc);
    // Give each packet its source frame's duration so the last frame keeps its length and
    // variable frame rate survives exactly.
    auto it = durations_.find(pkt_->pts);
    if (it != durations_.end()) {
      pkt_->duration = it->second;
      durations_.erase(it);
    }
    av_packet_rescale_ts(pkt_.get(), in_tb_, st->time_base);
    pkt_->stream_index = 0;
    rc = av_interleaved_write_frame(out_.get(), pkt_.get());  // takes the packet's contents
    if (rc < 0) return AvError("writing an encoded packet", rc);
    ++packets_;
  }
}

Status Encoder::Finish() {
  int rc = avcodec_send_frame(ctx_.get(), nullptr);
  if (rc < 0 && rc != AVERROR_EOF) return AvError("flushing the encoder", rc);
  STEREOSPOT_RETURN_IF_ERROR(Drain());
  return FinishOutput(out_.get());
}

// One conversion of decoded pictures into the callback's layout at a given size, rotated upright;
// its swscale context is remade only when the pictures' format or size changes.
class UprightImage {
 public:
  // Converts `f` (whose pixel format, with "yuvj" folded into `full`, is `fmt`) to width x height
  // in `layout` and rotates it by `rotation` degrees clockwise. Valid until the next call.
  Result<const VideoImage*> Make(const AVFrame* f, AVPixelFormat fmt, bool full, int width,
                                 int height, PixelLayout layout, AVColorSpace matrix, int flags,
                                 int rotation) {
    // 8-bit limited-range 4:2:0 and 4:4:4 pictures (nearly every source) are only interleaved
    // for kYuvPacked; anything else is converted to planar 4:4:4 first.
    const bool pack_directly = layout == PixelLayout::kYuvPacked && !full &&
                               (fmt == AV_PIX_FMT_YUV420P || fmt == AV_PIX_FMT_YUV444P) &&
                               width == f->width && height == f->height;
    const VideoImage* upright = &packed_;
    if (pack_directly) {
      PackYuv(PlanesOf(f, fmt == AV_PIX_FMT_YUV420P), &packed_);
    } else if (layout == PixelLayout::kRgb24 && ScalesThenConverts(fmt, f, width, height)) {
      STEREOSPOT_RETURN_IF_ERROR(ScaleThenConvert(f, fmt, full, width, height, matrix, flags));
      upright = &converted_;
    } else {
      if (!sws_ || fmt != fmt_ || f->width != src_w_ || f->height != src_h_) {
        STEREOSPOT_ASSIGN_OR_RETURN(
            sws_, MakeSws(f->width, f->height, fmt, full, width, height, FormatOf(layout),
                          layout == PixelLayout::kRgb24, matrix, flags));
        fmt_ = fmt;
        src_w_ = f->width;
        src_h_ = f->height;
        const bool via_planar = layout == PixelLayout::kYuvPacked;
        converted_.Allocate(width, height, via_planar ? PixelLayout::kYuv444p : layout);
      }
      uint8_t* dst[4] = {converted_.planes[0].data(), converted_.planes[1].data(),
                         converted_.planes[2].data(), nullptr};
      const int strides[4] = {converted_.stride[0], converted_.stride[1], converted_.stride[2], 0};
      sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, dst, strides);
      if (layout == PixelLayout::kYuvPacked) {
        PackYuv(PlanarPicture{dst, strides, width, height, false}, &packed_);
      } else {
        upright = &converted_;
      }
    }
    if (rotation == 0) return upright;
    RotateImage(*upright, rotation, &rotated_);
    return &rotated_;
  }

 private:
  // Downscaling 8-bit planar Y Cb Cr to RGB24 in one libswscale call runs its generic
  // per-pixel RGB writer, which costs several times the scaling itself (at 1080p to 384 lines,
  // about 2 ms a frame against 0.2 ms). Scaling in the source's own format and converting the
  // small picture with an unscaled (SIMD) conversion gives the same picture up to rounding.
  static bool ScalesThenConverts(AVPixelFormat fmt, const AVFrame* f, int width, int height) {
    const bool planar8 =
        fmt == AV_PIX_FMT_YUV420P || fmt == AV_PIX_FMT_YUV422P || fmt == AV_PIX_FMT_YUV444P;
    return planar8 && (width != f->width || height != f->height);
  }
  Status ScaleThenConvert(const AVFrame* f, AVPixelFormat fmt, bool full, int width, int height,
                          AVColorSpace matrix, int flags) {
    if (!sws_ || !to_rgb_ || fmt != fmt_ || f->width != src_w_ || f->height != src_h_) {
      STEREOSPOT_ASSIGN_OR_RETURN(
          sws_, MakeSws(f->width, f->height, fmt, full, width, height, fmt, full, matrix, flags));
      STEREOSPOT_ASSIGN_OR_RETURN(to_rgb_, MakeSws(width, height, fmt, full, width, height,
                                                   AV_PIX_FMT_RGB24, true, matrix));
      const int bytes = av_image_get_buffer_size(fmt, width, height, 32);
      if (bytes < 0) return Status::Internal("cannot size a scaled picture");
      scaled_.assign(static_cast<size_t>(bytes), 0);
      av_image_fill_arrays(scaled_data_, scaled_linesize_, scaled_.data(), fmt, width, height, 32);
      fmt_ = fmt;
      src_w_ = f->width;
      src_h_ = f->height;
      converted_.Allocate(width, height, PixelLayout::kRgb24);
    }
    sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, scaled_data_, scaled_linesize_);
    uint8_t* dst[4] = {converted_.planes[0].data(), nullptr, nullptr, nullptr};
    const int strides[4] = {converted_.stride[0], 0, 0, 0};
    sws_scale(to_rgb_.get(), scaled_data_, scaled_linesize_, 0, height, dst, strides);
    return Status::OK();
  }

  SwsContextPtr sws_;
  SwsContextPtr to_rgb_;  // ScaleThenConvert's second step
  AVPixelFormat fmt_ = AV_PIX_FMT_NONE;
  int src_w_ = 0, src_h_ = 0;
  std::vector<uint8_t> scaled_;  // ScaleThenConvert's small picture in the source's format
  uint8_t* scaled_data_[4] = {};
  int scaled_linesize_[4] = {};
  VideoImage converted_;  // libswscale's output
  VideoImage packed_;     // kYuvPacked only
  VideoImage rotated_;
};

// Decodes, converts, rotates, calls back and encodes; one object per ConvertSegment call. With a
// visitor instead of a callback it only decodes (DecodeFrames): same frames, nothing encoded.
class Converter {
 public:
  Converter(const ConvertOptions& opt, const FrameCallback& cb, std::string out_path)
      : opt_(opt), cb_(cb), out_path_(std::move(out_path)) {}
  Converter(const ConvertOptions& opt, const FrameVisitor& visit, const DecodeOptions& decode)
      : opt_(opt),
        cb_(kNoCallback),
        visit_(&visit),
        tail_frames_(decode.tail_frames),
        fast_decode_(decode.fast) {}
  Status Run(const std::string& input);
  ConvertStats stats() const { return stats_; }

 private:
  Status OpenDecoder(const std::string& input);
  // Positions the demuxer for DecodeOptions::tail_frames; without a usable rate or duration, or
  // when seeking fails, it stays at the start (every frame is decoded, the tail included).
  void SeekToTail();
  Status OnFrame(AVFrame* frame);
  // The frame upright at its own size in the callback's layout.
  Result<const VideoImage*> FullImage(const AVFrame* frame, AVPixelFormat fmt, bool full);
  // The frame scaled for analysis (ConvertOptions::analysis_short_side), or null when the full
  // image already is that image (small enough, and in the analysis layout).
  Result<const VideoImage*> AnalysisImage(const AVFrame* frame, AVPixelFormat fmt, bool full);
  // ConvertOptions::lookahead: hands `frame`'s analysis image to the visitor and keeps a
  // reference to the picture until the callback's turn.
  Status Hold(AVFrame* frame, AVPixelFormat fmt, bool full, int64_t pts);
  // The oldest held picture through the callback and the encoder.
  Status EmitHeld();
  // The callback's image for one frame, and its encoding.
  Status Emit(const FrameInfo& info, const VideoImage& upright, int64_t pts);
  // Packet durations from the demuxer go to the encoder once it exists.
  void PassDurations();
  Status DrainDecoder();
  bool LookingAhead() const { return visit_ == nullptr && opt_.lookahead.visitor != nullptr; }

  static inline const FrameCallback kNoCallback;
  const ConvertOptions& opt_;
  const FrameCallback& cb_;
  const FrameVisitor* visit_ = nullptr;  // set in decode-only mode
  int tail_frames_ = 0;                  // decode-only: DecodeOptions::tail_frames
  bool fast_decode_ = false;             // decode-only: DecodeOptions::fast
  std::string out_path_;
  InputFormatPtr in_;
  const AVStream* st_ = nullptr;
  CodecContextPtr dec_;
  FramePtr frame_;
  UprightImage full_;   // the frame at its own size
  UprightImage small_;  // the frame at the analysis size (ConvertOptions::analysis_short_side)
  Colour colour_;
  int rotation_ = 0;
  VideoImage out_img_;
  std::unique_ptr<Encoder> enc_;
  std::map<int64_t, int64_t> durations_;  // pts -> duration, until the encoder exists
  // A decoded picture waiting for the callback (lookahead), with what OnFrame derived from it.
  struct HeldFrame {
    FramePtr picture;
    FrameInfo info;
    int64_t pts = 0;
  };
  std::deque<HeldFrame> held_;
  ConvertStats stats_;
};

Status Converter::OpenDecoder(const std::string& input) {
  STEREOSPOT_ASSIGN_OR_RETURN(in_, OpenInput(input));
  const int idx = av_find_best_stream(in_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (idx < 0) return Status::Permanent(input + ": no video stream");
  for (unsigned i = 0; i < in_->nb_streams; ++i) {
    in_->streams[i]->discard = static_cast<int>(i) == idx ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  st_ = in_->streams[idx];
  const AVCodec* codec = avcodec_find_decoder(st_->codecpar->codec_id);
  if (codec == nullptr) {
    return Status::Permanent(input + ": unsupported video codec " +
                             avcodec_get_name(st_->codecpar->codec_id));
  }
  dec_.reset(avcodec_alloc_context3(codec));
  if (!dec_) return Status::Unavailable("out of memory allocating the decoder");
  int rc = avcodec_parameters_to_context(dec_.get(), st_->codecpar);
  if (rc < 0) return AvError("configuring the decoder", rc);
  dec_->pkt_timebase = st_->time_base;
  dec_->thread_count = opt_.encode.threads;
  if (fast_decode_) {
    dec_->skip_loop_filter = AVDISCARD_ALL;
    dec_->flags2 |= AV_CODEC_FLAG2_FAST;
  }
  rc = avcodec_open2(dec_.get(), codec, nullptr);
  if (rc < 0) return AvError("opening the " + std::string(codec->name) + " decoder", rc);
  const AVCodecParameters* par = st_->codecpar;
  colour_.matrix = par->color_space;
  if (colour_.matrix == AVCOL_SPC_UNSPECIFIED || colour_.matrix == AVCOL_SPC_RESERVED) {
    // The usual guess of players: HD and larger is BT.709, smaller is BT.601.
    colour_.matrix = par->height >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
  }
  colour_.primaries = par->color_primaries;
  colour_.transfer = par->color_trc;
  rotation_ = RotationOf(st_);
  STEREOSPOT_ASSIGN_OR_RETURN(frame_, AllocFrame());
  return Status::OK();
}

void Converter::SeekToTail() {
  const AVRational rate = st_->avg_frame_rate.num > 0 ? st_->avg_frame_rate : st_->r_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) return;
  const int64_t start = st_->start_time != AV_NOPTS_VALUE ? st_->start_time : 0;
  int64_t duration = st_->duration;
  if (duration == AV_NOPTS_VALUE || duration <= 0) {
    if (in_->duration <= 0) return;
    duration = av_rescale_q(in_->duration, AV_TIME_BASE_Q, st_->time_base);
  }
  // Seeking goes by decode time: a margin of a few frames covers the reorder delay of B-frames
  // and rounding in the container's durations.
  constexpr int kMarginFrames = 4;
  const int64_t tail = av_rescale_q(tail_frames_ + kMarginFrames, av_inv_q(rate), st_->time_base);
  if (duration <= tail) return;
  // A failed seek leaves the position unchanged: at the start.
  (void)av_seek_frame(in_.get(), st_->index, start + duration - tail, AVSEEK_FLAG_BACKWARD);
}

int64_t PtsOf(const AVFrame* f) {
  return f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
}

Result<const VideoImage*> Converter::FullImage(const AVFrame* f, AVPixelFormat fmt, bool full) {
  return full_.Make(f, fmt, full, f->width, f->height, opt_.layout, colour_.matrix, kSwsFlags,
                    rotation_);
}

Result<const VideoImage*> Converter::AnalysisImage(const AVFrame* f, AVPixelFormat fmt, bool full) {
  const auto [small_w, small_h] = AnalysisSize(f->width, f->height, opt_.analysis_short_side);
  const PixelLayout small_layout = AnalysisLayout(opt_.layout);
  const bool want_small = small_w != f->width || small_h != f->height ||
                          (opt_.analysis_short_side > 0 && small_layout != opt_.layout);
  if (!want_small) return nullptr;
  return small_.Make(f, fmt, full, small_w, small_h, small_layout, colour_.matrix,
                     kSwsAnalysisFlags, rotation_);
}

Status Converter::OnFrame(AVFrame* f) {
  bool full = f->color_range == AVCOL_RANGE_JPEG;
  const AVPixelFormat fmt = WithoutJ(static_cast<AVPixelFormat>(f->format), &full);
  const int64_t pts = PtsOf(f);
  if (LookingAhead()) return Hold(f, fmt, full, pts);
  STEREOSPOT_ASSIGN_OR_RETURN(const VideoImage* small, AnalysisImage(f, fmt, full));
  // Decode-only analysis needs no full-size picture at all.
  const VideoImage* upright = nullptr;
  if (visit_ == nullptr || small == nullptr) {
    STEREOSPOT_ASSIGN_OR_RETURN(upright, FullImage(f, fmt, full));
  }
  FrameInfo info{stats_.frames_in, pts * av_q2d(st_->time_base), small};
  ++stats_.frames_in;
  if (visit_ != nullptr) {
    info.analysis = nullptr;  // the visitor's image is the analysis image, or the full frame
    return (*visit_)(info, small != nullptr ? *small : *upright);
  }
  return Emit(info, *upright, pts);
}

Status Converter::Hold(AVFrame* f, AVPixelFormat fmt, bool full, int64_t pts) {
  STEREOSPOT_ASSIGN_OR_RETURN(const VideoImage* image, AnalysisImage(f, fmt, full));
  if (image == nullptr) {
    STEREOSPOT_ASSIGN_OR_RETURN(image, FullImage(f, fmt, full));
  }
  const FrameInfo info{stats_.frames_in, pts * av_q2d(st_->time_base), nullptr};
  ++stats_.frames_in;
  STEREOSPOT_RETURN_IF_ERROR(opt_.lookahead.visitor(info, *image));
  HeldFrame held{nullptr, info, pts};
  STEREOSPOT_ASSIGN_OR_RETURN(held.picture, AllocFrame());
  const int rc = av_frame_ref(held.picture.get(), f);
  if (rc < 0) return AvError("keeping a decoded frame", rc);
  held_.push_back(std::move(held));
  while (held_.size() > static_cast<size_t>(opt_.lookahead.frames)) {
    STEREOSPOT_RETURN_IF_ERROR(EmitHeld());
  }
  return Status::OK();
}

Status Converter::EmitHeld() {
  const HeldFrame held = std::move(held_.front());
  held_.pop_front();
  const AVFrame* f = held.picture.get();
  bool full = f->color_range == AVCOL_RANGE_JPEG;
  const AVPixelFormat fmt = WithoutJ(static_cast<AVPixelFormat>(f->format), &full);
  STEREOSPOT_ASSIGN_OR_RETURN(const VideoImage* upright, FullImage(f, fmt, full));
  return Emit(held.info, *upright, held.pts);
}

Status Converter::Emit(const FrameInfo& info, const VideoImage& upright, int64_t pts) {
  STEREOSPOT_RETURN_IF_ERROR(cb_(info, upright, &out_img_));
  if (out_img_.width <= 0 || out_img_.height <= 0) {
    return Status::InvalidArgument("the frame callback returned an empty image");
  }
  if (!enc_) {
    STEREOSPOT_ASSIGN_OR_RETURN(enc_,
                                Encoder::Open(out_path_, opt_.encode, out_img_, st_, colour_));
    PassDurations();
  }
  return enc_->Encode(out_img_, pts);
}

void Converter::PassDurations() {
  if (!enc_) return;
  for (const auto& [pts, d] : durations_) enc_->SetDuration(pts, d);
  durations_.clear();
}

Status Converter::DrainDecoder() {
  for (;;) {
    int rc = avcodec_receive_frame(dec_.get(), frame_.get());
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return Status::OK();
    if (rc < 0) return AvError("decoding", rc);
    Status st = OnFrame(frame_.get());
    av_frame_unref(frame_.get());
    STEREOSPOT_RETURN_IF_ERROR(st);
  }
}

Status Converter::Run(const std::string& input) {
  STEREOSPOT_RETURN_IF_ERROR(OpenDecoder(input));
  if (tail_frames_ > 0) SeekToTail();
  STEREOSPOT_ASSIGN_OR_RETURN(PacketPtr pkt, AllocPacket());
  for (;;) {
    int rc = av_read_frame(in_.get(), pkt.get());
    if (rc == AVERROR_EOF) break;
    if (rc < 0) return AvError("reading " + input, rc);
    if (pkt->stream_index == st_->index) {
      // Durations are known from the demuxer before the encoder exists; kept until it does.
      if (pkt->pts != AV_NOPTS_VALUE) durations_[pkt->pts] = pkt->duration;
      rc = avcodec_send_packet(dec_.get(), pkt.get());
      if (rc < 0 && rc != AVERROR(EAGAIN)) {
        av_packet_unref(pkt.get());
        return AvError("decoding " + input, rc);
      }
    }
    av_packet_unref(pkt.get());
    PassDurations();
    STEREOSPOT_RETURN_IF_ERROR(DrainDecoder());
  }
  int rc = avcodec_send_packet(dec_.get(), nullptr);
  if (rc < 0 && rc != AVERROR_EOF) return AvError("flushing the decoder", rc);
  PassDurations();
  STEREOSPOT_RETURN_IF_ERROR(DrainDecoder());
  if (LookingAhead()) {
    if (opt_.lookahead.on_end) STEREOSPOT_RETURN_IF_ERROR(opt_.lookahead.on_end());
    while (!held_.empty()) STEREOSPOT_RETURN_IF_ERROR(EmitHeld());
  }
  if (visit_ != nullptr) {
    if (stats_.frames_in == 0) return Status::Permanent(input + ": no frame could be decoded");
    return Status::OK();
  }
  if (!enc_) return Status::Permanent(input + ": no frame could be decoded");
  STEREOSPOT_RETURN_IF_ERROR(enc_->Finish());
  stats_.frames_out = enc_->packets();
  stats_.width_out = enc_->width();
  stats_.height_out = enc_->height();
  if (stats_.frames_out != stats_.frames_in) {
    return Status::Internal(input + ": " + std::to_string(stats_.frames_in) + " frames in but " +
                            std::to_string(stats_.frames_out) + " out");
  }
  return Status::OK();
}

}  // namespace

Result<ConvertStats> ConvertSegment(const std::string& input_segment,
                                    const std::string& output_path, const ConvertOptions& options,
                                    const FrameCallback& callback) {
  if (!callback) return Status::InvalidArgument("ConvertSegment needs a frame callback");
  if (options.lookahead.frames < 0 || options.lookahead.frames > 256) {
    return Status::InvalidArgument("lookahead.frames must be in [0, 256]");
  }
  AtomicPath out(output_path);
  Converter conv(options, callback, out.temp_path());
  STEREOSPOT_RETURN_IF_ERROR(conv.Run(input_segment));
  STEREOSPOT_RETURN_IF_ERROR(out.Commit());
  return conv.stats();
}

Result<int64_t> DecodeFrames(const std::string& input, const DecodeOptions& options,
                             const FrameVisitor& visitor) {
  if (!visitor) return Status::InvalidArgument("DecodeFrames needs a frame visitor");
  if (options.analysis_short_side < 0 || options.tail_frames < 0) {
    return Status::InvalidArgument("analysis_short_side and tail_frames must be >= 0");
  }
  ConvertOptions convert;
  convert.layout = options.layout;
  convert.encode.threads = options.threads;
  convert.analysis_short_side = options.analysis_short_side;
  Converter conv(convert, visitor, options);
  STEREOSPOT_RETURN_IF_ERROR(conv.Run(input));
  return conv.stats().frames_in;
}

std::array<int, 2> AnalysisSize(int width, int height, int short_side) {
  const int current = std::min(width, height);
  if (short_side <= 0 || current <= short_side) return {width, height};
  const double scale = static_cast<double>(short_side) / current;
  return {std::max(1, static_cast<int>(std::lround(width * scale))),
          std::max(1, static_cast<int>(std::lround(height * scale)))};
}

FrameCallback IdentityCallback() {
  return [](const FrameInfo&, const VideoImage& in, VideoImage* out) {
    *out = in;
    return Status::OK();
  };
}

}  // namespace stereospot::media
