#include "server/http_util.h"

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stereospot::server {
namespace {

TEST(HttpUtilTest, StatusCodesMapToHttp) {
  EXPECT_EQ(HttpStatusFor(Status::InvalidArgument("x")), 400);
  EXPECT_EQ(HttpStatusFor(Status::NotFound("x")), 404);
  EXPECT_EQ(HttpStatusFor(Status::Conflict("x")), 409);
  EXPECT_EQ(HttpStatusFor(Status::AlreadyExists("x")), 409);
  EXPECT_EQ(HttpStatusFor(Status::Permanent("x")), 422);
  EXPECT_EQ(HttpStatusFor(Status::Unavailable("x")), 503);
  EXPECT_EQ(HttpStatusFor(Status::IoError("x")), 500);
  EXPECT_EQ(HttpStatusFor(Status::Internal("x")), 500);
}

TEST(HttpUtilTest, ErrorBodyIsJson) {
  auto body = nlohmann::json::parse(ErrorBody(Status::NotFound("job 1 does not exist")));
  EXPECT_EQ(body["error"]["code"], "not_found");
  EXPECT_EQ(body["error"]["message"], "job 1 does not exist");
  // Invalid UTF-8 in a message never breaks the JSON.
  EXPECT_NO_THROW(nlohmann::json::parse(ErrorBody("bad", std::string("\xff\xfe", 2))));
}

TEST(HttpUtilTest, ByteRanges) {
  auto r = ParseByteRange("bytes=0-99", 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->offset, 0u);
  EXPECT_EQ(r->length, 100u);
  r = ParseByteRange("bytes=900-", 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->offset, 900u);
  EXPECT_EQ(r->length, 100u);
  r = ParseByteRange("bytes=-10", 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->offset, 990u);
  EXPECT_EQ(r->length, 10u);
  r = ParseByteRange("bytes=-5000", 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->offset, 0u);
  EXPECT_EQ(r->length, 1000u);
  r = ParseByteRange("bytes=990-5000", 1000);  // the end is clipped
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->length, 10u);
  for (const char* bad : {"bytes=1000-", "bytes=5-2", "bytes=abc", "items=0-1", "bytes=0-1,5-6",
                          "bytes=-0", "bytes=", "bytes=-", "bytes=99999999999999999999-"}) {
    EXPECT_FALSE(ParseByteRange(bad, 1000).ok()) << bad;
  }
  EXPECT_FALSE(ParseByteRange("bytes=0-", 0).ok());
}

TEST(HttpUtilTest, ListenAddresses) {
  auto a = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  a = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 0);
  for (const char* bad : {"8080", ":8080", "host:", "host:70000", "[::1]8080", "h:x"}) {
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
  }
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("192.168.1.2"));
  EXPECT_FALSE(IsLoopbackHost("127.evil.com"));
  EXPECT_FALSE(IsLoopbackHost("::"));
}

TEST(HttpUtilTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret-token-123", "secret-token-123"));
  EXPECT_FALSE(ConstantTimeEquals("secret-token-123", "secret-token-124"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret-token"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(HttpUtilTest, TokenFiles) {
  const std::string path = ::testing::TempDir() + "/tokens-test.txt";
  std::ofstream(path) << "# operators\n\n  0123456789abcdef0123  \nsecond-token-long-enough\n";
  auto tokens = LoadTokenFile(path);
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  EXPECT_EQ(*tokens,
            (std::vector<std::string>{"0123456789abcdef0123", "second-token-long-enough"}));
  std::ofstream(path) << "short\n";
  EXPECT_EQ(LoadTokenFile(path).status().code(), StatusCode::kInvalidArgument);
  std::ofstream(path) << "# nothing\n";
  EXPECT_EQ(LoadTokenFile(path).status().code(), StatusCode::kInvalidArgument);
  std::remove(path.c_str());
  EXPECT_EQ(LoadTokenFile(path).status().code(), StatusCode::kNotFound);
}

TEST(HttpUtilTest, DownloadNamesCarryTheLayoutSuffix) {
  Job job;
  job.job_id = "3f0c1a2b-9d4e-4f6a-8b7c-0d1e2f3a4b5c";
  job.title = "My Holiday (2026)";
  job.params = {{"layout", "sbs"}};
  EXPECT_EQ(DownloadName(job), "My_Holiday_2026_LRF_Full_SBS.mp4");
  job.params = {{"layout", "half-sbs"}};
  job.title = "../../etc/passwd";
  EXPECT_EQ(DownloadName(job), "etc_passwd_LR.mp4");
  job.title = "\"; rm -rf /";
  job.params = {{"layout", "anaglyph"}, {"anaglyph", "gray"}};
  EXPECT_EQ(DownloadName(job), "rm_-rf_redcyan_gray.mp4");
  job.title = "";
  EXPECT_EQ(DownloadName(job).rfind("stereospot-3f0c1a2b_", 0), 0u);
}

TEST(HttpUtilTest, Cookies) {
  EXPECT_EQ(CookieValue("a=1; stereospot_session=abc; b=2", "stereospot_session"), "abc");
  EXPECT_EQ(CookieValue("stereospot_session=xyz", "stereospot_session"), "xyz");
  EXPECT_FALSE(CookieValue("x_stereospot_session=abc", "stereospot_session").has_value());
  EXPECT_FALSE(CookieValue("", "stereospot_session").has_value());
}

}  // namespace
}  // namespace stereospot::server
