// Owners for every libav* handle the media layer uses, and the one function that turns an
// AVERROR code into a Status.
//
// This is the only media header that includes libav headers; public media headers forward-declare
// or expose plain structs. Each owner is a std::unique_ptr with a stateless deleter, so it costs a
// pointer and frees its handle exactly once. Input and output AVFormatContexts are freed
// differently (avformat_close_input versus avio_closep + avformat_free_context), so they are two
// distinct types. The output owner's destructor is only a safety net: a trailer write or file
// close whose failure the caller must hear about goes through FinishOutput().
//
// Threading: owners are plain values; a handle is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/frame.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include "core/result.h"
#include "core/status.h"

namespace stereospot::media {

struct InputFormatDeleter {
  void operator()(AVFormatContext* ctx) const { avformat_close_input(&ctx); }
};
// A demuxer opened with avformat_open_input.
using InputFormatPtr = std::unique_ptr<AVFormatContext, InputFormatDeleter>;

struct OutputFormatDeleter {
  void operator()(AVFormatContext* ctx) const {
    if (ctx->oformat != nullptr && (ctx->oformat->flags & AVFMT_NOFILE) == 0) avio_closep(&ctx->pb);
    avformat_free_context(ctx);
  }
};
// A muxer made with avformat_alloc_output_context2 (and its AVIOContext, when it opened one).
using OutputFormatPtr = std::unique_ptr<AVFormatContext, OutputFormatDeleter>;

struct CodecContextDeleter {
  void operator()(AVCodecContext* ctx) const { avcodec_free_context(&ctx); }
};
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;

struct FrameDeleter {
  void operator()(AVFrame* frame) const { av_frame_free(&frame); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;

struct PacketDeleter {
  void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;

struct SwsContextDeleter {
  void operator()(SwsContext* ctx) const { sws_freeContext(ctx); }
};
using SwsContextPtr = std::unique_ptr<SwsContext, SwsContextDeleter>;

struct SwrContextDeleter {
  void operator()(SwrContext* ctx) const { swr_free(&ctx); }
};
using SwrContextPtr = std::unique_ptr<SwrContext, SwrContextDeleter>;

struct FilterGraphDeleter {
  void operator()(AVFilterGraph* graph) const { avfilter_graph_free(&graph); }
};
using FilterGraphPtr = std::unique_ptr<AVFilterGraph, FilterGraphDeleter>;

struct AudioFifoDeleter {
  void operator()(AVAudioFifo* fifo) const { av_audio_fifo_free(fifo); }
};
using AudioFifoPtr = std::unique_ptr<AVAudioFifo, AudioFifoDeleter>;

struct AvioContextDeleter {
  void operator()(AVIOContext* ctx) const {
    av_freep(&ctx->buffer);   // the I/O buffer may have been replaced by libavformat; free the
    avio_context_free(&ctx);  // current one, then the context
  }
};
// A custom I/O context made with avio_alloc_context (and its buffer). A demuxer using it
// (AVFMT_FLAG_CUSTOM_IO) does not free it, so it must outlive that demuxer's owner.
using AvioContextPtr = std::unique_ptr<AVIOContext, AvioContextDeleter>;

struct DictionaryDeleter {
  void operator()(AVDictionary* dict) const { av_dict_free(&dict); }
};
using DictionaryPtr = std::unique_ptr<AVDictionary, DictionaryDeleter>;

// Maps a negative AVERROR code onto the project's codes, with "context: libav message":
//   ENOENT -> kNotFound; EAGAIN, ETIMEDOUT, ECONNRESET, ENOMEM -> kUnavailable (retryable);
//   INVALIDDATA, *_NOT_FOUND, PATCHWELCOME, ENOSYS -> kPermanent; EOF -> kDataLoss;
//   EINVAL -> kInvalidArgument; BUG -> kInternal; anything else -> kIoError.
// REQUIRES: averror < 0.
Status AvError(std::string_view context, int averror);

// The libav message for an error code (av_strerror without the C macro).
std::string AvErrorString(int averror);

// Frequently compared codes, as functions so callers need no FFmpeg macro.
int AvErrorEof();
int AvErrorAgain();

// Opens `path` for demuxing and reads its stream info. Errors: kNotFound for a missing file,
// kInvalidArgument for an empty file, kPermanent when libavformat does not recognise it.
Result<InputFormatPtr> OpenInput(const std::string& path);

// Allocates a muxer of `format_name` ("mp4", "matroska") writing to `path`, opening the file.
Result<OutputFormatPtr> OpenOutput(const std::string& format_name, const std::string& path);

// Writes the trailer and closes the file, reporting a failure of either.
// REQUIRES: avformat_write_header succeeded on `ctx`.
Status FinishOutput(AVFormatContext* ctx);

// Allocation helpers: kUnavailable (out of memory) when libav returns null.
Result<FramePtr> AllocFrame();
Result<PacketPtr> AllocPacket();

}  // namespace stereospot::media
