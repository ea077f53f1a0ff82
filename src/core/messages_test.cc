#include "core/messages.h"

#include <gtest/gtest.h>

#include "core/object_keys.h"

namespace stereospot {
namespace {

const std::string kJob = "3f0c1a2b-9d4e-4f6a-8b7c-0d1e2f3a4b5c";

TEST(MessagesTest, JobMessageRoundTrips) {
  auto decoded = DecodeJobMessage(EncodeJobMessage({kJob}));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->job_id, kJob);
  EXPECT_EQ(JobIdForLog(EncodeJobMessage({kJob})), kJob);
}

TEST(MessagesTest, SegmentMessageRoundTrips) {
  SegmentMessage m{kJob, 3, 8, *BuildSegmentKey(kJob, 3, 8, Layout::kHalfTb), Layout::kHalfTb};
  auto decoded = DecodeSegmentMessage(EncodeSegmentMessage(m));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->segment_index, 3);
  EXPECT_EQ(decoded->total_segments, 8);
  EXPECT_EQ(decoded->segment_key, m.segment_key);
  EXPECT_EQ(decoded->mode, Layout::kHalfTb);
}

TEST(MessagesTest, RejectsMalformedBodies) {
  const std::string key = *BuildSegmentKey(kJob, 3, 8, Layout::kSbs);
  const std::string bad[] = {
      "",
      "not json",
      "[]",
      "{}",
      R"({"job_id": 5})",
      R"({"job_id": "../../etc"})",
      R"({"job_id": ")" + kJob + R"(", "segment_index": 3})",
      R"({"job_id": ")" + kJob +
          R"(", "segment_index": -1, "total_segments": 8, "segment_key": ")" + key +
          R"(", "mode": "sbs"})",
      R"({"job_id": ")" + kJob + R"(", "segment_index": 4, "total_segments": 8, "segment_key": ")" +
          key + R"(", "mode": "sbs"})",  // index disagrees with key
      R"({"job_id": ")" + kJob + R"(", "segment_index": 3, "total_segments": 8, "segment_key": ")" +
          key + R"(", "mode": "tb"})",  // mode disagrees with key
      R"({"job_id": ")" + kJob +
          R"(", "segment_index": 3, "total_segments": 8, "segment_key": "x", "mode": "sbs"})",
      R"({"job_id": ")" + kJob +
          R"(", "segment_index": "3", "total_segments": 8, "segment_key": ")" + key +
          R"(", "mode": "sbs"})",
  };
  for (const auto& body : bad) {
    auto decoded = DecodeSegmentMessage(body);
    EXPECT_FALSE(decoded.ok()) << body;
    EXPECT_TRUE(decoded.status().IsInvalidArgument()) << body;
  }
  EXPECT_FALSE(DecodeJobMessage("{}").ok());
  EXPECT_FALSE(DecodeJobMessage(R"({"job_id": "x"})").ok());
  EXPECT_EQ(JobIdForLog("garbage"), "?");
}

TEST(MessagesTest, IgnoresUnknownFields) {
  auto decoded = DecodeJobMessage(R"({"job_id": ")" + kJob + R"(", "priority": 3})");
  ASSERT_TRUE(decoded.ok());
}

}  // namespace
}  // namespace stereospot
