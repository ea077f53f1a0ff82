// ObjectStore: a flat namespace of immutable-once-written byte objects under string keys (a
// directory tree locally, a bucket on S3). DESIGN.md section 3.
//
// Keys are relative, '/'-separated, made of printable ASCII without "." or ".." segments, no
// leading '/', no empty segments, at most 1024 bytes; anything else is kInvalidArgument (keys are
// built by core/object_keys.h, so this is a second line of defence against path tricks; every
// adapter checks them with ValidateObjectKey from core/object_keys.h).
//
// Atomicity: a reader sees a whole object or none. A Put that fails or is interrupted (crash,
// error from the source) leaves the previous object, or no object, never a partial one.
//
// Errors: kNotFound for a missing key on reads; kUnavailable for transient failures (network,
// throttling) that are worth retrying; kIoError for other storage failures; kInvalidArgument
// for bad keys and ranges.
//
// Thread safety: implementations are safe for concurrent use by many threads and processes.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace stereospot {

// Pulls the next bytes of a stream into `buffer`; returns how many were written, 0 at the end, or
// an error that aborts the operation reading from it.
using ByteSource = std::function<Result<std::size_t>(std::span<char> buffer)>;
// Receives consecutive chunks of an object; an error aborts the read.
using ByteSink = std::function<Status(std::string_view chunk)>;

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::int64_t modified_at = 0;  // Unix ms
};

struct ObjectPage {
  std::vector<ObjectInfo> objects;  // in lexical key order
  std::string next_page_token;      // empty on the last page
};

enum class SignedUrlMethod { kGet, kPut };

class ObjectStore {
 public:
  ObjectStore() = default;
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;
  virtual ~ObjectStore() = default;

  // Stores the contents of the local file `source` under `key`, replacing any existing object.
  // The object becomes visible whole or not at all. Repeating the same Put is harmless.
  virtual Status PutFile(std::string_view key, const std::filesystem::path& source) = 0;

  // Stores everything `source` yields until it returns 0. If the source fails, nothing is
  // stored and its error is returned.
  virtual Status PutStream(std::string_view key, const ByteSource& source) = 0;

  // Writes the object to the local file `destination` (replaced atomically; parent directories
  // must exist). kNotFound if there is no such object; then `destination` is untouched.
  virtual Status GetFile(std::string_view key, const std::filesystem::path& destination) = 0;

  // Streams the object into `sink` in order. A sink error stops the read and is returned.
  virtual Status GetStream(std::string_view key, const ByteSink& sink) = 0;

  // Reads up to `length` bytes starting at `offset` (a half-open range [offset, offset+length)
  // clipped to the object's end). An offset at or past the end gives kInvalidArgument, as an
  // unsatisfiable HTTP range would.
  virtual Result<std::string> ReadRange(std::string_view key, std::uint64_t offset,
                                        std::uint64_t length) = 0;

  // Size and modification time; kNotFound if absent.
  virtual Result<ObjectInfo> Head(std::string_view key) = 0;

  // Objects whose keys start with `prefix`, in lexical order, at most `max_keys` (1..1000) per
  // page. Pass the previous page's next_page_token to continue; an empty token starts at the
  // beginning. Objects added or removed between pages may or may not appear, but no object
  // present throughout is skipped or repeated.
  virtual Result<ObjectPage> List(std::string_view prefix, std::string_view page_token,
                                  int max_keys) = 0;

  // Removes the object. Idempotent: deleting a missing key is OK.
  virtual Status Delete(std::string_view key) = 0;

  // Removes every object under `prefix` (which must be non-empty and end in '/') and returns how
  // many were removed. Idempotent.
  virtual Result<std::uint64_t> DeletePrefix(std::string_view prefix) = 0;

  // A URL that lets its holder GET (download) or PUT (upload) this one key without other
  // credentials until `expires_in` has passed (1 s .. 7 days, else kInvalidArgument). The key
  // need not exist yet for kPut. With kGet and a non-empty `download_name` (printable ASCII
  // without '"' or '\\', else kInvalidArgument), a GET through the URL answers with
  // "Content-Disposition: attachment; filename=\"<download_name>\"" where the store can say so
  // (S3 can); the local adapter, whose files this process serves itself, ignores it.
  virtual Result<std::string> SignedUrl(std::string_view key, SignedUrlMethod method,
                                        std::chrono::seconds expires_in,
                                        std::string_view download_name = {}) = 0;
};

}  // namespace stereospot
