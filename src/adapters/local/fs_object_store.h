// The embedded ObjectStore on a local directory (see ports/object_store.h for the contract).
//
// Layout: <root>/objects/<key> holds each object, <root>/tmp/ the files being written. A write
// goes to a temp file, is fsync'ed, renamed over its key and the directory fsync'ed, so a
// reader or a crash sees the whole old object, the whole new one, or none. Keys are checked
// with ValidateObjectKey and the resolved path must stay under <root>/objects, so no key can
// reach outside the root.
//
// Signed URLs point at the HTTP server (`base_url`), carry an expiry and an HMAC-SHA256 of
// method, key and expiry under a secret kept in <root>/signing.key (0600), and are checked by
// VerifySignedUrl.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "ports/object_store.h"

namespace stereospot::local {

struct FsObjectStoreOptions {
  std::string base_url = "http://127.0.0.1:8080";  // where signed URLs point
};

class FsObjectStore final : public ObjectStore {
 public:
  // Creates the directories under `root` as needed and loads or makes the signing secret.
  static Result<std::unique_ptr<FsObjectStore>> Open(const std::filesystem::path& root,
                                                     FsObjectStoreOptions options = {});

  Status PutFile(std::string_view key, const std::filesystem::path& source) override;
  Status PutStream(std::string_view key, const ByteSource& source) override;
  Status GetFile(std::string_view key, const std::filesystem::path& destination) override;
  Status GetStream(std::string_view key, const ByteSink& sink) override;
  Result<std::string> ReadRange(std::string_view key, std::uint64_t offset,
                                std::uint64_t length) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<ObjectPage> List(std::string_view prefix, std::string_view page_token,
                          int max_keys) override;
  Status Delete(std::string_view key) override;
  Result<std::uint64_t> DeletePrefix(std::string_view prefix) override;
  Result<std::string> SignedUrl(std::string_view key, SignedUrlMethod method,
                                std::chrono::seconds expires_in,
                                std::string_view download_name = {}) override;

  // Checks a signed URL's parts: OK when `signature` is the one SignedUrl made for this method,
  // key and expiry and `expires_at` (Unix seconds) has not passed; kInvalidArgument when
  // tampered or malformed, kPermanent when expired. The signature is compared in constant time.
  Status VerifySignedUrl(SignedUrlMethod method, std::string_view key, std::int64_t expires_at,
                         std::string_view signature) const;

  // The local file of an object, for serving it with sendfile-like APIs. Checked like any key.
  Result<std::filesystem::path> PathOf(std::string_view key) const;

 private:
  FsObjectStore(std::filesystem::path root, std::string secret, FsObjectStoreOptions options);
  // Writes `fill`'s output to a temp file, fsyncs it and renames it over `key`.
  Status WriteAtomically(std::string_view key, const std::function<Status(int fd)>& fill);
  std::string Sign(SignedUrlMethod method, std::string_view key, std::int64_t expires_at) const;

  std::filesystem::path root_;
  std::filesystem::path objects_;
  std::filesystem::path tmp_;
  std::string secret_;
  FsObjectStoreOptions options_;
};

}  // namespace stereospot::local
