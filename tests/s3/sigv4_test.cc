// SigV4 pieces of the S3 adapter, checked against AWS's published examples.
#include "adapters/s3/sigv4.h"

#include <gtest/gtest.h>

#include "adapters/s3/s3_url.h"

namespace stereospot::s3 {
namespace {

// The presigned GET example of the S3 API reference, "Authenticating Requests: Using Query
// Parameters (AWS Signature Version 4)": GET examplebucket/test.txt, virtual-hosted, signed at
// 20130524T000000Z for 86400 s.
TEST(PresignUrl, MatchesTheAwsDocumentationVector) {
  auto endpoint = ParseEndpoint("https://s3.amazonaws.com");
  ASSERT_TRUE(endpoint.ok());
  RequestTarget target = BuildTarget(*endpoint, "examplebucket", false, "test.txt");
  PresignRequest request;
  request.method = "GET";
  request.scheme = "https";
  request.host = target.host;
  request.canonical_path = target.canonical_path;
  request.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  request.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  request.region = "us-east-1";
  request.now_unix_seconds = 1369353600;  // 2013-05-24T00:00:00Z
  request.expires_seconds = 86400;
  EXPECT_EQ(PresignUrl(request),
            "https://examplebucket.s3.amazonaws.com/test.txt"
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(PresignUrl, SessionTokenIsSignedAndPutDiffersFromGet) {
  PresignRequest request;
  request.method = "GET";
  request.scheme = "http";
  request.host = "127.0.0.1:9000";
  request.canonical_path = "/bucket/a%20b";
  request.access_key_id = "AK";
  request.secret_access_key = "SK";
  request.region = "us-east-1";
  request.now_unix_seconds = 1369353600;
  request.expires_seconds = 60;
  std::string get = PresignUrl(request);
  request.method = "PUT";
  std::string put = PresignUrl(request);
  EXPECT_NE(get.substr(get.find("X-Amz-Signature")), put.substr(put.find("X-Amz-Signature")));
  request.session_token = "tok/en+=";
  std::string with_token = PresignUrl(request);
  EXPECT_NE(with_token.find("&X-Amz-Security-Token=tok%2Fen%2B%3D&"), std::string::npos)
      << with_token;
  EXPECT_EQ(with_token.rfind("http://127.0.0.1:9000/bucket/a%20b?X-Amz-Algorithm=", 0), 0u);
}

TEST(Sigv4, HashesAndEncodings) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Md5Base64(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(UriEncode("a b/c~d%e*", true), "a%20b/c~d%25e%2A");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xC3\xA9", false), "%C3%A9") << "upper-case hex, per byte";
  EXPECT_EQ(AmzDate(1369353600).second, "20130524T000000Z");
}

TEST(Sigv4, CanonicalQueryIsSortedEncodedAndKeepsEmptyValues) {
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"uploadId", "a/b+c="}, {"partNumber", "2"}}),
            "partNumber=2&uploadId=a%2Fb%2Bc%3D");
  EXPECT_EQ(CanonicalQuery({{"prefix", "seg ments/"}, {"list-type", "2"}, {"max-keys", "10"}}),
            "list-type=2&max-keys=10&prefix=seg%20ments%2F");
}

}  // namespace
}  // namespace stereospot::s3
