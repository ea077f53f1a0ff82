// Path-style and virtual-hosted URL building of the S3 adapter.
#include "adapters/s3/s3_url.h"

#include <gtest/gtest.h>

namespace stereospot::s3 {
namespace {

TEST(ParseEndpoint, AcceptsSchemeHostPortOnly) {
  auto e = ParseEndpoint("http://127.0.0.1:4569");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->scheme, "http");
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 4569);
  auto bare = ParseEndpoint("s3.eu-west-1.amazonaws.com/");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->scheme, "https");
  EXPECT_EQ(bare->host, "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(bare->port, 0);
  for (const char* bad : {"ftp://h", "http://h/path", "http://user@h", "http://h:0",
                          "http://h:99999", "http://h:x", "", "http://:80", "http://h?q"}) {
    EXPECT_TRUE(ParseEndpoint(bad).status().IsInvalidArgument()) << bad;
  }
}

TEST(BuildTarget, PathStyleAndVirtualHosted) {
  Endpoint local{"http", "127.0.0.1", 9000};
  RequestTarget path = BuildTarget(local, "media", true, "jobs/a b/final.mp4");
  EXPECT_EQ(path.url, "http://127.0.0.1:9000/media/jobs/a%20b/final.mp4");
  EXPECT_EQ(path.host, "127.0.0.1:9000");
  EXPECT_EQ(path.canonical_path, "/media/jobs/a%20b/final.mp4");

  Endpoint aws{"https", "s3.eu-west-1.amazonaws.com", 0};
  RequestTarget vhost = BuildTarget(aws, "media", false, "jobs/a/final.mp4");
  EXPECT_EQ(vhost.url, "https://media.s3.eu-west-1.amazonaws.com/jobs/a/final.mp4");
  EXPECT_EQ(vhost.host, "media.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(vhost.canonical_path, "/jobs/a/final.mp4");
}

TEST(BuildTarget, BucketRequestsWithSortedEncodedQueries) {
  Endpoint local{"http", "localhost", 4569};
  RequestTarget list =
      BuildTarget(local, "media", true, "",
                  {{"prefix", "segments/"}, {"list-type", "2"}, {"continuation-token", "AB+c/="}});
  EXPECT_EQ(list.url,
            "http://localhost:4569/media?continuation-token=AB%2Bc%2F%3D&list-type=2"
            "&prefix=segments%2F");
  RequestTarget vhost = BuildTarget(local, "media", false, "", {{"delete", ""}});
  EXPECT_EQ(vhost.url, "http://media.localhost:4569/?delete=");
  EXPECT_EQ(vhost.canonical_path, "/");
}

TEST(ValidateBucketName, FollowsS3Rules) {
  EXPECT_TRUE(ValidateBucketName("stereo-spot.media1").ok());
  for (const char* bad : {"ab", "Upper", "-lead", "trail-", "under_score", "a b c"}) {
    EXPECT_TRUE(ValidateBucketName(bad).IsInvalidArgument()) << bad;
  }
  EXPECT_TRUE(ValidateBucketName(std::string(64, 'a')).IsInvalidArgument());
}

}  // namespace
}  // namespace stereospot::s3
