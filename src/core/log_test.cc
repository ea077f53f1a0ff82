#include "core/log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stereospot {
namespace {

constexpr std::int64_t kWhen = 1795428902123;  // 2026-11-23T10:15:02.123Z

TEST(LogTest, PlainLineMatchesTheDesignFormat) {
  std::string line = FormatLogLine(
      kWhen, LogLevel::kInfo, "stereospot.video_worker", "segment completed",
      {{"job_id", std::string("3f0c1a2b-9d4e-4f6a-8b7c-0d1e2f3a4b5c")}, {"segment_index", 3}},
      LogFormat::kPlain);
  EXPECT_EQ(line,
            "2026-11-23T10:15:02.123Z [INFO] stereospot.video_worker: segment completed "
            "job_id=3f0c1a2b-9d4e-4f6a-8b7c-0d1e2f3a4b5c segment_index=3");
}

TEST(LogTest, QuotesValuesThatWouldBreakSplitting) {
  std::string line = FormatLogLine(kWhen, LogLevel::kError, "c", "failed",
                                   {{"reason", std::string("not a video = bad")}, {"job_id", "?"}},
                                   LogFormat::kPlain);
  EXPECT_NE(line.find("reason=\"not a video = bad\""), std::string::npos) << line;
  EXPECT_NE(line.find("job_id=?"), std::string::npos) << line;
  EXPECT_NE(line.find("[ERROR]"), std::string::npos);
}

TEST(LogTest, JsonLineHasAllFields) {
  std::string line = FormatLogLine(kWhen, LogLevel::kWarn, "stereospot.janitor", "stalled",
                                   {{"job_id", std::string("x")}, {"segments", 4}, {"ok", true}},
                                   LogFormat::kJson);
  auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["ts"], "2026-11-23T10:15:02.123Z");
  EXPECT_EQ(json["level"], "WARN");
  EXPECT_EQ(json["component"], "stereospot.janitor");
  EXPECT_EQ(json["msg"], "stalled");
  EXPECT_EQ(json["job_id"], "x");
  EXPECT_EQ(json["segments"], 4);
  EXPECT_EQ(json["ok"], "true");
}

TEST(LogTest, ParsesLevels) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("info"), LogLevel::kInfo);
}

}  // namespace
}  // namespace stereospot
