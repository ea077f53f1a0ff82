#include "adapters/s3/s3_object_store.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <limits>

#include <fcntl.h>
#include <pugixml.hpp>
#include <unistd.h>

#include "adapters/s3/curl_handles.h"
#include "adapters/s3/s3_http.h"
#include "adapters/s3/s3_multipart.h"
#include "adapters/s3/sigv4.h"
#include "core/ids.h"
#include "core/object_keys.h"

namespace stereospot::s3 {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kMaxPartSize = 5ull << 30;
constexpr std::size_t kReadChunk = 1u << 20;
constexpr std::int64_t kMaxSignedUrlSeconds = 7 * 24 * 3600;

// Owns a file descriptor (the local store's UniqueFd, reduced to what this file needs).
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Close() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd);
  }

 private:
  int fd_;
};

Status PosixError(const std::string& context, int err) {
  std::string msg = context + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  return Status::IoError(msg);
}

// "Mon, 23 Nov 2026 17:23:47 GMT" (Last-Modified) or "2026-11-23T17:24:09.000Z" (listings) to
// Unix ms; 0 when unparsable.
std::int64_t ParseTime(const std::string& text, const char* format) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), format, &tm);
  if (end == nullptr) return 0;
  std::int64_t ms = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  if (*end == '.') ms += std::atoi(end + 1) % 1000;
  return ms;
}

// Everything `source` yields up to `limit` bytes, grown a chunk at a time so that a small
// object costs no part-sized buffer. Stops early only at the source's end.
Result<std::string> ReadUpTo(const ByteSource& source, std::uint64_t limit) {
  std::string out;
  while (out.size() < limit) {
    std::size_t old = out.size();
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kReadChunk, limit - old));
    std::string chunk(want, '\0');
    STEREOSPOT_ASSIGN_OR_RETURN(std::size_t n, ReadFull(source, chunk));
    out.append(chunk.data(), n);
    if (n < want) break;
  }
  return out;
}

std::string XmlText(const pugi::xml_document& doc) {
  struct Writer final : pugi::xml_writer {
    std::string out;
    void write(const void* data, std::size_t size) override {
      out.append(static_cast<const char*>(data), size);
    }
  } writer;
  doc.save(writer, "", pugi::format_raw);
  return writer.out;
}

}  // namespace

Result<std::unique_ptr<S3ObjectStore>> S3ObjectStore::Open(S3Options options) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateBucketName(options.bucket));
  if (options.region.empty()) return Status::InvalidArgument("S3 region is empty");
  if (options.access_key_id.empty() || options.secret_access_key.empty()) {
    return Status::InvalidArgument(
        "S3 credentials are missing: set the access key id and secret access key "
        "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)");
  }
  if (options.part_size < options.min_part_size || options.part_size > kMaxPartSize) {
    return Status::InvalidArgument("S3 part size must be in [" +
                                   std::to_string(options.min_part_size) + ", " +
                                   std::to_string(kMaxPartSize) + "] bytes");
  }
  if (options.parallel_parts < 1 || options.parallel_parts > 64) {
    return Status::InvalidArgument("S3 parallel parts must be in [1, 64]");
  }
  if (options.max_attempts < 1) return Status::InvalidArgument("S3 max attempts must be >= 1");
  if (options.endpoint.empty()) {
    options.endpoint = "https://s3." + options.region + ".amazonaws.com";
  }
  STEREOSPOT_ASSIGN_OR_RETURN(Endpoint endpoint, ParseEndpoint(options.endpoint));
  STEREOSPOT_RETURN_IF_ERROR(EnsureCurlGlobalInit());
  return std::unique_ptr<S3ObjectStore>(new S3ObjectStore(std::move(options), endpoint));
}

S3ObjectStore::S3ObjectStore(S3Options options, Endpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)) {
  HttpSettings settings;
  settings.access_key_id = options_.access_key_id;
  settings.secret_access_key = options_.secret_access_key;
  settings.session_token = options_.session_token;
  settings.region = options_.region;
  settings.connect_timeout = options_.connect_timeout;
  settings.stall_timeout = options_.stall_timeout;
  settings.max_attempts = options_.max_attempts;
  http_ = std::make_unique<HttpClient>(std::move(settings));
}

S3ObjectStore::~S3ObjectStore() = default;

RequestTarget S3ObjectStore::TargetFor(std::string_view key) const {
  return BuildTarget(endpoint_, options_.bucket, options_.path_style, key);
}

namespace {

BucketRef Ref(HttpClient* http, const Endpoint& endpoint, const S3Options& options) {
  return BucketRef{http, &endpoint, options.bucket, options.path_style};
}

Status PutSingle(const BucketRef& bucket, std::string_view key, std::string_view body) {
  HttpRequest request;
  request.method = "PUT";
  request.target = bucket.Target(key);
  request.headers = {"Content-Type: application/octet-stream"};
  request.body = body;
  STEREOSPOT_ASSIGN_OR_RETURN(HttpResponse response, bucket.http->Execute(request));
  if (response.status != 200) return S3Error(response, "put " + std::string(key));
  return Status::OK();
}

}  // namespace

Status S3ObjectStore::PutStream(std::string_view key, const ByteSource& source) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(key));
  BucketRef bucket = Ref(http_.get(), endpoint_, options_);
  STEREOSPOT_ASSIGN_OR_RETURN(std::string first, ReadUpTo(source, options_.part_size));
  if (first.size() < options_.part_size) return PutSingle(bucket, key, first);
  // Exactly one part's worth so far: only the next read tells a single PUT from a multipart.
  STEREOSPOT_ASSIGN_OR_RETURN(std::string second, ReadUpTo(source, options_.part_size));
  if (second.empty()) return PutSingle(bucket, key, first);
  std::vector<std::string> parts;
  parts.push_back(std::move(first));
  parts.push_back(std::move(second));
  return MultipartUpload(bucket, key, std::move(parts), source, options_.part_size,
                         options_.parallel_parts);
}

Status S3ObjectStore::PutFile(std::string_view key, const fs::path& source) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(key));
  Fd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return PosixError("open " + source.string(), errno);
  ByteSource reader = [&](std::span<char> buffer) -> Result<std::size_t> {
    while (true) {
      ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return PosixError("read " + source.string(), errno);
    }
  };
  return PutStream(key, reader);
}

Status S3ObjectStore::GetStream(std::string_view key, const ByteSink& sink) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(key));
  HttpRequest request;
  request.target = TargetFor(key);
  request.sink = &sink;
  STEREOSPOT_ASSIGN_OR_RETURN(HttpResponse response, http_->Execute(request));
  if (response.status != 200) return S3Error(response, "get " + std::string(key));
  return Status::OK();
}

Status S3ObjectStore::GetFile(std::string_view key, const fs::path& destination) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(key));
  fs::path tmp = destination;
  tmp += "." + RandomHex(6) + ".part";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) return PosixError("create " + tmp.string(), errno);
  ByteSink writer = [&](std::string_view chunk) -> Status {
    while (!chunk.empty()) {
      ssize_t n = ::write(fd.get(), chunk.data(), chunk.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError("write " + tmp.string(), errno);
      }
      chunk.remove_prefix(static_cast<std::size_t>(n));
    }
    return Status::OK();
  };
  Status s = GetStream(key, writer);
  if (s.ok() && fd.Close() != 0) s = PosixError("close " + tmp.string(), errno);
  if (s.ok() && ::rename(tmp.c_str(), destination.c_str()) != 0) {
    s = PosixError("rename to " + destination.string(), errno);
  }
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Result<std::string> S3ObjectStore::ReadRange(std::string_view key, std::uint64_t offset,
                                             std::uint64_t length) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(key));
  if (length == 0) {
    // An empty range cannot be written as an HTTP range; the end check alone is left.
    STEREOSPOT_ASSIGN_OR_RETURN(ObjectInfo info, Head(key));
    if (offset >= info.size) {
      return Status::InvalidArgument("range starts at " + std::to_string(offset) +
                                     ", past the object's end");
    }
    return std::string();
  }
  std::uint64_t last =
      offset + std::min(length, std::numeric_limits<std::uint64_t>::max() - offset) - 1;
  HttpRequest request;
  request.target = TargetFor(key);
  // Always a first-last range: suffix ranges (bytes=-N) are never sent (s3rver gets them wrong).
  request.headers = {"Range: bytes=" + std::to_string(offset) + "-" + std::to_string(last)};
  STEREOSPOT_ASSIGN_OR_RETURN(HttpResponse response, http_->Execute(request));
  std::string context = "read range of " + std::string(key);
  if (response.status == 416) {
    return Status::InvalidArgument(context + ": range starts at " + std::to_string(offset) +
                                   ", past the object's end");
  }
  if (response.status == 206) return std::move(response.body);
  if (response.status == 200) {
    // A server that ignored the Range header sent the whole object.
    if (offset >= response.body.size()) {
      return Status::InvalidArgument(context + ": range starts past the object's end");
    }
    return response.body.substr(offset, length);
  }
  return S3Error(response, context);
}

Result<ObjectInfo> S3ObjectStore::Head(std::string_view key) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(key));
  HttpRequest request;
  request.method = "HEAD";
  request.target = TargetFor(key);
  STEREOSPOT_ASSIGN_OR_RETURN(HttpResponse response, http_->Execute(request));
  if (response.status != 200) return S3Error(response, "head " + std::string(key));
  ObjectInfo info;
  info.key = std::string(key);
  info.size = std::strtoull(response.Header("content-length").c_str(), nullptr, 10);
  info.modified_at = ParseTime(response.Header("last-modified"), "%a, %d %b %Y %H:%M:%S");
  return info;
}

Result<ObjectPage> S3ObjectStore::List(std::string_view prefix, std::string_view page_token,
                                       int max_keys) {
  if (max_keys < 1 || max_keys > 1000) {
    return Status::InvalidArgument("max_keys must be in [1, 1000]");
  }
  if (!prefix.empty()) STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(prefix, true));
  std::vector<std::pair<std::string, std::string>> query = {
      {"list-type", "2"}, {"max-keys", std::to_string(max_keys)}, {"prefix", std::string(prefix)}};
  if (!page_token.empty()) query.emplace_back("continuation-token", std::string(page_token));
  HttpRequest request;
  request.target = BuildTarget(endpoint_, options_.bucket, options_.path_style, "", query);
  STEREOSPOT_ASSIGN_OR_RETURN(HttpResponse response, http_->Execute(request));
  std::string context = "list " + std::string(prefix);
  if (response.status != 200) return S3Error(response, context);
  pugi::xml_document doc;
  if (!doc.load_buffer(response.body.data(), response.body.size())) {
    return Status::IoError(context + ": unparsable ListObjectsV2 response");
  }
  pugi::xml_node result = doc.child("ListBucketResult");
  ObjectPage page;
  for (pugi::xml_node item : result.children("Contents")) {
    ObjectInfo info;
    info.key = item.child_value("Key");
    info.size = item.child("Size").text().as_ullong();
    info.modified_at = ParseTime(item.child_value("LastModified"), "%Y-%m-%dT%H:%M:%S");
    page.objects.push_back(std::move(info));
  }
  if (std::string_view(result.child_value("IsTruncated")) == "true") {
    page.next_page_token = result.child_value("NextContinuationToken");
    if (page.next_page_token.empty()) {
      return Status::IoError(context + ": truncated listing without a continuation token");
    }
  }
  return page;
}

Status S3ObjectStore::Delete(std::string_view key) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(key));
  HttpRequest request;
  request.method = "DELETE";
  request.target = TargetFor(key);
  STEREOSPOT_ASSIGN_OR_RETURN(HttpResponse response, http_->Execute(request));
  // S3 answers 204 for a missing key too; a 404 from another server means the same.
  if (response.status == 204 || response.status == 200 || response.status == 404) {
    if (response.status != 404 || S3ErrorCode(response.body) != "NoSuchBucket") {
      return Status::OK();
    }
  }
  return S3Error(response, "delete " + std::string(key));
}

Status S3ObjectStore::DeleteBatch(const std::vector<std::string>& keys) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("Delete");
  root.append_child("Quiet").text().set("true");
  for (const auto& key : keys) {
    root.append_child("Object").append_child("Key").text().set(key.c_str());
  }
  std::string body = XmlText(doc);
  HttpRequest request;
  request.method = "POST";
  request.target =
      BuildTarget(endpoint_, options_.bucket, options_.path_style, "", {{"delete", ""}});
  request.headers = {"Content-Type: application/xml", "Content-MD5: " + Md5Base64(body)};
  request.body = body;
  STEREOSPOT_ASSIGN_OR_RETURN(HttpResponse response, http_->Execute(request));
  if (response.status != 200) return S3Error(response, "delete objects");
  pugi::xml_document result;
  result.load_buffer(response.body.data(), response.body.size());
  pugi::xml_node error = result.child("DeleteResult").child("Error");
  if (error) {
    HttpResponse failed;
    failed.status = 500;
    failed.body = "<Error><Code>" + std::string(error.child_value("Code")) + "</Code><Message>" +
                  error.child_value("Key") + ": " + error.child_value("Message") +
                  "</Message></Error>";
    return S3Error(failed, "delete objects");
  }
  return Status::OK();
}

Result<std::uint64_t> S3ObjectStore::DeletePrefix(std::string_view prefix) {
  if (prefix.empty() || prefix.back() != '/') {
    return Status::InvalidArgument("a delete prefix must be non-empty and end in '/'");
  }
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(prefix, true));
  std::uint64_t deleted = 0;
  std::string token;
  while (true) {
    STEREOSPOT_ASSIGN_OR_RETURN(ObjectPage page, List(prefix, token, 1000));
    std::vector<std::string> keys;
    for (auto& object : page.objects) keys.push_back(std::move(object.key));
    if (!keys.empty()) STEREOSPOT_RETURN_IF_ERROR(DeleteBatch(keys));
    deleted += keys.size();
    if (page.next_page_token.empty()) return deleted;
    token = std::move(page.next_page_token);
  }
}

Result<std::string> S3ObjectStore::SignedUrl(std::string_view key, SignedUrlMethod method,
                                             std::chrono::seconds expires_in,
                                             std::string_view download_name) {
  STEREOSPOT_RETURN_IF_ERROR(ValidateObjectKey(key));
  STEREOSPOT_RETURN_IF_ERROR(ValidateDownloadName(download_name));
  if (expires_in.count() < 1 || expires_in.count() > kMaxSignedUrlSeconds) {
    return Status::InvalidArgument("signed URL expiry must be in [1 s, 7 days]");
  }
  RequestTarget target = TargetFor(key);
  PresignRequest request;
  request.method = method == SignedUrlMethod::kGet ? "GET" : "PUT";
  request.scheme = endpoint_.scheme;
  request.host = target.host;
  request.canonical_path = target.canonical_path;
  request.access_key_id = options_.access_key_id;
  request.secret_access_key = options_.secret_access_key;
  request.session_token = options_.session_token;
  request.region = options_.region;
  request.now_unix_seconds = static_cast<std::int64_t>(std::time(nullptr));
  request.expires_seconds = expires_in.count();
  if (method == SignedUrlMethod::kGet && !download_name.empty()) {
    request.extra_query.emplace_back("response-content-disposition",
                                     "attachment; filename=\"" + std::string(download_name) + "\"");
  }
  return PresignUrl(request);
}

Status S3ObjectStore::CreateBucket() {
  HttpRequest request;
  request.method = "PUT";
  request.target = TargetFor("");
  std::string body;
  if (options_.region != "us-east-1") {
    pugi::xml_document doc;
    pugi::xml_node root = doc.append_child("CreateBucketConfiguration");
    root.append_attribute("xmlns").set_value("http://s3.amazonaws.com/doc/2006-03-01/");
    root.append_child("LocationConstraint").text().set(options_.region.c_str());
    body = XmlText(doc);
    request.headers = {"Content-Type: application/xml"};
  }
  request.body = body;
  STEREOSPOT_ASSIGN_OR_RETURN(HttpResponse response, http_->Execute(request));
  if (response.status == 200) return Status::OK();
  if (S3ErrorCode(response.body) == "BucketAlreadyOwnedByYou") return Status::OK();
  return S3Error(response, "create bucket " + options_.bucket);
}

Status S3ObjectStore::CheckBucket() {
  std::string where = "S3 bucket " + options_.bucket + " at " + options_.endpoint;
  std::string key = "stereospot-check/probe-" + RandomHex(8);
  std::string data = "stereospot config check";
  std::size_t offset = 0;
  ByteSource source = [&](std::span<char> buffer) -> Result<std::size_t> {
    std::size_t n = std::min(buffer.size(), data.size() - offset);
    std::copy_n(data.data() + offset, n, buffer.data());
    offset += n;
    return n;
  };
  Status put = PutStream(key, source);
  if (!put.ok()) return put.WithContext(where + ": write a probe object");
  Result<ObjectInfo> head = Head(key);
  if (!head.ok()) return head.status().WithContext(where + ": read back the probe object");
  if (head->size != data.size()) {
    return Status::IoError(where + ": the probe object came back with the wrong size");
  }
  Status removed = Delete(key);
  if (!removed.ok()) return removed.WithContext(where + ": delete the probe object");
  return Status::OK();
}

}  // namespace stereospot::s3
