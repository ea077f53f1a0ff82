#include "media/av_handles.h"

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace stereospot::media {

std::string AvErrorString(int averror) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  if (av_strerror(averror, buf, sizeof(buf)) < 0) return "libav error " + std::to_string(averror);
  return buf;
}

int AvErrorEof() { return AVERROR_EOF; }
int AvErrorAgain() { return AVERROR(EAGAIN); }

Status AvError(std::string_view context, int averror) {
  std::string msg(context);
  msg += ": ";
  msg += AvErrorString(averror);
  StatusCode code = StatusCode::kIoError;
  switch (averror) {
    case AVERROR(ENOENT):
      code = StatusCode::kNotFound;
      break;
    case AVERROR(EAGAIN):
    case AVERROR(ETIMEDOUT):
    case AVERROR(ECONNRESET):
    case AVERROR(ENOMEM):
      code = StatusCode::kUnavailable;
      break;
    case AVERROR_INVALIDDATA:
    case AVERROR_DECODER_NOT_FOUND:
    case AVERROR_DEMUXER_NOT_FOUND:
    case AVERROR_ENCODER_NOT_FOUND:
    case AVERROR_MUXER_NOT_FOUND:
    case AVERROR_STREAM_NOT_FOUND:
    case AVERROR_PATCHWELCOME:
    case AVERROR(ENOSYS):
      code = StatusCode::kPermanent;
      break;
    case AVERROR_EOF:
      code = StatusCode::kDataLoss;
      break;
    case AVERROR(EINVAL):
      code = StatusCode::kInvalidArgument;
      break;
    case AVERROR_BUG:
    case AVERROR_BUG2:
      code = StatusCode::kInternal;
      break;
    default:
      break;
  }
  return Status(code, std::move(msg));
}

Result<InputFormatPtr> OpenInput(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory)
      return Status::NotFound(path + ": no such file");
    return Status::IoError(path + ": " + ec.message());
  }
  if (size == 0) return Status::InvalidArgument(path + ": the file is empty (zero bytes)");
  AVFormatContext* raw = nullptr;
  // On failure avformat_open_input frees the context itself and leaves `raw` null.
  int rc = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (rc < 0) {
    if (rc == AVERROR_INVALIDDATA) {
      return Status::Permanent(path + ": not a media file (no known container format)");
    }
    return AvError("opening " + path, rc);
  }
  InputFormatPtr ctx(raw);
  rc = avformat_find_stream_info(ctx.get(), nullptr);
  if (rc < 0) return AvError("reading stream info of " + path, rc);
  return ctx;
}

Result<OutputFormatPtr> OpenOutput(const std::string& format_name, const std::string& path) {
  AVFormatContext* raw = nullptr;
  int rc = avformat_alloc_output_context2(&raw, nullptr, format_name.c_str(), path.c_str());
  if (rc < 0 || raw == nullptr)
    return AvError("creating " + format_name + " muxer", rc < 0 ? rc : AVERROR(ENOMEM));
  OutputFormatPtr ctx(raw);
  if ((ctx->oformat->flags & AVFMT_NOFILE) == 0) {
    rc = avio_open(&ctx->pb, path.c_str(), AVIO_FLAG_WRITE);
    if (rc < 0) return AvError("opening " + path + " for writing", rc);
  }
  return ctx;
}

Status FinishOutput(AVFormatContext* ctx) {
  int rc = av_write_trailer(ctx);
  if (rc < 0) return AvError(std::string("writing trailer of ") + ctx->url, rc);
  if ((ctx->oformat->flags & AVFMT_NOFILE) == 0 && ctx->pb != nullptr) {
    rc = avio_closep(&ctx->pb);
    if (rc < 0) return AvError(std::string("closing ") + ctx->url, rc);
  }
  return Status::OK();
}

Result<FramePtr> AllocFrame() {
  FramePtr frame(av_frame_alloc());
  if (!frame) return Status::Unavailable("out of memory allocating an AVFrame");
  return frame;
}

Result<PacketPtr> AllocPacket() {
  PacketPtr packet(av_packet_alloc());
  if (!packet) return Status::Unavailable("out of memory allocating an AVPacket");
  return packet;
}

}  // namespace stereospot::media
