#include "media/audio_transcoder.h"

namespace stereospot::media {

Result<std::unique_ptr<AudioTranscoder>> AudioTranscoder::Open(const AVStream* in, AVStream* out,
                                                               bool global_header,
                                                               int64_t bit_rate) {
  auto t = std::make_unique<AudioTranscoder>();
  const AVCodec* dcodec = avcodec_find_decoder(in->codecpar->codec_id);
  if (dcodec == nullptr) {
    return Status::Permanent(std::string("unsupported audio codec ") +
                             avcodec_get_name(in->codecpar->codec_id));
  }
  t->dec_.reset(avcodec_alloc_context3(dcodec));
  if (!t->dec_) return Status::Unavailable("out of memory allocating an audio decoder");
  int rc = avcodec_parameters_to_context(t->dec_.get(), in->codecpar);
  if (rc < 0) return AvError("configuring the audio decoder", rc);
  t->dec_->pkt_timebase = in->time_base;
  rc = avcodec_open2(t->dec_.get(), dcodec, nullptr);
  if (rc < 0) return AvError(std::string("opening the ") + dcodec->name + " decoder", rc);
  if (t->dec_->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
    const int n = t->dec_->ch_layout.nb_channels;
    av_channel_layout_uninit(&t->dec_->ch_layout);
    av_channel_layout_default(&t->dec_->ch_layout, n);
  }

  const AVCodec* ecodec = avcodec_find_encoder(AV_CODEC_ID_AAC);
  if (ecodec == nullptr) return Status::Permanent("no AAC encoder in this FFmpeg build");
  t->enc_.reset(avcodec_alloc_context3(ecodec));
  if (!t->enc_) return Status::Unavailable("out of memory allocating the AAC encoder");
  AVCodecContext* e = t->enc_.get();
  e->sample_rate = t->dec_->sample_rate;
  av_channel_layout_default(&e->ch_layout, t->dec_->ch_layout.nb_channels);
  e->sample_fmt = AV_SAMPLE_FMT_FLTP;
  e->bit_rate = bit_rate;
  e->time_base = AVRational{1, e->sample_rate};
  if (global_header) e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  rc = avcodec_open2(e, ecodec, nullptr);
  if (rc < 0) return AvError("opening the AAC encoder", rc);
  rc = avcodec_parameters_from_context(out->codecpar, e);
  if (rc < 0) return AvError("setting AAC stream parameters", rc);
  out->time_base = e->time_base;

  SwrContext* swr = nullptr;
  rc = swr_alloc_set_opts2(&swr, &e->ch_layout, e->sample_fmt, e->sample_rate, &t->dec_->ch_layout,
                           t->dec_->sample_fmt, t->dec_->sample_rate, 0, nullptr);
  t->swr_.reset(swr);
  if (rc < 0) return AvError("configuring the audio resampler", rc);
  rc = swr_init(t->swr_.get());
  if (rc < 0) return AvError("starting the audio resampler", rc);
  t->fifo_.reset(av_audio_fifo_alloc(e->sample_fmt, e->ch_layout.nb_channels, e->frame_size));
  if (!t->fifo_) return Status::Unavailable("out of memory allocating the audio FIFO");
  STEREOSPOT_ASSIGN_OR_RETURN(t->in_frame_, AllocFrame());
  STEREOSPOT_ASSIGN_OR_RETURN(t->out_frame_, AllocFrame());
  STEREOSPOT_ASSIGN_OR_RETURN(t->pkt_, AllocPacket());
  t->in_tb_ = in->time_base;
  return t;
}

Status AudioTranscoder::Send(const AVPacket* pkt) {
  int rc = avcodec_send_packet(dec_.get(), pkt);
  // A damaged audio packet loses a few milliseconds of sound, not the job.
  if (rc < 0 && rc != AVERROR_EOF && rc != AVERROR_INVALIDDATA) {
    return AvError("decoding audio", rc);
  }
  STEREOSPOT_RETURN_IF_ERROR(DrainDecoder());
  if (pkt != nullptr) return EncodeFromFifo(false);
  // End: flush the resampler, encode the short last frame, flush the encoder.
  AVFrame* f = out_frame_.get();
  av_frame_unref(f);
  f->format = enc_->sample_fmt;
  f->nb_samples = std::max(swr_get_out_samples(swr_.get(), 0), 1);
  rc = av_channel_layout_copy(&f->ch_layout, &enc_->ch_layout);
  if (rc < 0) return AvError("copying a channel layout", rc);
  rc = av_frame_get_buffer(f, 0);
  if (rc < 0) return AvError("allocating audio samples", rc);
  const int n = swr_convert(swr_.get(), f->data, f->nb_samples, nullptr, 0);
  if (n > 0) av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(f->data), n);
  STEREOSPOT_RETURN_IF_ERROR(EncodeFromFifo(true));
  rc = avcodec_send_frame(enc_.get(), nullptr);
  if (rc < 0 && rc != AVERROR_EOF) return AvError("flushing the AAC encoder", rc);
  return DrainEncoder();
}

Status AudioTranscoder::DrainDecoder() {
  for (;;) {
    int rc = avcodec_receive_frame(dec_.get(), in_frame_.get());
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return Status::OK();
    if (rc == AVERROR_INVALIDDATA) continue;
    if (rc < 0) return AvError("decoding audio", rc);
    AVFrame* in = in_frame_.get();
    if (next_pts_ == AV_NOPTS_VALUE) {
      const int64_t ts =
          in->best_effort_timestamp != AV_NOPTS_VALUE ? in->best_effort_timestamp : 0;
      next_pts_ = av_rescale_q(ts, in_tb_, enc_->time_base);
    }
    AVFrame* f = out_frame_.get();
    av_frame_unref(f);
    f->format = enc_->sample_fmt;
    f->nb_samples = swr_get_out_samples(swr_.get(), in->nb_samples);
    rc = av_channel_layout_copy(&f->ch_layout, &enc_->ch_layout);
    if (rc >= 0) rc = av_frame_get_buffer(f, 0);
    if (rc < 0) {
      av_frame_unref(in);
      return AvError("allocating audio samples", rc);
    }
    const int n = swr_convert(swr_.get(), f->data, f->nb_samples,
                              const_cast<const uint8_t**>(in->extended_data), in->nb_samples);
    av_frame_unref(in);
    if (n < 0) return AvError("resampling audio", n);
    if (av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(f->data), n) < n) {
      return Status::Unavailable("out of memory growing the audio FIFO");
    }
  }
}

Status AudioTranscoder::EncodeFromFifo(bool flush) {
  const int frame_size = enc_->frame_size;
  while (av_audio_fifo_size(fifo_.get()) >= frame_size ||
         (flush && av_audio_fifo_size(fifo_.get()) > 0)) {
    AVFrame* f = out_frame_.get();
    av_frame_unref(f);
    f->format = enc_->sample_fmt;
    f->nb_samples = std::min(frame_size, av_audio_fifo_size(fifo_.get()));
    int rc = av_channel_layout_copy(&f->ch_layout, &enc_->ch_layout);
    if (rc >= 0) rc = av_frame_get_buffer(f, 0);
    if (rc < 0) return AvError("allocating audio samples", rc);
    av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(f->data), f->nb_samples);
    f->pts = next_pts_;
    next_pts_ += f->nb_samples;
    rc = avcodec_send_frame(enc_.get(), f);
    if (rc < 0) return AvError("encoding AAC", rc);
    STEREOSPOT_RETURN_IF_ERROR(DrainEncoder());
  }
  return Status::OK();
}

Status AudioTranscoder::DrainEncoder() {
  for (;;) {
    int rc = avcodec_receive_packet(enc_.get(), pkt_.get());
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return Status::OK();
    if (rc < 0) return AvError("receiving AAC packets", rc);
    PacketPtr p(av_packet_alloc());
    if (!p) return Status::Unavailable("out of memory allocating a packet");
    av_packet_move_ref(p.get(), pkt_.get());
    ready_.push_back(std::move(p));
  }
}

bool AudioTranscoder::Receive(AVPacket* pkt, AVRational out_time_base) {
  if (ready_.empty()) return false;
  av_packet_rescale_ts(ready_.front().get(), enc_->time_base, out_time_base);
  av_packet_move_ref(pkt, ready_.front().get());
  ready_.pop_front();
  return true;
}

}  // namespace stereospot::media
