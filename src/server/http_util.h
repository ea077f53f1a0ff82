// Pure helpers of the HTTP server, kept free of the HTTP library so they are cheap to compile
// and unit-test: error mapping, byte ranges, listen addresses, tokens, download names.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/conversion_params.h"
#include "core/job.h"
#include "core/result.h"

namespace stereospot::server {

// The HTTP status for an error Status: kInvalidArgument 400, kNotFound 404, kAlreadyExists and
// kConflict 409, kPermanent 422, kUnavailable 503, everything else 500.
int HttpStatusFor(const Status& status);

// The API's error body: {"error": {"code": "<code>", "message": "<message>"}}.
std::string ErrorBody(std::string_view code, std::string_view message);
std::string ErrorBody(const Status& status);

// A satisfiable single byte range [offset, offset + length) of an object of `size` bytes.
struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// Parses an HTTP Range header ("bytes=0-99", "bytes=100-", "bytes=-500") against an object of
// `size` bytes; the end is clipped to the object. Multiple ranges, other units, malformed
// numbers and ranges that start at or past the end are kInvalidArgument (answered with 416).
Result<ByteRange> ParseByteRange(std::string_view header, std::uint64_t size);

struct ListenAddress {
  std::string host;
  int port = 0;
};
// "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80"; port 0 asks the OS for a free port.
Result<ListenAddress> ParseListenAddress(std::string_view text);
// True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost.
bool IsLoopbackHost(std::string_view host);

// Compares in time independent of where the strings differ (tokens, session ids).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// API tokens from a file: one per line; blank lines and lines starting with '#' are skipped.
// Each token must be at least 16 printable, non-space ASCII characters (kInvalidArgument
// otherwise, naming the line); kNotFound for a missing file.
Result<std::vector<std::string>> LoadTokenFile(const std::filesystem::path& path);

// The file name a download gets: the job's title made safe ([A-Za-z0-9_-], at most 80
// characters; "stereospot-<first 8 of id>" when nothing is left) plus the layout suffix players
// recognise and ".mp4" ("holiday_LRF_Full_SBS.mp4").
std::string DownloadName(const Job& job);

// The value of cookie `name` in a Cookie header, or nullopt.
std::optional<std::string> CookieValue(std::string_view header, std::string_view name);

}  // namespace stereospot::server
