#include "media/av_handles.h"

#include <fstream>

#include <gtest/gtest.h>

#include "media/atomic_path.h"
#include "media/test_clips.h"

namespace stereospot::media {
namespace {

TEST(AvErrorTest, MapsCodesOntoDomainCodes) {
  EXPECT_EQ(AvError("x", AVERROR(ENOENT)).code(), StatusCode::kNotFound);
  EXPECT_EQ(AvError("x", AVERROR(EAGAIN)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(AvError("x", AVERROR(ENOMEM)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(AvError("x", AVERROR_INVALIDDATA).code(), StatusCode::kPermanent);
  EXPECT_EQ(AvError("x", AVERROR_DECODER_NOT_FOUND).code(), StatusCode::kPermanent);
  EXPECT_EQ(AvError("x", AVERROR_EOF).code(), StatusCode::kDataLoss);
  EXPECT_EQ(AvError("x", AVERROR(EINVAL)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AvError("x", AVERROR_BUG).code(), StatusCode::kInternal);
  EXPECT_EQ(AvError("x", AVERROR(EIO)).code(), StatusCode::kIoError);
  EXPECT_TRUE(AvError("x", AVERROR(ETIMEDOUT)).IsRetryable());
}

TEST(AvErrorTest, MessageHasContextAndLibavText) {
  Status st = AvError("opening in.mp4", AVERROR(ENOENT));
  EXPECT_EQ(st.message(), "opening in.mp4: No such file or directory");
}

TEST(AvHandlesTest, OwnersFreeWhatTheyHoldAndAcceptNull) {
  CodecContextPtr codec(avcodec_alloc_context3(nullptr));
  ASSERT_TRUE(codec);
  auto frame = AllocFrame();
  ASSERT_TRUE(frame.ok());
  (*frame)->format = AV_PIX_FMT_GRAY8;
  (*frame)->width = 16;
  (*frame)->height = 16;
  ASSERT_EQ(av_frame_get_buffer(frame->get(), 0), 0);
  auto packet = AllocPacket();
  ASSERT_TRUE(packet.ok());
  ASSERT_EQ(av_new_packet(packet->get(), 100), 0);
  SwsContextPtr sws(sws_getContext(16, 16, AV_PIX_FMT_GRAY8, 8, 8, AV_PIX_FMT_GRAY8, SWS_BILINEAR,
                                   nullptr, nullptr, nullptr));
  EXPECT_TRUE(sws);
  SwrContextPtr swr(swr_alloc());
  FilterGraphPtr graph(avfilter_graph_alloc());
  AudioFifoPtr fifo(av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, 1024));
  EXPECT_TRUE(fifo);
  SwsContextPtr empty;
  // Leak-free teardown is checked by the ASan build of this test.
}

TEST(AvHandlesTest, OutputOwnerClosesFileWithoutTrailer) {
  testing::TempDir dir;
  auto out = OpenOutput("mp4", dir.File("x.mp4"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NE((*out)->pb, nullptr);
}

TEST(AvHandlesTest, OpenInputErrors) {
  testing::TempDir dir;
  EXPECT_EQ(OpenInput(dir.File("missing.mp4")).status().code(), StatusCode::kNotFound);
  std::ofstream(dir.File("empty.mp4")).close();
  EXPECT_EQ(OpenInput(dir.File("empty.mp4")).status().code(), StatusCode::kInvalidArgument);
}

TEST(AtomicPathTest, PublishesOnlyOnCommit) {
  testing::TempDir dir;
  const std::string target = dir.File("seg.mp4");
  {
    AtomicPath p(target);
    std::ofstream(p.temp_path()) << "partial";
  }
  EXPECT_FALSE(std::filesystem::exists(target));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  AtomicPath p(target);
  std::ofstream(p.temp_path()) << "whole";
  ASSERT_TRUE(p.Commit().ok());
  EXPECT_TRUE(std::filesystem::exists(target));
}

}  // namespace
}  // namespace stereospot::media
