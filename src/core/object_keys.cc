#include "core/object_keys.h"

#include <charconv>
#include <cstdio>

#include "core/ids.h"

namespace stereospot {
namespace {

Status CheckJobId(std::string_view job_id) {
  if (!IsValidJobId(job_id)) {
    return Status::InvalidArgument("not a job id (canonical UUIDv4 expected): '" +
                                   std::string(job_id.substr(0, 64)) + "'");
  }
  return Status::OK();
}

bool IsValidExt(std::string_view ext) {
  if (ext.empty() || ext.size() > 8) return false;
  for (char c : ext) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string Pad5(int value) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%05d", value);
  return buf;
}

// Exactly five decimal digits.
std::optional<int> ParsePad5(std::string_view digits) {
  if (digits.size() != 5) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int value = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return value;
}

// Splits "{prefix}{job_id}/{rest}" and checks the job id; nullopt when it does not fit.
std::optional<std::pair<std::string_view, std::string_view>> SplitJobKey(std::string_view key,
                                                                         std::string_view prefix) {
  if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
  key.remove_prefix(prefix.size());
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view job_id = key.substr(0, slash);
  if (!IsValidJobId(job_id)) return std::nullopt;
  return std::make_pair(job_id, key.substr(slash + 1));
}

}  // namespace

Result<std::string> BuildSourceKey(std::string_view job_id, std::string_view ext) {
  STEREOSPOT_RETURN_IF_ERROR(CheckJobId(job_id));
  if (!IsValidExt(ext)) {
    return Status::InvalidArgument("source extension must be 1-8 characters of a-z, 0-9: '" +
                                   std::string(ext.substr(0, 16)) + "'");
  }
  return "input/" + std::string(job_id) + "/source." + std::string(ext);
}

std::optional<SourceKey> ParseSourceKey(std::string_view key) {
  auto parts = SplitJobKey(key, "input/");
  if (!parts) return std::nullopt;
  std::string_view rest = parts->second;
  constexpr std::string_view kStem = "source.";
  if (rest.substr(0, kStem.size()) != kStem) return std::nullopt;
  std::string_view ext = rest.substr(kStem.size());
  if (!IsValidExt(ext)) return std::nullopt;
  return SourceKey{std::string(parts->first), std::string(ext)};
}

Result<std::string> BuildSegmentKey(std::string_view job_id, int segment_index, int total_segments,
                                    Layout mode) {
  STEREOSPOT_RETURN_IF_ERROR(CheckJobId(job_id));
  if (total_segments < 1 || total_segments > kMaxSegments) {
    return Status::InvalidArgument("total_segments must be in [1, 99999], got " +
                                   std::to_string(total_segments));
  }
  if (segment_index < 0 || segment_index >= total_segments) {
    return Status::InvalidArgument("segment_index must be in [0, total_segments), got " +
                                   std::to_string(segment_index));
  }
  return "segments/" + std::string(job_id) + "/" + Pad5(segment_index) + "_" +
         Pad5(total_segments) + "_" + std::string(LayoutName(mode)) + ".mp4";
}

std::optional<SegmentKey> ParseSegmentKey(std::string_view key) {
  auto parts = SplitJobKey(key, "segments/");
  if (!parts) return std::nullopt;
  std::string_view name = parts->second;  // 00003_00042_sbs.mp4
  constexpr std::string_view kExt = ".mp4";
  if (name.size() < 12 + kExt.size() + 1 || name.substr(name.size() - kExt.size()) != kExt) {
    return std::nullopt;
  }
  if (name[5] != '_' || name[11] != '_') return std::nullopt;
  auto index = ParsePad5(name.substr(0, 5));
  auto total = ParsePad5(name.substr(6, 5));
  auto mode = ParseLayout(name.substr(12, name.size() - 12 - kExt.size()));
  if (!index || !total || !mode) return std::nullopt;
  if (*total < 1 || *index >= *total) return std::nullopt;
  return SegmentKey{std::string(parts->first), *index, *total, *mode};
}

Result<std::string> BuildOutputSegmentKey(std::string_view job_id, int segment_index) {
  STEREOSPOT_RETURN_IF_ERROR(CheckJobId(job_id));
  if (segment_index < 0 || segment_index >= kMaxSegments) {
    return Status::InvalidArgument("segment_index must be in [0, 99999), got " +
                                   std::to_string(segment_index));
  }
  return "jobs/" + std::string(job_id) + "/segments/" + Pad5(segment_index) + ".mp4";
}

std::optional<OutputSegmentKey> ParseOutputSegmentKey(std::string_view key) {
  auto parts = SplitJobKey(key, "jobs/");
  if (!parts) return std::nullopt;
  std::string_view rest = parts->second;  // segments/00003.mp4
  constexpr std::string_view kDir = "segments/";
  if (rest.size() != kDir.size() + 9 || rest.substr(0, kDir.size()) != kDir ||
      rest.substr(kDir.size() + 5) != ".mp4") {
    return std::nullopt;
  }
  auto index = ParsePad5(rest.substr(kDir.size(), 5));
  if (!index || *index >= kMaxSegments) return std::nullopt;
  return OutputSegmentKey{std::string(parts->first), *index};
}

Result<std::string> BuildFinalKey(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckJobId(job_id));
  return "jobs/" + std::string(job_id) + "/final.mp4";
}

std::optional<std::string> ParseFinalKey(std::string_view key) {
  auto parts = SplitJobKey(key, "jobs/");
  if (!parts || parts->second != "final.mp4") return std::nullopt;
  return std::string(parts->first);
}

Result<std::string> InputPrefix(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckJobId(job_id));
  return "input/" + std::string(job_id) + "/";
}

Result<std::string> SegmentsPrefix(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckJobId(job_id));
  return "segments/" + std::string(job_id) + "/";
}

Result<std::string> JobOutputPrefix(std::string_view job_id) {
  STEREOSPOT_RETURN_IF_ERROR(CheckJobId(job_id));
  return "jobs/" + std::string(job_id) + "/";
}

Status ValidateObjectKey(std::string_view key, bool allow_trailing_slash) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("invalid object key '" + std::string(key.substr(0, 128)) +
                                   "': " + why);
  };
  if (key.empty()) return bad("empty");
  if (key.size() > 1024) return bad("longer than 1024 bytes");
  if (key.front() == '/') return bad("absolute");
  for (char c : key) {
    if (c < 0x21 || c > 0x7e || c == '\\') return bad("control, space, non-ASCII or backslash");
  }
  std::string_view rest = key;
  if (allow_trailing_slash && rest.back() == '/') rest.remove_suffix(1);
  while (true) {
    auto slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty()) return bad("empty path segment");
    if (segment == "." || segment == "..") return bad("'.' or '..' segment");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return Status::OK();
}

Status ValidateDownloadName(std::string_view name) {
  if (name.size() > 255) {
    return Status::InvalidArgument("download name longer than 255 characters");
  }
  for (char c : name) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '/') {
      return Status::InvalidArgument("download name '" + std::string(name.substr(0, 64)) +
                                     "' holds a character other than printable ASCII, or one of "
                                     "'\"', '\\', '/'");
    }
  }
  return Status::OK();
}

}  // namespace stereospot
