#include "adapters/local/fs_object_store.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/job.h"
#include "core/object_keys.h"

namespace stereospot::local {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kChunkBytes = 1 << 20;

// Owns a file descriptor; closes it on destruction (errors there are ignored: Close() is the
// checked path for descriptors whose close matters).
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&&) = delete;
  UniqueFd(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int Close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

// The one place errno becomes a Status.
Status PosixError(const std::string& context, int err) {
  std::string msg = context + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  if (err == EAGAIN || err == EINTR || err == EBUSY) return Status::Unavailable(msg);
  return Status::IoError(msg);
}

Status WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("write", errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return Status::OK();
}

Status FsyncDir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return PosixError("open directory " + dir.string(), errno);
  if (::fsync(fd.get()) != 0) return PosixError("fsync directory " + dir.string(), errno);
  return Status::OK();
}

// Copies everything from `in` to `out`, both open descriptors.
Status CopyFd(int in, int out) {
  std::vector<char> buf(kChunkBytes);
  while (true) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("read", errno);
    }
    if (n == 0) return Status::OK();
    STEREOSPOT_RETURN_IF_ERROR(WriteAll(out, buf.data(), static_cast<std::size_t>(n)));
  }
}

std::int64_t MtimeMillis(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

Result<std::string> LoadOrCreateSecret(const fs::path& file) {
  std::ifstream in(file);
  std::string secret;
  if (in && std::getline(in, secret) && secret.size() >= 32) return secret;
  secret = RandomHex(32);
  fs::path tmp = file;
  tmp += ".tmp" + RandomHex(4);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return PosixError("create " + tmp.string(), errno);
  std::string line = secret + "\n";
  STEREOSPOT_RETURN_IF_ERROR(WriteAll(fd.get(), line.data(), line.size()));
  if (::fsync(fd.get()) != 0 || fd.Close() != 0) return PosixError("write " + tmp.string(), errno);
  // Two processes racing here both rename a valid secret; re-reading gives the winner's.
  if (::rename(tmp.c_str(), file.c_str()) != 0) return PosixError("rename " + file.string(), errno);
  std::ifstream again(file);
  std::getline(again, secret);
  return secret;
}

const char* MethodName(SignedUrlMethod method) {
  return method == SignedUrlMethod::kGet ? "GET" : "PUT";
}

}  // namespace

Result<std::unique_ptr<FsObjectStore>> FsObjectStore::Open(const fs::path& root,
                                                           FsObjectStoreOptions options) {
  std::error_code ec;
  fs::create_directories(root / "objects", ec);
  if (!ec) fs::create_directories(root / "tmp", ec);
  if (ec) return Status::IoError("create object store at " + root.string() + ": " + ec.message());
  fs::path canonical = fs::canonical(root, ec);
  if (ec) return Status::IoError("resolve " + root.string() + ": " + ec.message());
  STEREOSPOT_ASSIGN_OR_RETURN(std::string secret, LoadOrCreateSecret(canonical / "signing.key"));
  return std::unique_ptr<FsObjectStore>(
      new FsObjectStore(canonical, std::move(secret), std::move(options)));
}

FsObjectStore::FsObjectStore(fs::path root, std::string secret, FsObjectStoreOptions options)
    : root_(std::move(root)),
      objects_(root_ / "objects"),
      tmp_(root_ / "tmp"),
      secret_(std::move(secret)),
      options_(std::move(options)) {}

Result<fs::path> FsObjectStore::PathOf(std::string_view key) const {
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(key));
  fs::path path = (objects_ / fs::path(std::string(key))).lexically_normal();
  // ValidateObjectKey already forbids "..", so this holds by construction; checked anyway
  // because it is the property that keeps user-influenced keys inside the root.
  auto [root_end, unused] = std::mismatch(objects_.begin(), objects_.end(), path.begin());
  (void)unused;
  if (root_end != objects_.end()) {
    return Status::InvalidArgument("object key escapes the store: " + std::string(key));
  }
  return path;
}

Status FsObjectStore::WriteAtomically(std::string_view key,
                                      const std::function<Status(int fd)>& fill) {
  STEREOSPOT_ASSIGN_OR_RETURN(fs::path target, PathOf(key));
  fs::path tmp = tmp_ / (RandomHex(12) + ".part");
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) return PosixError("create " + tmp.string(), errno);
  Status s = fill(fd.get());
  if (s.ok() && ::fsync(fd.get()) != 0) s = PosixError("fsync " + tmp.string(), errno);
  if (s.ok() && fd.Close() != 0) s = PosixError("close " + tmp.string(), errno);
  if (s.ok()) {
    std::error_code ec;
    // A concurrent Delete may remove an empty parent between these two steps; retry once.
    for (int attempt = 0; attempt < 2; ++attempt) {
      fs::create_directories(target.parent_path(), ec);
      if (::rename(tmp.c_str(), target.c_str()) == 0) {
        return FsyncDir(target.parent_path());
      }
      s = PosixError("rename to " + std::string(key), errno);
      if (errno != ENOENT) break;
    }
  }
  ::unlink(tmp.c_str());
  return s;
}

Status FsObjectStore::PutFile(std::string_view key, const fs::path& source) {
  UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return PosixError("open " + source.string(), errno);
  return WriteAtomically(key, [&](int out) { return CopyFd(in.get(), out); });
}

Status FsObjectStore::PutStream(std::string_view key, const ByteSource& source) {
  return WriteAtomically(key, [&](int out) -> Status {
    std::vector<char> buf(kChunkBytes);
    while (true) {
      STEREOSPOT_ASSIGN_OR_RETURN(std::size_t n, source(std::span<char>(buf)));
      if (n == 0) return Status::OK();
      if (n > buf.size()) return Status::Internal("byte source overran its buffer");
      STEREOSPOT_RETURN_IF_ERROR(WriteAll(out, buf.data(), n));
    }
  });
}

Status FsObjectStore::GetFile(std::string_view key, const fs::path& destination) {
  STEREOSPOT_ASSIGN_OR_RETURN(fs::path path, PathOf(key));
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return PosixError("object " + std::string(key), errno);
  fs::path tmp = destination;
  tmp += "." + RandomHex(6) + ".part";
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (out.get() < 0) return PosixError("create " + tmp.string(), errno);
  Status s = CopyFd(in.get(), out.get());
  if (s.ok() && out.Close() != 0) s = PosixError("close " + tmp.string(), errno);
  if (s.ok() && ::rename(tmp.c_str(), destination.c_str()) != 0) {
    s = PosixError("rename to " + destination.string(), errno);
  }
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Status FsObjectStore::GetStream(std::string_view key, const ByteSink& sink) {
  STEREOSPOT_ASSIGN_OR_RETURN(fs::path path, PathOf(key));
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return PosixError("object " + std::string(key), errno);
  std::vector<char> buf(kChunkBytes);
  while (true) {
    ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("read " + std::string(key), errno);
    }
    if (n == 0) return Status::OK();
    STEREOSPOT_RETURN_IF_ERROR(sink(std::string_view(buf.data(), static_cast<std::size_t>(n))));
  }
}

Result<std::string> FsObjectStore::ReadRange(std::string_view key, std::uint64_t offset,
                                             std::uint64_t length) {
  STEREOSPOT_ASSIGN_OR_RETURN(fs::path path, PathOf(key));
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return PosixError("object " + std::string(key), errno);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) return PosixError("stat " + std::string(key), errno);
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (offset >= size) {
    return Status::InvalidArgument("range starts at " + std::to_string(offset) +
                                   ", past the object's end (" + std::to_string(size) + " bytes)");
  }
  std::uint64_t n = std::min(length, size - offset);
  std::string out(n, '\0');
  std::uint64_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(in.get(), out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return PosixError("read " + std::string(key), errno);
    }
    if (got == 0) break;
    done += static_cast<std::uint64_t>(got);
  }
  out.resize(done);
  return out;
}

Result<ObjectInfo> FsObjectStore::Head(std::string_view key) {
  STEREOSPOT_ASSIGN_OR_RETURN(fs::path path, PathOf(key));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return PosixError("object " + std::string(key), errno);
  if (!S_ISREG(st.st_mode)) return Status::NotFound("object " + std::string(key) + ": not found");
  return ObjectInfo{std::string(key), static_cast<std::uint64_t>(st.st_size), MtimeMillis(st)};
}

Result<ObjectPage> FsObjectStore::List(std::string_view prefix, std::string_view page_token,
                                       int max_keys) {
  if (max_keys < 1 || max_keys > 1000)
    return Status::InvalidArgument("max_keys must be in [1, 1000]");
  if (!prefix.empty()) STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(prefix, true));
  // Walk only the deepest directory the prefix names completely.
  std::string_view dir_part =
      prefix.substr(0, prefix.rfind('/') == std::string_view::npos ? 0 : prefix.rfind('/') + 1);
  fs::path start = objects_ / fs::path(std::string(dir_part));
  std::vector<ObjectInfo> matches;
  std::error_code ec;
  if (fs::is_directory(start, ec)) {
    for (auto it = fs::recursive_directory_iterator(start, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string key = it->path().lexically_relative(objects_).generic_string();
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      if (!page_token.empty() && key <= page_token) continue;
      struct stat st {};
      if (::stat(it->path().c_str(), &st) != 0) continue;  // deleted meanwhile
      matches.push_back({std::move(key), static_cast<std::uint64_t>(st.st_size), MtimeMillis(st)});
    }
    // A directory removed by a concurrent Delete ends the walk of that branch, not the List.
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Status::IoError("list " + std::string(prefix) + ": " + ec.message());
    }
  }
  std::sort(matches.begin(), matches.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  ObjectPage page;
  if (matches.size() > static_cast<std::size_t>(max_keys)) {
    matches.resize(static_cast<std::size_t>(max_keys));
    page.next_page_token = matches.back().key;
  }
  page.objects = std::move(matches);
  return page;
}

Status FsObjectStore::Delete(std::string_view key) {
  STEREOSPOT_ASSIGN_OR_RETURN(fs::path path, PathOf(key));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return PosixError("delete " + std::string(key), errno);
  }
  // Remove directories left empty, up to the root; rmdir fails harmlessly on a non-empty one.
  for (fs::path dir = path.parent_path(); dir != objects_ && dir.has_parent_path();
       dir = dir.parent_path()) {
    if (::rmdir(dir.c_str()) != 0) break;
  }
  return Status::OK();
}

Result<std::uint64_t> FsObjectStore::DeletePrefix(std::string_view prefix) {
  if (prefix.empty() || prefix.back() != '/') {
    return Status::InvalidArgument("a delete prefix must be non-empty and end in '/'");
  }
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(prefix, true));
  std::uint64_t deleted = 0;
  std::string token;
  while (true) {
    STEREOSPOT_ASSIGN_OR_RETURN(ObjectPage page, List(prefix, token, 1000));
    for (const auto& object : page.objects) {
      STEREOSPOT_RETURN_IF_ERROR(Delete(object.key));
      ++deleted;
    }
    if (page.next_page_token.empty()) break;
    token = page.next_page_token;
  }
  return deleted;
}

std::string FsObjectStore::Sign(SignedUrlMethod method, std::string_view key,
                                std::int64_t expires_at) const {
  std::string payload =
      std::string(MethodName(method)) + "\n" + std::string(key) + "\n" + std::to_string(expires_at);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &mac_len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < mac_len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xF]);
  }
  return hex;
}

Result<std::string> FsObjectStore::SignedUrl(std::string_view key, SignedUrlMethod method,
                                             std::chrono::seconds expires_in,
                                             std::string_view download_name) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(key));
  STEREOSPOT_RETURN_IF_ERROR(ValidateDownloadName(download_name));
  if (expires_in.count() < 1 || expires_in.count() > 7 * 24 * 3600) {
    return Status::InvalidArgument("signed URL expiry must be in [1 s, 7 days]");
  }
  std::int64_t expires_at = NowMillis() / 1000 + expires_in.count();
  return options_.base_url + "/api/v1/objects/" + std::string(key) +
         "?method=" + MethodName(method) + "&expires=" + std::to_string(expires_at) +
         "&signature=" + Sign(method, key, expires_at);
}

Status FsObjectStore::VerifySignedUrl(SignedUrlMethod method, std::string_view key,
                                      std::int64_t expires_at, std::string_view signature) const {
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(key));
  std::string expected = Sign(method, key, expires_at);
  if (signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return Status::InvalidArgument("signed URL signature does not match");
  }
  if (NowMillis() / 1000 >= expires_at) return Status::Permanent("signed URL has expired");
  return Status::OK();
}

}  // namespace stereospot::local
