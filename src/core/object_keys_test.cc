#include "core/object_keys.h"

#include <vector>

#include <gtest/gtest.h>

#include "core/ids.h"

namespace stereospot {
namespace {

const std::string kJob = "3f0c1a2b-9d4e-4f6a-8b7c-0d1e2f3a4b5c";

TEST(ObjectKeysTest, SourceKeyRoundTrips) {
  auto key = BuildSourceKey(kJob, "mp4");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, "input/" + kJob + "/source.mp4");
  auto parsed = ParseSourceKey(*key);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->job_id, kJob);
  EXPECT_EQ(parsed->ext, "mp4");
}

TEST(ObjectKeysTest, SegmentKeyRoundTripsForEveryMode) {
  for (Layout mode : {Layout::kSbs, Layout::kHalfSbs, Layout::kTb, Layout::kHalfTb, Layout::kCross,
                      Layout::kAnaglyph, Layout::kRgbd}) {
    for (auto [index, total] : {std::pair{0, 1}, {41, 42}, {7, 100}, {99998, 99999}}) {
      auto key = BuildSegmentKey(kJob, index, total, mode);
      ASSERT_TRUE(key.ok()) << key.status().ToString();
      auto parsed = ParseSegmentKey(*key);
      ASSERT_TRUE(parsed.has_value()) << *key;
      EXPECT_EQ(parsed->job_id, kJob);
      EXPECT_EQ(parsed->segment_index, index);
      EXPECT_EQ(parsed->total_segments, total);
      EXPECT_EQ(parsed->mode, mode);
    }
  }
  EXPECT_EQ(*BuildSegmentKey(kJob, 3, 42, Layout::kAnaglyph),
            "segments/" + kJob + "/00003_00042_anaglyph.mp4");
}

TEST(ObjectKeysTest, OutputAndFinalKeysRoundTrip) {
  auto out = BuildOutputSegmentKey(kJob, 12);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "jobs/" + kJob + "/segments/00012.mp4");
  auto parsed = ParseOutputSegmentKey(*out);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->segment_index, 12);
  auto final_key = BuildFinalKey(kJob);
  ASSERT_TRUE(final_key.ok());
  EXPECT_EQ(ParseFinalKey(*final_key).value_or(""), kJob);
}

TEST(ObjectKeysTest, LexicalOrderIsIndexOrder) {
  EXPECT_LT(*BuildOutputSegmentKey(kJob, 9), *BuildOutputSegmentKey(kJob, 10));
  EXPECT_LT(*BuildSegmentKey(kJob, 9, 11, Layout::kSbs),
            *BuildSegmentKey(kJob, 10, 11, Layout::kSbs));
}

TEST(ObjectKeysTest, BuildersRejectBadInput) {
  EXPECT_TRUE(BuildSourceKey("../etc", "mp4").status().IsInvalidArgument());
  EXPECT_TRUE(BuildSourceKey(kJob, "").status().IsInvalidArgument());
  EXPECT_TRUE(BuildSourceKey(kJob, "mp4/../x").status().IsInvalidArgument());
  EXPECT_TRUE(BuildSourceKey(kJob, "MP4").status().IsInvalidArgument());
  EXPECT_TRUE(BuildSourceKey(kJob, "toolongext").status().IsInvalidArgument());
  EXPECT_TRUE(BuildSegmentKey(kJob, 5, 5, Layout::kSbs).status().IsInvalidArgument());
  EXPECT_TRUE(BuildSegmentKey(kJob, -1, 5, Layout::kSbs).status().IsInvalidArgument());
  EXPECT_TRUE(BuildSegmentKey(kJob, 0, 0, Layout::kSbs).status().IsInvalidArgument());
  EXPECT_TRUE(BuildSegmentKey(kJob, 0, 100000, Layout::kSbs).status().IsInvalidArgument());
  EXPECT_TRUE(BuildSegmentKey("", 0, 1, Layout::kSbs).status().IsInvalidArgument());
  EXPECT_TRUE(BuildOutputSegmentKey(kJob, -3).status().IsInvalidArgument());
  EXPECT_TRUE(BuildFinalKey(kJob + "x").status().IsInvalidArgument());
  EXPECT_TRUE(SegmentsPrefix("not-a-uuid").status().IsInvalidArgument());
}

// Every malformed form is rejected, without throwing.
TEST(ObjectKeysTest, ParsersRejectMalformedKeys) {
  const std::string seg = "segments/" + kJob + "/";
  const char* bad_segments[] = {
      "",
      "segments/",
      "segments//00000_00001_sbs.mp4",                                      // empty job id
      "segment/3f0c1a2b-9d4e-4f6a-8b7c-0d1e2f3a4b5c/00000_00001_sbs.mp4",   // wrong prefix
      "segments/3F0C1A2B-9D4E-4F6A-8B7C-0D1E2F3A4B5C/00000_00001_sbs.mp4",  // upper-case id
      "segments/3f0c1a2b-9d4e-1f6a-8b7c-0d1e2f3a4b5c/00000_00001_sbs.mp4",  // UUID version 1
      "segments/not-a-job/00000_00001_sbs.mp4",
  };
  for (const char* key : bad_segments) EXPECT_FALSE(ParseSegmentKey(key).has_value()) << key;
  const std::string bad_names[] = {
      "0000_00001_sbs.mp4",    // four digits
      "000000_00001_sbs.mp4",  // six digits
      "00000_0001_sbs.mp4",
      "00001_00001_sbs.mp4",  // index == total
      "00005_00001_sbs.mp4",  // index > total
      "00000_00000_sbs.mp4",  // total 0
      "00000_00001_3d.mp4",   // unknown mode
      "00000_00001_.mp4",     // empty mode
      "00000_00001_sbs.mkv",  // wrong extension
      "00000_00001_sbs",      // no extension
      "0000a_00001_sbs.mp4",  // non-digit
      "-0001_00001_sbs.mp4",   "00000-00001-sbs.mp4",
      "00000_00001_sbs.mp4/x", "sub/00000_00001_sbs.mp4",
  };
  for (const auto& name : bad_names) {
    EXPECT_FALSE(ParseSegmentKey(seg + name).has_value()) << name;
  }
  const std::string job = "jobs/" + kJob + "/";
  for (const std::string& key : std::vector<std::string>{
           job + "segments/0001.mp4", job + "segments/00001.mkv", job + "segments/000001.mp4",
           job + "segment/00001.mp4", job + "segments/99999.mp4",
           std::string("jobs//segments/00001.mp4")}) {
    EXPECT_FALSE(ParseOutputSegmentKey(key).has_value()) << key;
  }
  for (const std::string& key : std::vector<std::string>{job + "final.mkv", job + "final.mp4/",
                                                         std::string("jobs/x/final.mp4"),
                                                         job + "../final.mp4", "jobs/" + kJob}) {
    EXPECT_FALSE(ParseFinalKey(key).has_value()) << key;
  }
  for (const std::string& key :
       std::vector<std::string>{"input/" + kJob + "/source.", "input/" + kJob + "/source.MP4",
                                "input/" + kJob + "/src.mp4", "input/" + kJob + "/source.mp4/",
                                "input/" + kJob + "/source.a.b", "input/" + kJob}) {
    EXPECT_FALSE(ParseSourceKey(key).has_value()) << key;
  }
}

TEST(ObjectKeysTest, GeneralKeyRuleRejectsPathTricks) {
  EXPECT_TRUE(ValidateObjectKey("jobs/x/final.mp4").ok());
  EXPECT_TRUE(ValidateObjectKey("segments/x/", /*allow_trailing_slash=*/true).ok());
  for (const char* bad : {"", "/etc/passwd", "a/../b", "..", "./a", "a/./b", "a//b", "a/",
                          "a\\..\\b", "a b", "a\nb", "caf\xc3\xa9"}) {
    EXPECT_TRUE(ValidateObjectKey(bad).IsInvalidArgument()) << bad;
  }
  EXPECT_TRUE(ValidateObjectKey(std::string(1025, 'a')).IsInvalidArgument());
  EXPECT_TRUE(ValidateObjectKey("../", true).IsInvalidArgument());
}

TEST(ObjectKeysTest, DownloadNamesCannotForgeAHeader) {
  EXPECT_TRUE(ValidateDownloadName("").ok());
  EXPECT_TRUE(ValidateDownloadName("holiday_3d-sbs.mp4").ok());
  for (const char* bad : {"a\"b.mp4", "a\r\nX-Evil: 1", "a\\b", "../x.mp4", "caf\xc3\xa9.mp4"}) {
    EXPECT_TRUE(ValidateDownloadName(bad).IsInvalidArgument()) << bad;
  }
  EXPECT_TRUE(ValidateDownloadName(std::string(256, 'a')).IsInvalidArgument());
}

TEST(IdsTest, NewJobIdsAreValidAndDistinct) {
  std::string a = NewJobId();
  std::string b = NewJobId();
  EXPECT_TRUE(IsValidJobId(a)) << a;
  EXPECT_TRUE(IsValidJobId(b)) << b;
  EXPECT_NE(a, b);
  EXPECT_FALSE(IsValidJobId(""));
  EXPECT_FALSE(IsValidJobId("3f0c1a2b9d4e4f6a8b7c0d1e2f3a4b5c"));
  EXPECT_FALSE(IsValidJobId("{3f0c1a2b-9d4e-4f6a-8b7c-0d1e2f3a4b5c}"));
  EXPECT_FALSE(IsValidJobId("3f0c1a2b-9d4e-4f6a-cb7c-0d1e2f3a4b5c"));  // wrong variant
  EXPECT_FALSE(IsValidJobId("3f0c1a2b-9d4e-4f6a-8b7c-0d1e2f3a4b5g"));
  EXPECT_EQ(RandomHex(16).size(), 32u);
}

}  // namespace
}  // namespace stereospot
