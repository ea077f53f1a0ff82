#include "server/http_util.h"

#include <charconv>
#include <fstream>

#include <nlohmann/json.hpp>

namespace stereospot::server {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<std::uint64_t> ParseU64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
      return 409;
    case StatusCode::kPermanent:
      return 422;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

std::string ErrorBody(std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ErrorBody(const Status& status) {
  return ErrorBody(StatusCodeName(status.code()), status.message());
}

Result<ByteRange> ParseByteRange(std::string_view header, std::uint64_t size) {
  header = Trim(header);
  constexpr std::string_view kPrefix = "bytes=";
  if (header.substr(0, kPrefix.size()) != kPrefix) {
    return Status::InvalidArgument("Range must be 'bytes=START-END'");
  }
  std::string_view spec = Trim(header.substr(kPrefix.size()));
  if (spec.find(',') != std::string_view::npos) {
    return Status::InvalidArgument("only a single byte range is supported");
  }
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return Status::InvalidArgument("Range has no '-'");
  std::string_view first = Trim(spec.substr(0, dash));
  std::string_view last = Trim(spec.substr(dash + 1));
  ByteRange range;
  if (first.empty()) {  // suffix range: the last N bytes
    auto n = ParseU64(last);
    if (!n || *n == 0) return Status::InvalidArgument("malformed suffix range");
    if (size == 0) return Status::InvalidArgument("range past the end of an empty object");
    range.length = std::min(*n, size);
    range.offset = size - range.length;
    return range;
  }
  auto start = ParseU64(first);
  if (!start) return Status::InvalidArgument("malformed range start");
  if (*start >= size) {
    return Status::InvalidArgument("range starts at " + std::to_string(*start) +
                                   ", past the end (" + std::to_string(size) + " bytes)");
  }
  std::uint64_t end = size - 1;
  if (!last.empty()) {
    auto e = ParseU64(last);
    if (!e || *e < *start) return Status::InvalidArgument("malformed range end");
    end = std::min(*e, size - 1);
  }
  range.offset = *start;
  range.length = end - *start + 1;
  return range;
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  ListenAddress address;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("listen address must be [IPv6]:PORT, got '" +
                                     std::string(text) + "'");
    }
    address.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status::InvalidArgument("listen address must be HOST:PORT, got '" + std::string(text) +
                                     "'");
    }
    address.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  auto value = ParseU64(port);
  if (!value || *value > 65535 || address.host.empty()) {
    return Status::InvalidArgument(
        "listen address must be HOST:PORT with PORT in [0, 65535], "
        "got '" +
        std::string(text) + "'");
  }
  address.port = static_cast<int>(*value);
  return address;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8 in dotted form.
  if (host.substr(0, 4) != "127.") return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // The length leaks, the content does not: every byte of the longer string is visited.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  // Keep the compiler from turning the loop into an early-exit comparison.
  volatile unsigned char result = diff;
  return result == 0;
}

Result<std::vector<std::string>> LoadTokenFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot open token file " + path.string());
  std::vector<std::string> tokens;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string_view token = Trim(line);
    if (token.empty() || token.front() == '#') continue;
    bool printable = true;
    for (char c : token) printable = printable && c > ' ' && c < 127;
    if (!printable || token.size() < 16) {
      return Status::InvalidArgument(path.string() + " line " + std::to_string(number) +
                                     ": a token must be at least 16 printable characters "
                                     "without spaces");
    }
    tokens.emplace_back(token);
  }
  if (tokens.empty()) return Status::InvalidArgument(path.string() + " holds no token");
  return tokens;
}

std::string DownloadName(const Job& job) {
  std::string base;
  for (char c : job.title) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
    if (safe) {
      base.push_back(c);
    } else if (!base.empty() && base.back() != '_') {
      base.push_back('_');
    }
    if (base.size() >= 80) break;
  }
  while (!base.empty() && base.back() == '_') base.pop_back();
  if (base.empty()) base = "stereospot-" + job.job_id.substr(0, 8);
  Layout layout = Layout::kSbs;
  AnaglyphMethod method = AnaglyphMethod::kDubois;
  auto params = ConversionParams::FromJson(job.params);
  if (params.ok()) {
    layout = params->layout;
    method = params->anaglyph;
  }
  return base + LayoutDownloadSuffix(layout, method) + ".mp4";
}

std::optional<std::string> CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view pair = Trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (Trim(pair.substr(0, eq)) == name) return std::string(Trim(pair.substr(eq + 1)));
  }
  return std::nullopt;
}

}  // namespace stereospot::server
