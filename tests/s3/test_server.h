// The S3 test server started by scripts/test-s3.sh (the ctest fixture s3_server): s3rver behind
// the SigV4-checking proxy. Tests read where it listens from the state file the script writes.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

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

}  // namespace stereospot::s3::testing
