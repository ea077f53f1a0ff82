// The S3 test server started by scripts/test-s3.sh (the ctest fixture s3_server): s3rver behind
// the SigV4-checking proxy. Tests read where it listens from the state file the script writes.
#pragma once

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/s3/curl_handles.h"
#include "adapters/s3/s3_object_store.h"
#include "core/ids.h"

namespace stereospot::s3::testing {

inline constexpr char kHowToRun[] =
    "the S3 test server is not running. ctest starts it (fixture s3_server, "
    "scripts/test-s3.sh); it needs nodejs and `npm ci` in tests/s3 (scripts/install-deps.sh "
    "does both). To run a test binary by hand: scripts/test-s3.sh start " S3_TEST_STATE_FILE;

// KEY=VALUE lines of the state file; empty when the server is not running.
inline std::map<std::string, std::string> ServerState() {
  std::map<std::string, std::string> out;
  std::ifstream in(S3_TEST_STATE_FILE);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

// Options for a fresh bucket on the test server (through the proxy unless `direct`).
inline S3Options TestOptions(bool direct = false) {
  auto state = ServerState();
  S3Options options;
  options.endpoint = state[direct ? "S3_TEST_DIRECT_ENDPOINT" : "S3_TEST_ENDPOINT"];
  options.region = state["S3_TEST_REGION"];
  options.access_key_id = state["S3_TEST_ACCESS_KEY"];
  options.secret_access_key = state["S3_TEST_SECRET_KEY"];
  options.bucket = "t" + RandomHex(8);
  return options;
}

// Opens a store on a new, empty bucket; fails the test (never skips) when the server is absent.
inline std::unique_ptr<S3ObjectStore> NewStoreOnFreshBucket(S3Options options) {
  if (options.endpoint.empty()) {
    ADD_FAILURE() << kHowToRun;
    return nullptr;
  }
  auto store = S3ObjectStore::Open(options);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  Status created = (*store)->CreateBucket();
  if (!created.ok()) {
    ADD_FAILURE() << created.ToString() << " (" << kHowToRun << ")";
    return nullptr;
  }
  return std::move(*store);
}

// The files of the multipart uploads of `bucket` that s3rver holds as in progress: s3rver 3.7.1
// keeps each in <data>/<bucket>/._S3rver_uploads/<upload id>/ ("key", "metadata", one file per
// part) until it is completed, and it has no ListMultipartUploads or ListParts to ask instead.
// Sorted names, e.g. {"1", "2", "3", "key", "metadata"}.
inline std::vector<std::string> PendingUploadFiles(const std::string& bucket) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  fs::path uploads = fs::path(ServerState()["S3_TEST_DIR"]) / "data" / bucket / "._S3rver_uploads";
  std::error_code ec;
  for (fs::recursive_directory_iterator it(uploads, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file()) names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct HttpResult {
  long status = 0;
  std::string body;
  std::string etag;
  std::string disposition;  // Content-Disposition
  std::string location;     // Location, as sent (httplib's client decodes it, so tests use this)
};

// A plain libcurl request with no signing of its own, as a browser or `curl URL` would send.
// `headers`: extra request lines such as "Range: bytes=0-9".
inline HttpResult Fetch(const std::string& url, const std::string* put_body = nullptr,
                        const std::vector<std::string>& headers = {}) {
  HttpResult result;
  CurlEasy curl(curl_easy_init());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  CurlHeaders header_list;
  for (const std::string& header : headers) EXPECT_TRUE(header_list.Append(header.c_str()));
  if (!headers.empty()) curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(
      curl.get(), CURLOPT_WRITEFUNCTION,
      +[](char* data, std::size_t size, std::size_t count, void* user) {
        static_cast<std::string*>(user)->append(data, size * count);
        return size * count;
      });
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(
      curl.get(), CURLOPT_HEADERFUNCTION,
      +[](char* data, std::size_t size, std::size_t count, void* user) {
        std::string line(data, size * count);
        auto* out = static_cast<HttpResult*>(user);
        std::string lower = line;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower.rfind("etag:", 0) == 0) out->etag = line.substr(5);
        auto value = [&line](std::size_t name_length) {
          std::string v = line.substr(name_length);
          while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
          while (!v.empty() && v.front() == ' ') v.erase(0, 1);
          return v;
        };
        if (lower.rfind("content-disposition:", 0) == 0) out->disposition = value(20);
        if (lower.rfind("location:", 0) == 0) out->location = value(9);
        return size * count;
      });
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &result);
  if (put_body != nullptr) {
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, put_body->data());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(put_body->size()));
  }
  CURLcode code = curl_easy_perform(curl.get());
  EXPECT_EQ(code, CURLE_OK) << curl_easy_strerror(code);
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

}  // namespace stereospot::s3::testing
