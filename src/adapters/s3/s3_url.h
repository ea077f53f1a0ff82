// Where an S3 request goes: the URL, the Host header it implies and the canonical path, for
// path-style (endpoint/bucket/key) or virtual-hosted (bucket.endpoint/key) addressing. Pure
// functions, unit-tested in tests/s3/s3_url_test.cc.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace stereospot::s3 {

struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // host name or IPv4 address, without the port
  int port = 0;        // 0: the scheme's default
};

// "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:4569" or a bare host (https). No path,
// query or user info; kInvalidArgument otherwise.
Result<Endpoint> ParseEndpoint(std::string_view url);

// Bucket names as S3 accepts them: 3..63 of [a-z0-9.-], starting and ending with a letter or
// digit. kInvalidArgument otherwise.
Status ValidateBucketName(std::string_view bucket);

struct RequestTarget {
  std::string url;             // what curl fetches
  std::string host;            // the Host header ("host" or "host:port")
  std::string canonical_path;  // the URL's path, already encoded
};

// The target of a request on `key` (empty: the bucket itself) with query parameters `query`
// (encoded and sorted here, so curl's signature matches what AWS canonicalises).
RequestTarget BuildTarget(const Endpoint& endpoint, std::string_view bucket, bool path_style,
                          std::string_view key,
                          std::vector<std::pair<std::string, std::string>> query = {});

}  // namespace stereospot::s3
