#include "media/probe.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "media/av_handles.h"

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

namespace stereospot::media {

std::string_view StreamKindName(StreamKind kind) {
  switch (kind) {
    case StreamKind::kVideo:
      return "video";
    case StreamKind::kAudio:
      return "audio";
    case StreamKind::kSubtitle:
      return "subtitle";
    case StreamKind::kData:
      return "data";
    case StreamKind::kAttachment:
      return "attachment";
    case StreamKind::kUnknown:
      break;
  }
  return "unknown";
}

bool MediaInfo::has_audio() const {
  return std::any_of(streams.begin(), streams.end(),
                     [](const StreamInfo& s) { return s.kind == StreamKind::kAudio; });
}

namespace {

StreamKind KindOf(AVMediaType type) {
  switch (type) {
    case AVMEDIA_TYPE_VIDEO:
      return StreamKind::kVideo;
    case AVMEDIA_TYPE_AUDIO:
      return StreamKind::kAudio;
    case AVMEDIA_TYPE_SUBTITLE:
      return StreamKind::kSubtitle;
    case AVMEDIA_TYPE_DATA:
      return StreamKind::kData;
    case AVMEDIA_TYPE_ATTACHMENT:
      return StreamKind::kAttachment;
    default:
      return StreamKind::kUnknown;
  }
}

std::string OrUnknown(const char* name) { return name != nullptr ? name : "unknown"; }

// True when libavformat recognises `head` (a file's first bytes) as some container: used to tell
// "not a media file" from "a media file that is cut short" when opening fails.
bool LooksLikeMedia(std::string_view head) {
  std::vector<unsigned char> buf(head.size() + AVPROBE_PADDING_SIZE, 0);
  std::memcpy(buf.data(), head.data(), head.size());
  AVProbeData pd{};
  pd.filename = "";
  pd.buf = buf.data();
  pd.buf_size = static_cast<int>(head.size());
  int score = 0;
  return av_probe_input_format2(&pd, 1, &score) != nullptr && score > AVPROBE_SCORE_RETRY;
}

constexpr std::size_t kSniffBytes = 4096;

std::string FileHead(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(kSniffBytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head;
}

// Turns a failure to open `name` into the probe's error: damaged media, or not media at all.
Status OpenFailure(const Status& st, const std::string& name, std::string_view head) {
  if (st.code() == StatusCode::kPermanent || st.code() == StatusCode::kDataLoss) {
    if (LooksLikeMedia(head)) {
      return Status::Permanent(name + ": the file is truncated or damaged (" + st.message() + ")");
    }
    return Status::Permanent(name + ": not a media file (no known container format)");
  }
  return st;
}

int RotationOf(const AVStream* st) {
  size_t size = 0;
  const uint8_t* matrix = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (matrix == nullptr || size < 9 * sizeof(int32_t)) return 0;
  // av_display_rotation_get is counter-clockwise; players and our docs speak clockwise.
  double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
  if (std::isnan(ccw)) return 0;
  int cw = static_cast<int>(std::lround(-ccw / 90.0)) * 90;
  return ((cw % 360) + 360) % 360;
}

VideoInfo DescribeVideo(const AVStream* st) {
  const AVCodecParameters* par = st->codecpar;
  VideoInfo v;
  v.stream_index = st->index;
  v.codec = avcodec_get_name(par->codec_id);
  const char* profile = avcodec_profile_name(par->codec_id, par->profile);
  v.profile = profile != nullptr ? profile : "";
  v.width = par->width;
  v.height = par->height;
  const auto fmt = static_cast<AVPixelFormat>(par->format);
  v.pix_fmt = OrUnknown(av_get_pix_fmt_name(fmt));
  if (const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(fmt)) v.bit_depth = desc->comp[0].depth;
  v.color_range = OrUnknown(av_color_range_name(par->color_range));
  v.color_matrix = OrUnknown(av_color_space_name(par->color_space));
  v.color_primaries = OrUnknown(av_color_primaries_name(par->color_primaries));
  v.color_transfer = OrUnknown(av_color_transfer_name(par->color_trc));
  v.frame_rate = {st->r_frame_rate.num, st->r_frame_rate.den};
  v.avg_frame_rate = {st->avg_frame_rate.num, st->avg_frame_rate.den};
  v.time_base = {st->time_base.num, st->time_base.den};
  v.rotation_degrees = RotationOf(st);
  v.has_b_frames = par->video_delay > 0;
  return v;
}

void DescribeStreams(const AVFormatContext* fmt, MediaInfo* info) {
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVStream* st = fmt->streams[i];
    StreamInfo s;
    s.index = static_cast<int>(i);
    s.kind = KindOf(st->codecpar->codec_type);
    s.codec = avcodec_get_name(st->codecpar->codec_id);
    if (const AVDictionaryEntry* lang = av_dict_get(st->metadata, "language", nullptr, 0)) {
      s.language = lang->value;
    }
    s.sample_rate = st->codecpar->sample_rate;
    s.channels = st->codecpar->ch_layout.nb_channels;
    s.width = st->codecpar->width;
    s.height = st->codecpar->height;
    s.attached_picture = (st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0;
    info->streams.push_back(std::move(s));
  }
}

// Reads every packet of the video stream (others are discarded by the demuxer) and records the
// keyframes. Reports truncation: a read error before the end, a packet the demuxer marks
// corrupt (cut short), or packets ending well before the duration the container announced.
Status ScanPackets(AVFormatContext* fmt, const std::string& path, MediaInfo* info) {
  const AVStream* vst = fmt->streams[info->video.stream_index];
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    fmt->streams[i]->discard =
        static_cast<int>(i) == vst->index ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  STEREOSPOT_ASSIGN_OR_RETURN(PacketPtr pkt, AllocPacket());
  const double tb = av_q2d(vst->time_base);
  bool corrupt = false;
  int64_t next_pts_guess = 0;
  for (;;) {
    int rc = av_read_frame(fmt, pkt.get());
    if (rc == AVERROR_EOF) break;
    if (rc < 0) {
      if (rc == AVERROR_INVALIDDATA || rc == AVERROR(EIO)) {
        corrupt = true;
        break;
      }
      return AvError("reading packets of " + path, rc);
    }
    if (pkt->stream_index == vst->index) {
      if ((pkt->flags & AV_PKT_FLAG_CORRUPT) != 0) corrupt = true;
      int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      if (pts == AV_NOPTS_VALUE) pts = next_pts_guess;
      if ((pkt->flags & AV_PKT_FLAG_KEY) != 0) {
        info->keyframes.push_back({info->video_packets, pts, pts * tb, info->video_bytes, true});
      } else if (!info->keyframes.empty() && pts < info->keyframes.back().pts) {
        info->keyframes.back().closed = false;  // a leading picture: open GOP
      }
      const int64_t end = pts + std::max<int64_t>(pkt->duration, 0);
      next_pts_guess = end;
      info->video_end_seconds = std::max(info->video_end_seconds, end * tb);
      ++info->video_packets;
      info->video_bytes += pkt->size;
    }
    av_packet_unref(pkt.get());
  }
  const double announced =
      vst->duration != AV_NOPTS_VALUE
          ? (vst->start_time != AV_NOPTS_VALUE ? vst->start_time + vst->duration : vst->duration) *
                tb
          : info->start_seconds + info->duration_seconds;
  const bool short_read = announced > 0 && info->video_end_seconds < announced * 0.9 - 0.5;
  if (corrupt || (short_read && info->video_packets > 0)) {
    return Status::Permanent(path + ": the file is truncated or damaged (video data ends at " +
                             std::to_string(info->video_end_seconds) + " s of " +
                             std::to_string(announced) + " s)");
  }
  if (info->video_packets == 0)
    return Status::Permanent(path + ": the video stream holds no frames");
  if (info->keyframes.empty()) {
    return Status::Permanent(path + ": the video stream has no keyframe to start decoding from");
  }
  return Status::OK();
}

// Describes an opened demuxer; `name` is the file's name in messages.
Result<MediaInfo> Describe(AVFormatContext* fmt, const std::string& name,
                           const ProbeOptions& options) {
  MediaInfo info;
  info.path = name;
  info.container = fmt->iformat->name;
  info.duration_seconds =
      fmt->duration != AV_NOPTS_VALUE ? fmt->duration / double{AV_TIME_BASE} : 0;
  info.start_seconds =
      fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time / double{AV_TIME_BASE} : 0;
  info.file_bytes = avio_size(fmt->pb);
  DescribeStreams(fmt, &info);

  int best = -1;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVStream* st = fmt->streams[i];
    if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    if ((st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0) continue;
    if (best < 0) best = static_cast<int>(i);
  }
  if (best < 0) {
    return Status::Permanent(name + ": no video stream" +
                             (info.has_audio() ? " (the file holds audio only)" : ""));
  }
  const AVStream* vst = fmt->streams[best];
  info.video = DescribeVideo(vst);
  if (avcodec_find_decoder(vst->codecpar->codec_id) == nullptr) {
    char tag[AV_FOURCC_MAX_STRING_SIZE] = {};
    av_fourcc_make_string(tag, vst->codecpar->codec_tag);
    return Status::Permanent(name + ": unsupported video codec '" + info.video.codec +
                             "' (fourcc " + tag + "): no decoder available");
  }
  if (info.video.width <= 0 || info.video.height <= 0) {
    return Status::Permanent(name + ": the video stream has no picture size");
  }
  if (options.scan_packets) STEREOSPOT_RETURN_IF_ERROR(ScanPackets(fmt, name, &info));
  return info;
}

// The read position and first error of a demuxer reading a ByteRangeSource.
struct RangeReadState {
  const ByteRangeSource* source = nullptr;
  std::uint64_t position = 0;
  Status error;
};

int ReadRangePacket(void* opaque, std::uint8_t* buf, int buf_size) {
  auto* state = static_cast<RangeReadState*>(opaque);
  if (state->position >= state->source->size) return AVERROR_EOF;
  const std::uint64_t left = state->source->size - state->position;
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf_size));
  auto got = state->source->read(state->position, {reinterpret_cast<char*>(buf), want});
  if (!got.ok()) {
    if (state->error.ok()) state->error = got.status();
    return AVERROR(EIO);
  }
  if (*got == 0 || *got > want) {
    state->error =
        Status::IoError(state->source->name + ": the store returned " + std::to_string(*got) +
                        " bytes for a read of " + std::to_string(want));
    return AVERROR(EIO);
  }
  state->position += *got;
  return static_cast<int>(*got);
}

std::int64_t SeekRange(void* opaque, std::int64_t offset, int whence) {
  auto* state = static_cast<RangeReadState*>(opaque);
  const auto size = static_cast<std::int64_t>(state->source->size);
  std::int64_t target = 0;
  switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
      return size;
    case SEEK_SET:
      target = offset;
      break;
    case SEEK_CUR:
      target = static_cast<std::int64_t>(state->position) + offset;
      break;
    case SEEK_END:
      target = size + offset;
      break;
    default:
      return AVERROR(EINVAL);
  }
  if (target < 0) return AVERROR(EINVAL);
  state->position = static_cast<std::uint64_t>(target);
  return target;
}

// A demuxer over a ByteRangeSource. Members are destroyed in reverse order: the demuxer, then
// the I/O context it reads through, then the state that context's callbacks use.
struct RangeInput {
  std::unique_ptr<RangeReadState> state;
  AvioContextPtr io;
  InputFormatPtr format;
};

constexpr int kRangeBufferBytes = 256 << 10;

Result<RangeInput> OpenRangeInput(const ByteRangeSource& source) {
  RangeInput input;
  input.state = std::make_unique<RangeReadState>();
  input.state->source = &source;
  auto* buffer = static_cast<unsigned char*>(av_malloc(kRangeBufferBytes));
  if (buffer == nullptr) return Status::Unavailable("out of memory for the probe buffer");
  input.io.reset(avio_alloc_context(buffer, kRangeBufferBytes, 0, input.state.get(),
                                    ReadRangePacket, nullptr, SeekRange));
  if (!input.io) {
    av_free(buffer);
    return Status::Unavailable("out of memory for the probe's I/O context");
  }
  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) return Status::Unavailable("out of memory for the demuxer");
  raw->pb = input.io.get();
  raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  // On failure avformat_open_input frees the context (not the custom I/O) and nulls `raw`.
  int rc = avformat_open_input(&raw, source.name.c_str(), nullptr, nullptr);
  if (rc < 0) {
    if (!input.state->error.ok()) return input.state->error;
    if (rc == AVERROR_INVALIDDATA) {
      return Status::Permanent(source.name + ": not a media file (no known container format)");
    }
    return AvError("opening " + source.name, rc);
  }
  input.format.reset(raw);
  rc = avformat_find_stream_info(raw, nullptr);
  if (rc < 0) {
    if (!input.state->error.ok()) return input.state->error;
    return AvError("reading stream info of " + source.name, rc);
  }
  return input;
}

}  // namespace

Result<MediaInfo> Probe(const std::string& path, const ProbeOptions& options) {
  auto opened = OpenInput(path);
  if (!opened.ok()) return OpenFailure(opened.status(), path, FileHead(path));
  InputFormatPtr fmt = std::move(opened).value();
  return Describe(fmt.get(), path, options);
}

Result<MediaInfo> Probe(const ByteRangeSource& source, const ProbeOptions& options) {
  if (source.size == 0) {
    return Status::InvalidArgument(source.name + ": the file is empty (zero bytes)");
  }
  if (!source.read) return Status::InvalidArgument(source.name + ": no reader given");
  auto opened = OpenRangeInput(source);
  if (!opened.ok()) {
    if (opened.status().code() != StatusCode::kPermanent &&
        opened.status().code() != StatusCode::kDataLoss) {
      return opened.status();
    }
    std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(source.size, kSniffBytes)),
                     '\0');
    auto got = source.read(0, head);
    if (!got.ok()) return got.status();
    head.resize(*got);
    return OpenFailure(opened.status(), source.name, head);
  }
  RangeInput input = std::move(opened).value();
  auto info = Describe(input.format.get(), source.name, options);
  if (!info.ok() && !input.state->error.ok()) return input.state->error;
  return info;
}

}  // namespace stereospot::media
