#include "media/reassembler.h"

#include <memory>

#include "media/atomic_path.h"
#include "media/audio_transcoder.h"
#include "media/av_handles.h"
#include "media/subtitle_converter.h"

extern "C" {
#include <libavutil/stereo3d.h>
}

namespace stereospot::media {

namespace {

bool Mp4Carries(AVCodecID id) {
  const AVOutputFormat* mp4 = av_guess_format("mp4", nullptr, nullptr);
  return avformat_query_codec(mp4, id, FF_COMPLIANCE_NORMAL) == 1;
}

Status AddStereoSideData(AVStream* st, StereoLayout layout) {
  if (layout == StereoLayout::kNone) return Status::OK();
  const size_t size = sizeof(AVStereo3D);  // FFmpeg 5.1's allocator does not report a size
  struct AvFreer {
    void operator()(AVStereo3D* p) const { av_free(p); }
  };
  std::unique_ptr<AVStereo3D, AvFreer> s3d(av_stereo3d_alloc());
  if (!s3d) return Status::Unavailable("out of memory allocating stereo metadata");
  s3d->type = layout == StereoLayout::kSideBySide  ? AV_STEREO3D_SIDEBYSIDE
              : layout == StereoLayout::kTopBottom ? AV_STEREO3D_TOPBOTTOM
                                                   : AV_STEREO3D_2D;
  // On success the stream takes ownership of the allocation; on failure it stays ours.
  int rc = av_stream_add_side_data(st, AV_PKT_DATA_STEREO3D, reinterpret_cast<uint8_t*>(s3d.get()),
                                   size);
  if (rc < 0) return AvError("adding stereo metadata", rc);
  (void)s3d.release();
  return Status::OK();
}

// One source stream that goes to the output: copied, or re-encoded to AAC.
struct Carried {
  int in_index = -1;
  int out_index = -1;
  std::unique_ptr<AudioTranscoder> aac;
  std::unique_ptr<SubtitleConverter> text;
};

class Reassembly {
 public:
  Reassembly(const std::string& source, const std::vector<std::string>& segments,
             const ReassembleOptions& opt)
      : source_(source), segments_(segments), opt_(opt) {}
  Status Run(const std::string& temp_path);
  const ReassembleStats& stats() const { return stats_; }

 private:
  Status OpenSegment(size_t i);
  Status SetUpStreams();
  Status NextVideo(AVPacket* pkt, bool* got);
  Status NextSource(AVPacket* pkt, bool* got);
  Status Write(AVPacket* pkt);

  const std::string& source_;
  const std::vector<std::string>& segments_;
  const ReassembleOptions& opt_;
  OutputFormatPtr out_;
  InputFormatPtr seg_;
  size_t seg_index_ = 0;
  const AVCodecParameters* first_par_ = nullptr;
  InputFormatPtr src_;
  std::vector<Carried> carried_;  // indexed by source stream; out_index -1 when dropped
  int64_t last_video_dts_ = AV_NOPTS_VALUE;
  int64_t video_end_ = 0;  // in output video time base
  bool source_flushed_ = false;
  PacketPtr text_pkt_;  // scratch for converted subtitles
  ReassembleStats stats_;
};

Status Reassembly::OpenSegment(size_t i) {
  STEREOSPOT_ASSIGN_OR_RETURN(seg_, OpenInput(segments_[i]));
  const int v = av_find_best_stream(seg_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (v != 0) return Status::InvalidArgument(segments_[i] + ": not a video-only segment");
  const AVCodecParameters* p = seg_->streams[0]->codecpar;
  if (first_par_ != nullptr && (p->codec_id != first_par_->codec_id ||
                                p->width != first_par_->width || p->height != first_par_->height)) {
    return Status::InvalidArgument(segments_[i] + ": video codec or size differs from segment 0");
  }
  return Status::OK();
}

Status Reassembly::SetUpStreams() {
  // Stream 0: the video of the segments.
  STEREOSPOT_RETURN_IF_ERROR(OpenSegment(0));
  const AVStream* vin = seg_->streams[0];
  AVStream* vout = avformat_new_stream(out_.get(), nullptr);
  if (vout == nullptr) return Status::Unavailable("out of memory adding the video stream");
  int rc = avcodec_parameters_copy(vout->codecpar, vin->codecpar);
  if (rc < 0) return AvError("copying video parameters", rc);
  vout->codecpar->codec_tag = 0;
  vout->time_base = vin->time_base;
  vout->avg_frame_rate = vin->avg_frame_rate;
  first_par_ = vout->codecpar;
  STEREOSPOT_RETURN_IF_ERROR(AddStereoSideData(vout, opt_.stereo));

  STEREOSPOT_ASSIGN_OR_RETURN(src_, OpenInput(source_));
  carried_.resize(src_->nb_streams);
  for (unsigned i = 0; i < src_->nb_streams; ++i) {
    AVStream* in = src_->streams[i];
    const AVMediaType type = in->codecpar->codec_type;
    in->discard = AVDISCARD_ALL;
    if (type == AVMEDIA_TYPE_VIDEO) continue;  // the converted segments replace it
    const bool audio = type == AVMEDIA_TYPE_AUDIO;
    const bool copy = Mp4Carries(in->codecpar->codec_id);
    const bool subtitle = type == AVMEDIA_TYPE_SUBTITLE;
    if (!audio && !(subtitle && (copy || SubtitleConverter::CanConvert(in)))) {
      ++stats_.streams_dropped;  // data tracks, attachments, subtitles MP4 cannot hold
      continue;
    }
    AVStream* out = avformat_new_stream(out_.get(), nullptr);
    if (out == nullptr) return Status::Unavailable("out of memory adding a stream");
    if (copy) {
      rc = avcodec_parameters_copy(out->codecpar, in->codecpar);
      if (rc < 0) return AvError("copying stream parameters", rc);
      out->codecpar->codec_tag = 0;
      out->time_base = in->time_base;
      audio ? ++stats_.audio_streams_copied : ++stats_.subtitle_streams;
    } else if (subtitle) {
      STEREOSPOT_ASSIGN_OR_RETURN(carried_[i].text, SubtitleConverter::Open(in, out));
      ++stats_.subtitle_streams;
    } else {
      const bool global = (out_->oformat->flags & AVFMT_GLOBALHEADER) != 0;
      STEREOSPOT_ASSIGN_OR_RETURN(carried_[i].aac,
                                  AudioTranscoder::Open(in, out, global, opt_.aac_bit_rate));
      ++stats_.audio_streams_reencoded;
    }
    av_dict_copy(&out->metadata, in->metadata, 0);
    out->disposition = in->disposition;
    carried_[i].in_index = static_cast<int>(i);
    carried_[i].out_index = out->index;
    in->discard = AVDISCARD_DEFAULT;
  }
  return Status::OK();
}

Status Reassembly::NextVideo(AVPacket* pkt, bool* got) {
  *got = false;
  while (seg_) {
    int rc = av_read_frame(seg_.get(), pkt);
    if (rc == AVERROR_EOF) {
      seg_.reset();
      if (++seg_index_ < segments_.size()) STEREOSPOT_RETURN_IF_ERROR(OpenSegment(seg_index_));
      continue;
    }
    if (rc < 0) return AvError("reading " + segments_[seg_index_], rc);
    if (pkt->stream_index != 0) {
      av_packet_unref(pkt);
      continue;
    }
    const AVRational out_tb = out_->streams[0]->time_base;
    av_packet_rescale_ts(pkt, seg_->streams[0]->time_base, out_tb);
    pkt->stream_index = 0;
    pkt->pos = -1;
    // Segments encoded apart may start their decode timeline a tick early; dts must rise.
    if (last_video_dts_ != AV_NOPTS_VALUE && pkt->dts <= last_video_dts_) {
      if (last_video_dts_ + 1 > pkt->pts) {
        return Status::Internal(segments_[seg_index_] + ": overlaps the previous segment in time");
      }
      pkt->dts = last_video_dts_ + 1;
    }
    last_video_dts_ = pkt->dts;
    video_end_ = std::max(video_end_, pkt->pts + pkt->duration);
    ++stats_.video_frames;
    *got = true;
    return Status::OK();
  }
  return Status::OK();
}

Status Reassembly::NextSource(AVPacket* pkt, bool* got) {
  *got = false;
  for (;;) {
    for (const Carried& c : carried_) {
      if (c.aac && c.aac->Receive(pkt, out_->streams[c.out_index]->time_base)) {
        pkt->stream_index = c.out_index;
        *got = true;
        return Status::OK();
      }
    }
    if (source_flushed_) return Status::OK();
    int rc = av_read_frame(src_.get(), pkt);
    if (rc == AVERROR_EOF) {
      source_flushed_ = true;
      for (Carried& c : carried_) {
        if (c.aac) STEREOSPOT_RETURN_IF_ERROR(c.aac->Send(nullptr));
      }
      continue;
    }
    if (rc < 0) return AvError("reading " + source_, rc);
    Carried& c = carried_[pkt->stream_index];
    if (c.out_index < 0) {
      av_packet_unref(pkt);
      continue;
    }
    if (c.aac) {
      Status st = c.aac->Send(pkt);
      av_packet_unref(pkt);
      STEREOSPOT_RETURN_IF_ERROR(st);
      continue;
    }
    if (c.text) {
      bool converted = false;
      Status st =
          c.text->Convert(pkt, src_->streams[c.in_index]->time_base,
                          out_->streams[c.out_index]->time_base, text_pkt_.get(), &converted);
      av_packet_unref(pkt);
      STEREOSPOT_RETURN_IF_ERROR(st);
      if (!converted) continue;
      av_packet_move_ref(pkt, text_pkt_.get());
    } else {
      av_packet_rescale_ts(pkt, src_->streams[c.in_index]->time_base,
                           out_->streams[c.out_index]->time_base);
    }
    pkt->stream_index = c.out_index;
    pkt->pos = -1;
    *got = true;
    return Status::OK();
  }
}

Status Reassembly::Write(AVPacket* pkt) {
  int rc = av_interleaved_write_frame(out_.get(), pkt);  // takes the packet's contents
  if (rc < 0) return AvError("writing the output", rc);
  return Status::OK();
}

Status Reassembly::Run(const std::string& temp_path) {
  STEREOSPOT_ASSIGN_OR_RETURN(out_, OpenOutput("mp4", temp_path));
  // st3d is written only when unofficial extensions are allowed (it is a Google spatial-media
  // box, not part of ISO/IEC 14496-12).
  out_->strict_std_compliance = FF_COMPLIANCE_UNOFFICIAL;
  STEREOSPOT_RETURN_IF_ERROR(SetUpStreams());
  STEREOSPOT_ASSIGN_OR_RETURN(text_pkt_, AllocPacket());
  AVDictionary* raw = nullptr;
  av_dict_set(&raw, "movflags", "+faststart", 0);
  DictionaryPtr opts(raw);
  raw = opts.release();
  int rc = avformat_write_header(out_.get(), &raw);
  opts.reset(raw);
  if (rc < 0) return AvError("writing the output header", rc);

  STEREOSPOT_ASSIGN_OR_RETURN(PacketPtr vpkt, AllocPacket());
  STEREOSPOT_ASSIGN_OR_RETURN(PacketPtr spkt, AllocPacket());
  bool have_v = false, have_s = false;
  STEREOSPOT_RETURN_IF_ERROR(NextVideo(vpkt.get(), &have_v));
  STEREOSPOT_RETURN_IF_ERROR(NextSource(spkt.get(), &have_s));
  // Merge by decode time so the muxer's interleaving queue stays short (flat memory).
  while (have_v || have_s) {
    bool take_video = have_v;
    if (have_v && have_s) {
      take_video = av_compare_ts(vpkt->dts, out_->streams[0]->time_base, spkt->dts,
                                 out_->streams[spkt->stream_index]->time_base) <= 0;
    }
    if (take_video) {
      STEREOSPOT_RETURN_IF_ERROR(Write(vpkt.get()));
      STEREOSPOT_RETURN_IF_ERROR(NextVideo(vpkt.get(), &have_v));
    } else {
      STEREOSPOT_RETURN_IF_ERROR(Write(spkt.get()));
      STEREOSPOT_RETURN_IF_ERROR(NextSource(spkt.get(), &have_s));
    }
  }
  STEREOSPOT_RETURN_IF_ERROR(FinishOutput(out_.get()));
  stats_.duration_seconds = video_end_ * av_q2d(out_->streams[0]->time_base);
  return Status::OK();
}

}  // namespace

Result<ReassembleStats> Reassemble(const std::string& source,
                                   const std::vector<std::string>& segments,
                                   const std::string& output_path,
                                   const ReassembleOptions& options) {
  if (segments.empty()) return Status::InvalidArgument("no segments to reassemble");
  AtomicPath out(output_path);
  Reassembly job(source, segments, options);
  STEREOSPOT_RETURN_IF_ERROR(job.Run(out.temp_path()));
  STEREOSPOT_RETURN_IF_ERROR(out.Commit());
  return job.stats();
}

}  // namespace stereospot::media
