// The S3 adapter's HTTP layer (internal to src/adapters/s3): one signed request at a time over
// a pool of reusable libcurl handles, and the mapping of S3 error responses onto Status.
//
// Signing is curl's CURLOPT_AWS_SIGV4, used within the limits ../shared/tools/sigv4-proxy's
// README lists for curl 7.88: the x-amz-content-sha256 header is computed and sent here (curl
// does not add it); queries are written sorted and fully encoded and paths encoded with
// upper-case hex (BuildTarget); X-Amz-Date is left to curl; and no header is removed with
// curl's "Name:" syntax, which curl would sign but not send. Request bodies are sent from
// memory (CURLOPT_POSTFIELDS with a custom method), so curl adds no Expect: 100-continue to
// bodies up to 1 MiB; for larger ones it adds the header itself, unsigned and sent, which is
// consistent (it is not among the signed headers) and lets a server refuse a bad request before
// the body is sent.
//
// Thread safety: HttpClient is safe for concurrent use; each call takes a handle from the pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/s3/s3_url.h"
#include "core/result.h"
#include "ports/object_store.h"

namespace stereospot::s3 {

struct HttpSettings {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string region;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::seconds stall_timeout{60};
  int max_attempts = 3;
};

struct HttpRequest {
  const char* method = "GET";  // GET HEAD PUT POST DELETE
  RequestTarget target;
  std::vector<std::string> headers;  // "Name: value"; all are signed
  std::string_view body;             // must outlive Execute
  // When set, a 2xx response body is streamed here instead of into HttpResponse::body.
  const ByteSink* sink = nullptr;
};

struct HttpResponse {
  long status = 0;
  std::string body;                            // non-streamed bodies (capped at 64 MiB)
  std::map<std::string, std::string> headers;  // lower-case names, of the final response
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Maps an S3 error response (status and XML body) onto Status, naming `context`:
//   404 NoSuchKey, NoSuchUpload -> kNotFound; NoSuchBucket -> kIoError (configuration)
//   403 SignatureDoesNotMatch, AccessDenied, InvalidAccessKeyId... -> kPermanent
//   416 -> kInvalidArgument; 429, 5xx, SlowDown, RequestTimeout -> kUnavailable
//   501 -> kIoError (the server lacks the operation); anything else -> kIoError
Status S3Error(const HttpResponse& response, std::string_view context);

// The value of <Code> in an S3 <Error> document, or "" when `body` is not one.
std::string S3ErrorCode(std::string_view body);

class HttpClient {
 public:
  explicit HttpClient(HttpSettings settings);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request`, signed, and returns the response whatever its HTTP status; a Status only
  // for transport failures (CurlError) or a sink error (returned as the sink gave it).
  // Transient failures (connection, timeout, 5xx, 429) are retried up to max_attempts times with
  // back-off, unless part of the body already reached the sink.
  Result<HttpResponse> Execute(const HttpRequest& request);

  const HttpSettings& settings() const { return settings_; }

 private:
  class Handle;
  Result<HttpResponse> ExecuteOnce(const HttpRequest& request, bool* delivered);
  std::unique_ptr<Handle> Acquire();
  void Release(std::unique_ptr<Handle> handle);

  HttpSettings settings_;
  std::string sigv4_param_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;  // guarded by mu_
};

}  // namespace stereospot::s3
