// How S3 error responses and curl failures map onto Status codes.
#include <gtest/gtest.h>

#include "adapters/s3/curl_handles.h"
#include "adapters/s3/s3_http.h"

namespace stereospot::s3 {
namespace {

HttpResponse Reply(long status, const std::string& code) {
  HttpResponse r;
  r.status = status;
  if (!code.empty()) {
    r.body =
        "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>details</Message></Error>";
  }
  return r;
}

TEST(S3Error, MapsStatusesAndCodes) {
  EXPECT_EQ(S3Error(Reply(404, "NoSuchKey"), "get k").code(), StatusCode::kNotFound);
  EXPECT_EQ(S3Error(Reply(404, ""), "head k").code(), StatusCode::kNotFound);
  EXPECT_EQ(S3Error(Reply(404, "NoSuchBucket"), "get k").code(), StatusCode::kIoError);
  EXPECT_EQ(S3Error(Reply(503, "SlowDown"), "put k").code(), StatusCode::kUnavailable);
  EXPECT_EQ(S3Error(Reply(500, "InternalError"), "put k").code(), StatusCode::kUnavailable);
  EXPECT_EQ(S3Error(Reply(429, ""), "put k").code(), StatusCode::kUnavailable);
  EXPECT_EQ(S3Error(Reply(400, "RequestTimeout"), "put k").code(), StatusCode::kUnavailable);
  EXPECT_EQ(S3Error(Reply(416, "InvalidRange"), "get k").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(S3Error(Reply(501, "NotImplemented"), "abort").code(), StatusCode::kIoError);
  EXPECT_EQ(S3Error(Reply(400, "EntityTooSmall"), "complete").code(), StatusCode::kIoError);
  Status denied = S3Error(Reply(403, "SignatureDoesNotMatch"), "put jobs/a/final.mp4");
  EXPECT_EQ(denied.code(), StatusCode::kPermanent);
  EXPECT_NE(denied.message().find("put jobs/a/final.mp4"), std::string::npos);
  EXPECT_NE(denied.message().find("signature mismatch"), std::string::npos);
  EXPECT_EQ(S3Error(Reply(403, ""), "head k").code(), StatusCode::kPermanent) << "HEAD: no body";
}

TEST(CurlError, TransientFailuresAreRetryable) {
  EXPECT_TRUE(CurlError("get k", CURLE_COULDNT_CONNECT, "refused").IsUnavailable());
  EXPECT_TRUE(CurlError("get k", CURLE_OPERATION_TIMEDOUT, "").IsUnavailable());
  EXPECT_TRUE(CurlError("get k", CURLE_RECV_ERROR, nullptr).IsUnavailable());
  Status bad = CurlError("get k", CURLE_URL_MALFORMAT, "bad url");
  EXPECT_EQ(bad.code(), StatusCode::kIoError);
  EXPECT_NE(bad.message().find("bad url"), std::string::npos);
}

}  // namespace
}  // namespace stereospot::s3
