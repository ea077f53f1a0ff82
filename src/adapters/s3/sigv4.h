// AWS Signature Version 4 pieces the S3 adapter computes itself: hashes for the
// x-amz-content-sha256 and Content-MD5 headers, the URI encoding S3 canonicalises with, and
// presigned (query-string signed) URLs, which curl's CURLOPT_AWS_SIGV4 cannot make.
//
// Everything here is a pure function of its arguments (no clock, no I/O), so the presigner is
// unit-tested against the vector published in the AWS documentation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stereospot::s3 {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// Base64 of the MD5 of `data` (the Content-MD5 header, which DeleteObjects requires).
std::string Md5Base64(std::string_view data);
// Raw HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);

// Percent-encodes every byte except A-Z a-z 0-9 - _ . ~ (and '/' with `keep_slash`), with
// upper-case hex: the encoding SigV4 canonicalises to, so a path or query written this way is
// signed exactly as sent.
std::string UriEncode(std::string_view text, bool keep_slash);

// "name=value&..." sorted by encoded name then value, every name and value UriEncode'd, and
// "name=" for a parameter without a value (curl signs the query as written, and AWS
// canonicalises it this way).
std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params);

// ("20130524", "20130524T000000Z") for a Unix time in seconds.
std::pair<std::string, std::string> AmzDate(std::int64_t unix_seconds);

struct PresignRequest {
  std::string method;          // "GET" or "PUT"
  std::string scheme;          // "http" or "https"
  std::string host;            // the Host header the client will send ("h" or "h:port")
  std::string canonical_path;  // already UriEncode'd, starting with '/'
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
  std::string region;
  std::int64_t now_unix_seconds = 0;
  std::int64_t expires_seconds = 0;  // X-Amz-Expires
  // Further query parameters, signed with the rest (e.g. response-content-disposition); raw
  // values, encoded here.
  std::vector<std::pair<std::string, std::string>> extra_query;
};

// scheme://host/path?X-Amz-Algorithm=...&X-Amz-Signature=..., signing only the host header and
// an UNSIGNED-PAYLOAD body (the holder of a PUT URL may send any body).
std::string PresignUrl(const PresignRequest& request);

}  // namespace stereospot::s3
