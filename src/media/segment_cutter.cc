#include "media/segment_cutter.h"

#include <cstring>
#include <filesystem>

#include "media/atomic_path.h"
#include "media/av_handles.h"

namespace stereospot::media {

namespace {

// One segment file being written.
class SegmentWriter {
 public:
  static Result<std::unique_ptr<SegmentWriter>> Open(const std::string& path,
                                                     const std::string& container,
                                                     const AVStream* in) {
    auto w = std::unique_ptr<SegmentWriter>(new SegmentWriter(path));
    STEREOSPOT_ASSIGN_OR_RETURN(w->out_, OpenOutput(container, w->atomic_.temp_path()));
    AVStream* st = avformat_new_stream(w->out_.get(), nullptr);
    if (st == nullptr) return Status::Unavailable("out of memory adding a segment stream");
    int rc = avcodec_parameters_copy(st->codecpar, in->codecpar);
    if (rc < 0) return AvError("copying codec parameters", rc);
    st->codecpar->codec_tag = 0;  // let the muxer pick the tag of its own container
    st->time_base = in->time_base;
    st->avg_frame_rate = in->avg_frame_rate;
    st->r_frame_rate = in->r_frame_rate;
    for (int i = 0; i < in->nb_side_data; ++i) {
      const AVPacketSideData& sd = in->side_data[i];
      uint8_t* dst = av_stream_new_side_data(st, sd.type, sd.size);
      if (dst == nullptr) return Status::Unavailable("out of memory copying stream side data");
      std::memcpy(dst, sd.data, sd.size);
    }
    rc = avformat_write_header(w->out_.get(), nullptr);
    if (rc < 0) return AvError("writing segment header of " + path, rc);
    w->in_tb_ = in->time_base;
    return w;
  }

  // Takes the packet's contents (av_interleaved_write_frame blanks it).
  Status Write(AVPacket* pkt) {
    pkt->stream_index = 0;
    pkt->pos = -1;
    av_packet_rescale_ts(pkt, in_tb_, out_->streams[0]->time_base);
    int rc = av_interleaved_write_frame(out_.get(), pkt);
    if (rc < 0) return AvError("writing segment packet", rc);
    ++frames_;
    return Status::OK();
  }

  Result<WrittenSegment> Publish(const SegmentSpec& spec) {
    STEREOSPOT_RETURN_IF_ERROR(FinishOutput(out_.get()));
    out_.reset();
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(atomic_.temp_path(), ec);
    STEREOSPOT_RETURN_IF_ERROR(atomic_.Commit());
    return WrittenSegment{spec, path_, frames_, ec ? 0 : static_cast<int64_t>(bytes)};
  }

 private:
  explicit SegmentWriter(std::string path) : path_(std::move(path)), atomic_(path_) {}

  std::string path_;
  AtomicPath atomic_;
  OutputFormatPtr out_;
  AVRational in_tb_{1, 1};
  int64_t frames_ = 0;
};

}  // namespace

std::string SegmentContainerFor(const std::string& video_codec) {
  const AVCodecDescriptor* desc = avcodec_descriptor_get_by_name(video_codec.c_str());
  const AVOutputFormat* mp4 = av_guess_format("mp4", nullptr, nullptr);
  if (desc != nullptr && mp4 != nullptr &&
      avformat_query_codec(mp4, desc->id, FF_COMPLIANCE_NORMAL) == 1) {
    return "mp4";
  }
  return "matroska";
}

Result<std::vector<WrittenSegment>> CutSegments(const std::string& source, const MediaInfo& info,
                                                const SegmentPlan& plan,
                                                const CutOptions& options) {
  if (!options.path_for) return Status::InvalidArgument("CutOptions::path_for is required");
  if (plan.segments.empty()) return Status::InvalidArgument("empty segment plan");
  STEREOSPOT_ASSIGN_OR_RETURN(InputFormatPtr fmt, OpenInput(source));
  const int vindex = info.video.stream_index;
  if (vindex < 0 || vindex >= static_cast<int>(fmt->nb_streams)) {
    return Status::Internal(source + ": probe does not match the file");
  }
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    fmt->streams[i]->discard = static_cast<int>(i) == vindex ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  const AVStream* in = fmt->streams[vindex];
  const std::string container = SegmentContainerFor(info.video.codec);
  STEREOSPOT_ASSIGN_OR_RETURN(PacketPtr pkt, AllocPacket());

  std::vector<WrittenSegment> written;
  std::unique_ptr<SegmentWriter> writer;
  size_t seg = 0;
  int64_t packet_index = 0;
  auto publish = [&]() -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(WrittenSegment ws, writer->Publish(plan.segments[seg]));
    writer.reset();
    const int64_t expected = plan.segments[seg].end_packet - plan.segments[seg].first_packet;
    if (ws.frames != expected) {
      return Status::Internal(source + ": segment " + std::to_string(seg) + " got " +
                              std::to_string(ws.frames) + " packets, planned " +
                              std::to_string(expected));
    }
    if (options.on_written) STEREOSPOT_RETURN_IF_ERROR(options.on_written(ws));
    written.push_back(std::move(ws));
    ++seg;
    return Status::OK();
  };
  for (;;) {
    int rc = av_read_frame(fmt.get(), pkt.get());
    if (rc == AVERROR_EOF) break;
    if (rc < 0) return AvError("reading " + source, rc);
    if (pkt->stream_index != vindex) {
      av_packet_unref(pkt.get());
      continue;
    }
    const int64_t idx = packet_index++;
    if (writer && idx == plan.segments[seg].end_packet) STEREOSPOT_RETURN_IF_ERROR(publish());
    if (seg >= plan.segments.size() || idx < plan.segments[seg].first_packet) {
      av_packet_unref(pkt.get());  // leading packets before the first keyframe
      continue;
    }
    if (!writer) {
      STEREOSPOT_ASSIGN_OR_RETURN(
          writer, SegmentWriter::Open(options.path_for(plan.segments[seg]), container, in));
    }
    STEREOSPOT_RETURN_IF_ERROR(writer->Write(pkt.get()));
  }
  if (writer) STEREOSPOT_RETURN_IF_ERROR(publish());
  if (seg != plan.segments.size()) {
    return Status::Internal(source + ": the file has fewer packets than planned");
  }
  return written;
}

}  // namespace stereospot::media
