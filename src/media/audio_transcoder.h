// Internal to the media layer: re-encodes one audio stream to AAC for the reassembler.
#pragma once

#include <deque>
#include <memory>

#include "media/av_handles.h"

namespace stereospot::media {

// Decodes packets of one source audio stream and encodes them to AAC, keeping the source's
// timeline: the first output sample sits at the first decoded sample's time.
// Threading: one thread.
class AudioTranscoder {
 public:
  // `in` is the source stream; `out` is the output stream whose codec parameters this fills.
  // `global_header` when the muxer needs AV_CODEC_FLAG_GLOBAL_HEADER.
  static Result<std::unique_ptr<AudioTranscoder>> Open(const AVStream* in, AVStream* out,
                                                       bool global_header, int64_t bit_rate);
  // Feeds one source packet, or nullptr to flush at the end.
  Status Send(const AVPacket* pkt);
  // Moves the next encoded packet (timestamps in the output stream's time base, which the caller
  // must re-read after avformat_write_header) into `pkt`; false when none is ready.
  bool Receive(AVPacket* pkt, AVRational out_time_base);

 private:
  Status DrainDecoder();
  Status EncodeFromFifo(bool flush);
  Status DrainEncoder();

  CodecContextPtr dec_, enc_;
  SwrContextPtr swr_;
  AudioFifoPtr fifo_;
  FramePtr in_frame_, out_frame_;
  PacketPtr pkt_;
  AVRational in_tb_{1, 1};
  int64_t next_pts_ = AV_NOPTS_VALUE;  // in 1/sample_rate
  std::deque<PacketPtr> ready_;
};

}  // namespace stereospot::media
