// The ObjectStore port (ports/object_store.h) on an S3-compatible bucket over the S3 REST API:
// AWS S3, MinIO, Ceph RGW, s3rver... DESIGN.md section 7, docs/distributed.md.
//
// Requests are signed with SigV4 (curl's CURLOPT_AWS_SIGV4; presigned URLs are signed here).
// Writes are atomic as S3 makes them: an object up to `part_size` bytes is one PUT, a larger
// one a multipart upload whose parts go up `parallel_parts` at a time and which becomes visible
// only when completed; any failure aborts the upload, so readers see the old object or the new
// one, never a part. Errors map onto Status codes as s3_http.h's S3Error says: a missing key is
// kNotFound, throttling, 5xx, timeouts and connection failures kUnavailable (retried a few
// times inside the adapter first), a bad signature or denied access kPermanent.
//
// Secrets are never logged and never appear in a Status message.
//
// Thread safety: safe for concurrent use by many threads (connections are pooled).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "adapters/s3/s3_url.h"
#include "ports/object_store.h"

namespace stereospot::s3 {

class HttpClient;

struct S3Options {
  // scheme://host[:port] of the S3 API, without the bucket. Default: empty, meaning AWS S3 in
  // `region` ("https://s3.<region>.amazonaws.com").
  std::string endpoint;
  // The signing region. Default: us-east-1 (what most S3-compatible servers expect).
  std::string region = "us-east-1";
  // The bucket every key lives in. Required.
  std::string bucket;
  // Credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). Required, except
  // the session token, which only temporary credentials have.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  // true: endpoint/bucket/key (MinIO, s3rver, most self-hosted servers); false: virtual-hosted
  // bucket.endpoint/key (AWS's preferred form; needs DNS for bucket.host). Default: true.
  bool path_style = true;
  // Objects larger than this are sent as a multipart upload in parts of this size; smaller
  // ones in one PUT. Each part in flight is held in memory. S3 requires at least 5 MiB (except
  // for the last part) and at most 10,000 parts. Default: 8 MiB.
  std::uint64_t part_size = 8u << 20;
  // The smallest part size Open accepts: S3's minimum. Lower it only for a server that allows
  // smaller parts (the tests use 1 MiB parts on s3rver). Default: 5 MiB.
  std::uint64_t min_part_size = 5u << 20;
  // Parts uploaded at once (threads) in a multipart upload. 1..64. Default: 4.
  int parallel_parts = 4;
  // Time allowed to open a connection. Default: 10 s.
  std::chrono::milliseconds connect_timeout{10'000};
  // A transfer that moves no byte for this long fails with kUnavailable. Default: 60 s.
  std::chrono::seconds stall_timeout{60};
  // Attempts per request for transient failures (5xx, 429, timeouts). Default: 3.
  int max_attempts = 3;
};

class S3ObjectStore final : public ObjectStore {
 public:
  // Checks the options (kInvalidArgument naming the bad field) and prepares the client. Does
  // not contact the server: CheckBucket does.
  static Result<std::unique_ptr<S3ObjectStore>> Open(S3Options options);
  ~S3ObjectStore() override;

  // For `stereospot config check`: the bucket is reachable with these credentials and writable.
  // Puts, heads and deletes a small probe object under "stereospot-check/". OK, or the first
  // failure with the endpoint and bucket in the message.
  Status CheckBucket();
  // Creates the bucket (in `region`). OK if it exists already and is ours. For tests and
  // first-time set-up of a self-hosted server; production buckets are made by their operator.
  Status CreateBucket();

  Status PutFile(std::string_view key, const std::filesystem::path& source) override;
  Status PutStream(std::string_view key, const ByteSource& source) override;
  Status GetFile(std::string_view key, const std::filesystem::path& destination) override;
  Status GetStream(std::string_view key, const ByteSink& sink) override;
  Result<std::string> ReadRange(std::string_view key, std::uint64_t offset,
                                std::uint64_t length) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<ObjectPage> List(std::string_view prefix, std::string_view page_token,
                          int max_keys) override;
  Status Delete(std::string_view key) override;
  Result<std::uint64_t> DeletePrefix(std::string_view prefix) override;
  // A SigV4 presigned URL (X-Amz-Expires = expires_in) on the configured endpoint.
  Result<std::string> SignedUrl(std::string_view key, SignedUrlMethod method,
                                std::chrono::seconds expires_in,
                                std::string_view download_name = {}) override;

  // The URL of a request on `key` (empty: the bucket), as this store addresses it.
  RequestTarget TargetFor(std::string_view key) const;

 private:
  S3ObjectStore(S3Options options, Endpoint endpoint);
  // Deletes up to 1000 keys in one DeleteObjects request.
  Status DeleteBatch(const std::vector<std::string>& keys);

  S3Options options_;
  Endpoint endpoint_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace stereospot::s3
