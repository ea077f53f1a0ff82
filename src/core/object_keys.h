// Object keys of DESIGN.md section 3: one builder and one parser per kind.
//
//   input/{job_id}/source.{ext}                                          upload
//   segments/{job_id}/{segment_index:05d}_{total_segments:05d}_{mode}.mp4 chunker
//   jobs/{job_id}/segments/{segment_index:05d}.mp4                        video worker
//   jobs/{job_id}/final.mp4                                               reassembler
//
// Builders validate their inputs (job id a canonical UUIDv4, 0 <= index < total <= 99999, mode a
// layout name, ext 1-8 of [a-z0-9]) and return kInvalidArgument otherwise, so no key is ever
// built from unvalidated input. Parsers return nullopt for anything that is not exactly a key of
// their kind and never throw. Zero padding makes lexical order equal index order.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/conversion_params.h"
#include "core/result.h"

namespace stereospot {

inline constexpr int kMaxSegments = 99999;

struct SourceKey {
  std::string job_id;
  std::string ext;  // without the dot, lower case
};
struct SegmentKey {
  std::string job_id;
  int segment_index = 0;  // zero-based, < total_segments
  int total_segments = 0;
  Layout mode = Layout::kSbs;
};
struct OutputSegmentKey {
  std::string job_id;
  int segment_index = 0;
};

Result<std::string> BuildSourceKey(std::string_view job_id, std::string_view ext);
std::optional<SourceKey> ParseSourceKey(std::string_view key);

Result<std::string> BuildSegmentKey(std::string_view job_id, int segment_index, int total_segments,
                                    Layout mode);
std::optional<SegmentKey> ParseSegmentKey(std::string_view key);

Result<std::string> BuildOutputSegmentKey(std::string_view job_id, int segment_index);
std::optional<OutputSegmentKey> ParseOutputSegmentKey(std::string_view key);

Result<std::string> BuildFinalKey(std::string_view job_id);
// The job id of a final key.
std::optional<std::string> ParseFinalKey(std::string_view key);

// Prefixes for listing and deleting one job's objects ("segments/{job_id}/").
Result<std::string> InputPrefix(std::string_view job_id);
Result<std::string> SegmentsPrefix(std::string_view job_id);
Result<std::string> JobOutputPrefix(std::string_view job_id);

// The general rule for any object key, whatever its kind (ports/object_store.h): relative,
// '/'-separated, printable ASCII, no "." or ".." or empty segments, at most 1024 bytes.
// kInvalidArgument otherwise. With `allow_trailing_slash` a prefix ending in '/' passes.
Status ValidateObjectKey(std::string_view key, bool allow_trailing_slash = false);

// A file name a signed download URL may ask the store to send in Content-Disposition: empty
// (none), or at most 255 printable ASCII characters without '"', '\\' or '/'. kInvalidArgument
// otherwise, so no header can be forged through it.
Status ValidateDownloadName(std::string_view name);

}  // namespace stereospot
