#include "adapters/s3/s3_url.h"

#include <charconv>

#include "adapters/s3/sigv4.h"

namespace stereospot::s3 {

Result<Endpoint> ParseEndpoint(std::string_view url) {
  Endpoint out;
  std::string_view rest = url;
  if (auto pos = rest.find("://"); pos != std::string_view::npos) {
    out.scheme = std::string(rest.substr(0, pos));
    rest.remove_prefix(pos + 3);
  } else {
    out.scheme = "https";
  }
  if (out.scheme != "http" && out.scheme != "https") {
    return Status::InvalidArgument("S3 endpoint must be http:// or https://: " + std::string(url));
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return Status::InvalidArgument("S3 endpoint must be scheme://host[:port] only: " +
                                   std::string(url));
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view digits = rest.substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out.port);
    if (ec != std::errc() || end != digits.data() + digits.size() || out.port < 1 ||
        out.port > 65535) {
      return Status::InvalidArgument("S3 endpoint has a bad port: " + std::string(url));
    }
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return Status::InvalidArgument("S3 endpoint has no host: " + std::string(url));
  out.host = std::string(rest);
  return out;
}

Status ValidateBucketName(std::string_view bucket) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool ok =
      bucket.size() >= 3 && bucket.size() <= 63 && alnum(bucket.front()) && alnum(bucket.back());
  for (char c : bucket) ok = ok && (alnum(c) || c == '-' || c == '.');
  if (!ok) {
    return Status::InvalidArgument("bad S3 bucket name \"" + std::string(bucket) +
                                   "\": 3 to 63 of a-z 0-9 . -, starting and ending alphanumeric");
  }
  return Status::OK();
}

RequestTarget BuildTarget(const Endpoint& endpoint, std::string_view bucket, bool path_style,
                          std::string_view key,
                          std::vector<std::pair<std::string, std::string>> query) {
  // Built with append(): GCC 12 at -O3 reports a false -Wrestrict on operator+ chains here.
  RequestTarget t;
  if (!path_style) t.host.append(bucket).append(".");
  t.host.append(endpoint.host);
  if (endpoint.port != 0) t.host.append(":").append(std::to_string(endpoint.port));
  t.canonical_path.append("/");
  if (path_style) {
    t.canonical_path.append(bucket);
    if (!key.empty()) t.canonical_path.append("/");
  }
  t.canonical_path.append(UriEncode(key, true));
  t.url.append(endpoint.scheme).append("://").append(t.host).append(t.canonical_path);
  if (!query.empty()) t.url.append("?").append(CanonicalQuery(std::move(query)));
  return t;
}

}  // namespace stereospot::s3
