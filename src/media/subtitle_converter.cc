#include "media/subtitle_converter.h"

#include <cstring>
#include <vector>

namespace stereospot::media {

namespace {
// Owns the contents of a decoded AVSubtitle.
struct SubtitleHolder {
  AVSubtitle sub{};
  ~SubtitleHolder() { avsubtitle_free(&sub); }
};
}  // namespace

bool SubtitleConverter::CanConvert(const AVStream* in) {
  const AVCodecDescriptor* d = avcodec_descriptor_get(in->codecpar->codec_id);
  return d != nullptr && (d->props & AV_CODEC_PROP_TEXT_SUB) != 0 &&
         avcodec_find_decoder(in->codecpar->codec_id) != nullptr;
}

Result<std::unique_ptr<SubtitleConverter>> SubtitleConverter::Open(const AVStream* in,
                                                                   AVStream* out) {
  auto c = std::make_unique<SubtitleConverter>();
  const AVCodec* dcodec = avcodec_find_decoder(in->codecpar->codec_id);
  const AVCodec* ecodec = avcodec_find_encoder(AV_CODEC_ID_MOV_TEXT);
  if (dcodec == nullptr || ecodec == nullptr) {
    return Status::Permanent("cannot convert subtitles to mov_text in this FFmpeg build");
  }
  c->dec_.reset(avcodec_alloc_context3(dcodec));
  c->enc_.reset(avcodec_alloc_context3(ecodec));
  if (!c->dec_ || !c->enc_) return Status::Unavailable("out of memory allocating subtitle codecs");
  int rc = avcodec_parameters_to_context(c->dec_.get(), in->codecpar);
  if (rc < 0) return AvError("configuring the subtitle decoder", rc);
  c->dec_->pkt_timebase = in->time_base;
  rc = avcodec_open2(c->dec_.get(), dcodec, nullptr);
  if (rc < 0) return AvError("opening the subtitle decoder", rc);
  c->enc_->time_base = AVRational{1, 1000};
  // mov_text needs the ASS header the decoder produced to know the styles.
  if (c->dec_->subtitle_header != nullptr) {
    c->enc_->subtitle_header =
        static_cast<uint8_t*>(av_mallocz(static_cast<size_t>(c->dec_->subtitle_header_size) + 1));
    if (c->enc_->subtitle_header == nullptr) return Status::Unavailable("out of memory");
    std::memcpy(c->enc_->subtitle_header, c->dec_->subtitle_header,
                static_cast<size_t>(c->dec_->subtitle_header_size));
    c->enc_->subtitle_header_size = c->dec_->subtitle_header_size;
  }
  rc = avcodec_open2(c->enc_.get(), ecodec, nullptr);
  if (rc < 0) return AvError("opening the mov_text encoder", rc);
  rc = avcodec_parameters_from_context(out->codecpar, c->enc_.get());
  if (rc < 0) return AvError("setting subtitle stream parameters", rc);
  out->time_base = c->enc_->time_base;
  return c;
}

Status SubtitleConverter::Convert(const AVPacket* pkt, AVRational in_tb, AVRational out_tb,
                                  AVPacket* out, bool* got) {
  *got = false;
  SubtitleHolder holder;
  int got_sub = 0;
  int rc = avcodec_decode_subtitle2(dec_.get(), &holder.sub, &got_sub, const_cast<AVPacket*>(pkt));
  if (rc < 0 || got_sub == 0) return Status::OK();  // a broken cue loses that cue only
  std::vector<uint8_t> buf(64 * 1024);
  rc = avcodec_encode_subtitle(enc_.get(), buf.data(), static_cast<int>(buf.size()), &holder.sub);
  if (rc <= 0) return Status::OK();
  av_packet_unref(out);
  const int size = rc;
  rc = av_new_packet(out, size);
  if (rc < 0) return AvError("allocating a subtitle packet", rc);
  std::memcpy(out->data, buf.data(), static_cast<size_t>(size));
  out->pts = av_rescale_q(pkt->pts, in_tb, out_tb);
  out->dts = out->pts;
  out->duration = av_rescale_q(pkt->duration, in_tb, out_tb);
  *got = true;
  return Status::OK();
}

}  // namespace stereospot::media
