// RAII owners for the libcurl handles of the S3 adapter: easy handles and header lists
// (STYLE.md section 4; OpenSSL is used only through its one-shot EVP_Digest and HMAC calls,
// which hold no context across calls). Each is a std::unique_ptr with a stateless
// deleter, so it costs nothing and the release call is written once. Included only by the
// adapter's .cc files; no public header of the project includes curl or OpenSSL.
#pragma once

#include <memory>
#include <string_view>

#include <curl/curl.h>

#include "core/status.h"

namespace stereospot::s3 {

struct CurlEasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
// One easy handle: one transfer at a time, from one thread at a time.
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// A header list. curl_slist_append returns a new head (or null on allocation failure, leaving
// the old list intact), so the owner re-seats itself on every append.
class CurlHeaders {
 public:
  // False when curl could not allocate the entry (the list is unchanged then).
  [[nodiscard]] bool Append(const char* header) {
    curl_slist* head = curl_slist_append(list_.get(), header);
    if (head == nullptr) return false;
    (void)list_.release();  // now owned by `head`
    list_.reset(head);
    return true;
  }
  curl_slist* get() const { return list_.get(); }

 private:
  std::unique_ptr<curl_slist, CurlSlistDeleter> list_;
};

// curl_global_init, once per process, thread-safely (DESIGN wants it in main; the adapter
// calls this from Open so that it is never forgotten, and a second call is a no-op).
Status EnsureCurlGlobalInit();

// The one place a CURLcode becomes a Status: connection failures, timeouts and dropped
// transfers are kUnavailable (worth retrying), anything else kIoError. `errbuf` is the
// CURLOPT_ERRORBUFFER text (may be empty); `context` names the request ("GET bucket/key").
Status CurlError(std::string_view context, CURLcode code, const char* errbuf);

}  // namespace stereospot::s3
