#include "adapters/s3/s3_http.h"

#include <algorithm>
#include <cctype>
#include <thread>

#include <pugixml.hpp>

#include "adapters/s3/curl_handles.h"
#include "adapters/s3/sigv4.h"

namespace stereospot::s3 {
namespace {

constexpr std::size_t kMaxBufferedBody = 64u << 20;

bool Retryable(long status) { return status == 429 || status >= 500; }

struct Transfer {
  CURL* curl = nullptr;
  HttpResponse* response = nullptr;
  const ByteSink* sink = nullptr;
  Status sink_status;
  bool delivered = false;
  bool overflow = false;
};

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  // Each response (a 100 Continue, then the final one) starts with its status line.
  if (line.starts_with("HTTP/")) {
    t->response->headers.clear();
    return size * count;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  t->response->headers[name] = std::string(value);
  return size * count;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->sink != nullptr && status >= 200 && status < 300) {
    t->delivered = true;
    t->sink_status = (*t->sink)(std::string_view(data, n));
    return t->sink_status.ok() ? n : 0;  // 0 makes curl stop with CURLE_WRITE_ERROR
  }
  if (t->response->body.size() + n > kMaxBufferedBody) {
    t->overflow = true;
    return 0;
  }
  t->response->body.append(data, n);
  return n;
}

}  // namespace

Status EnsureCurlGlobalInit() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) return CurlError("curl_global_init", code, nullptr);
  return Status::OK();
}

Status CurlError(std::string_view context, CURLcode code, const char* errbuf) {
  std::string msg = std::string(context) + ": " + curl_easy_strerror(code);
  if (errbuf != nullptr && errbuf[0] != '\0') msg += " (" + std::string(errbuf) + ")";
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_AGAIN:
      return Status::Unavailable(msg);
    default:
      return Status::IoError(msg);
  }
}

std::string S3ErrorCode(std::string_view body) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return "";
  return doc.child("Error").child_value("Code");
}

Status S3Error(const HttpResponse& response, std::string_view context) {
  std::string code;
  std::string message;
  pugi::xml_document doc;
  if (!response.body.empty() && doc.load_buffer(response.body.data(), response.body.size())) {
    code = doc.child("Error").child_value("Code");
    message = doc.child("Error").child_value("Message");
  }
  std::string msg = std::string(context) + ": HTTP " + std::to_string(response.status);
  if (!code.empty()) msg += " " + code;
  if (!message.empty()) msg += ": " + message;
  long s = response.status;
  if (code == "SignatureDoesNotMatch" || (s == 403 && code.empty())) {
    return Status::Permanent(msg +
                             " (signature mismatch or access denied: check the access key id, "
                             "secret access key and region)");
  }
  if (code == "NoSuchBucket") return Status::IoError(msg + " (the configured bucket is missing)");
  if (code == "SlowDown" || code == "RequestTimeout" || code == "InternalError" || Retryable(s)) {
    if (s != 501) return Status::Unavailable(msg);
  }
  if (s == 404) return Status::NotFound(msg);
  if (s == 403 || code == "InvalidAccessKeyId" || code == "RequestTimeTooSkewed") {
    return Status::Permanent(msg);
  }
  if (s == 416) return Status::InvalidArgument(msg);
  return Status::IoError(msg);
}

class HttpClient::Handle {
 public:
  CurlEasy curl{curl_easy_init()};
  char errbuf[CURL_ERROR_SIZE] = {};
};

HttpClient::HttpClient(HttpSettings settings)
    : settings_(std::move(settings)), sigv4_param_("aws:amz:" + settings_.region + ":s3") {}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Handle> HttpClient::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  return std::make_unique<Handle>();
}

void HttpClient::Release(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(handle));
}

Result<HttpResponse> HttpClient::Execute(const HttpRequest& request) {
  std::chrono::milliseconds backoff{100};
  for (int attempt = 1;; ++attempt) {
    bool delivered = false;
    Result<HttpResponse> result = ExecuteOnce(request, &delivered);
    bool transient = result.ok() ? Retryable(result->status) : result.status().IsUnavailable();
    if (!transient || delivered || attempt >= settings_.max_attempts) return result;
    std::this_thread::sleep_for(backoff);
    backoff *= 4;
  }
}

Result<HttpResponse> HttpClient::ExecuteOnce(const HttpRequest& request, bool* delivered) {
  std::string context = std::string(request.method) + " " + request.target.canonical_path;
  std::unique_ptr<Handle> handle = Acquire();
  if (handle->curl == nullptr) return Status::Internal("curl_easy_init failed");
  CURL* curl = handle->curl.get();
  // Reset drops the previous request's options but keeps the connection cache.
  curl_easy_reset(curl);
  handle->errbuf[0] = '\0';

  CurlHeaders headers;
  bool ok = headers.Append(("x-amz-content-sha256: " + Sha256Hex(request.body)).c_str());
  if (!settings_.session_token.empty()) {
    ok = ok && headers.Append(("x-amz-security-token: " + settings_.session_token).c_str());
  }
  for (const auto& h : request.headers) ok = ok && headers.Append(h.c_str());
  if (!ok) return Status::Internal("curl_slist_append failed");

  HttpResponse response;
  Transfer transfer{curl, &response, request.sink, Status::OK(), false, false};
  curl_easy_setopt(curl, CURLOPT_URL, request.target.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, handle->errbuf);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_param_.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, settings_.access_key_id.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, settings_.secret_access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(settings_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(settings_.stall_timeout.count()));
  // Larger receive buffers mean fewer sink calls (and write()s in GetFile) than curl's 16 KiB.
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  std::string_view method = request.method;
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT" || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    // A null POSTFIELDS would make curl read the body from stdin instead.
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method);
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method);
  }

  CURLcode code = curl_easy_perform(curl);
  *delivered = transfer.delivered;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  Status failure;
  if (!transfer.sink_status.ok()) {
    failure = transfer.sink_status;
  } else if (transfer.overflow) {
    failure = Status::IoError(context + ": response body over 64 MiB");
  } else if (code != CURLE_OK) {
    failure = CurlError(context, code, handle->errbuf);
  }
  // A handle whose transfer failed may hold a broken connection; curl drops those itself, so
  // the handle is still fine to reuse.
  Release(std::move(handle));
  if (!failure.ok()) return failure;
  return response;
}

}  // namespace stereospot::s3
