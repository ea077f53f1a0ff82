#include "adapters/s3/s3_multipart.h"

#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include <pugixml.hpp>

#include "core/handoff_queue.h"
#include "core/log.h"

namespace stereospot::s3 {
namespace {

constexpr int kMaxParts = 10'000;

struct Part {
  int number = 0;
  std::string data;
};

// The parts queue between the reading thread and the uploading threads, and the uploaded
// parts' ETags. Holds at most `capacity` parts read but not yet uploaded, which bounds memory to
// about (capacity + parallel + 1) * part_size (queued, uploading, being read). The first
// failure (Fail) stops both sides.
class PartQueue {
 public:
  explicit PartQueue(std::size_t capacity) : parts_(capacity) {}

  // Blocks while full; false when the upload has failed (the part is dropped).
  bool Push(Part part) { return parts_.Push(std::move(part)); }
  // Blocks until a part is available; false when there will be none (closed or failed).
  bool Pop(Part* part) { return parts_.Pop(part); }
  void Close() { parts_.Close(); }
  void Fail(Status status) { parts_.Fail(std::move(status)); }
  Status error() const { return parts_.status(); }

  void Done(int number, std::string etag) {
    std::lock_guard lock(mu_);
    etags_[number] = std::move(etag);
  }
  std::map<int, std::string> etags() {
    std::lock_guard lock(mu_);
    return etags_;
  }

 private:
  HandoffQueue<Part> parts_;
  std::mutex mu_;
  std::map<int, std::string> etags_;
};

Result<std::string> Initiate(const BucketRef& bucket, std::string_view key) {
  HttpRequest request;
  request.method = "POST";
  request.target = bucket.Target(key, {{"uploads", ""}});
  request.headers = {"Content-Type: application/octet-stream"};
  STEREOSPOT_ASSIGN_OR_RETURN(HttpResponse response, bucket.http->Execute(request));
  std::string context = "initiate multipart upload of " + std::string(key);
  if (response.status != 200) return S3Error(response, context);
  pugi::xml_document doc;
  doc.load_buffer(response.body.data(), response.body.size());
  std::string upload_id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  if (upload_id.empty()) return Status::IoError(context + ": no UploadId in the response");
  return upload_id;
}

Status UploadPart(const BucketRef& bucket, std::string_view key, const std::string& upload_id,
                  const Part& part, std::string* etag) {
  HttpRequest request;
  request.method = "PUT";
  request.target =
      bucket.Target(key, {{"partNumber", std::to_string(part.number)}, {"uploadId", upload_id}});
  request.body = part.data;
  STEREOSPOT_ASSIGN_OR_RETURN(HttpResponse response, bucket.http->Execute(request));
  std::string context = "upload part " + std::to_string(part.number) + " of " + std::string(key);
  if (response.status != 200) return S3Error(response, context);
  *etag = response.Header("etag");
  if (etag->empty()) return Status::IoError(context + ": no ETag in the response");
  return Status::OK();
}

Status Complete(const BucketRef& bucket, std::string_view key, const std::string& upload_id,
                const std::map<int, std::string>& etags) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
  for (const auto& [number, etag] : etags) {
    pugi::xml_node part = root.append_child("Part");
    part.append_child("PartNumber").text().set(number);
    part.append_child("ETag").text().set(etag.c_str());
  }
  struct Writer final : pugi::xml_writer {
    std::string out;
    void write(const void* data, std::size_t size) override {
      out.append(static_cast<const char*>(data), size);
    }
  } writer;
  doc.save(writer, "", pugi::format_raw);
  HttpRequest request;
  request.method = "POST";
  request.target = bucket.Target(key, {{"uploadId", upload_id}});
  request.headers = {"Content-Type: application/xml"};
  request.body = writer.out;
  STEREOSPOT_ASSIGN_OR_RETURN(HttpResponse response, bucket.http->Execute(request));
  std::string context = "complete multipart upload of " + std::string(key);
  if (response.status != 200) return S3Error(response, context);
  // S3 may answer 200 and still fail, with an <Error> document as the body.
  if (!S3ErrorCode(response.body).empty()) {
    HttpResponse failed = response;
    failed.status = 500;
    return S3Error(failed, context);
  }
  return Status::OK();
}

// Best effort: the upload's parts are invisible either way; an abort that fails (or a server
// without AbortMultipartUpload, such as s3rver) leaves them for the bucket's lifecycle rule.
void Abort(const BucketRef& bucket, std::string_view key, const std::string& upload_id) {
  HttpRequest request;
  request.method = "DELETE";
  request.target = bucket.Target(key, {{"uploadId", upload_id}});
  Result<HttpResponse> response = bucket.http->Execute(request);
  if (!response.ok() || response->status != 204) {
    Logger("stereospot.s3")
        .Warn(
            "abort of a failed multipart upload did not succeed; its parts stay until the bucket's "
            "lifecycle rule removes them",
            {{"key", std::string(key)},
             {"error", response.ok() ? S3Error(*response, "abort").ToString()
                                     : response.status().ToString()}});
  }
}

}  // namespace

Result<std::size_t> ReadFull(const ByteSource& source, std::string& buffer) {
  std::size_t filled = 0;
  while (filled < buffer.size()) {
    std::span<char> rest(buffer.data() + filled, buffer.size() - filled);
    STEREOSPOT_ASSIGN_OR_RETURN(std::size_t n, source(rest));
    if (n == 0) break;
    if (n > rest.size()) return Status::Internal("byte source overran its buffer");
    filled += n;
  }
  return filled;
}

Status MultipartUpload(const BucketRef& bucket, std::string_view key,
                       std::vector<std::string> first_parts, const ByteSource& source,
                       std::uint64_t part_size, int parallel) {
  STEREOSPOT_ASSIGN_OR_RETURN(std::string upload_id, Initiate(bucket, key));
  PartQueue queue(1);
  std::vector<std::thread> workers;
  auto upload_parts = [&] {
    Part part;
    while (queue.Pop(&part)) {
      std::string etag;
      Status s = UploadPart(bucket, key, upload_id, part, &etag);
      if (!s.ok()) {
        queue.Fail(std::move(s));
        return;
      }
      queue.Done(part.number, std::move(etag));
    }
  };
  for (int i = 0; i < parallel; ++i) {
    try {
      workers.emplace_back(upload_parts);
    } catch (const std::system_error& e) {
      // No exception leaves the adapter; failing the queue also unblocks the reader below.
      queue.Fail(Status::Unavailable("start a part upload thread: " + std::string(e.what())));
      break;
    }
  }
  int number = 0;
  for (auto& data : first_parts) {
    if (!queue.Push(Part{++number, std::move(data)})) break;
  }
  while (queue.error().ok()) {
    std::string buffer(part_size, '\0');
    Result<std::size_t> n = ReadFull(source, buffer);
    if (!n.ok()) {
      queue.Fail(n.status());
      break;
    }
    if (*n == 0) break;
    if (number == kMaxParts) {
      queue.Fail(Status::InvalidArgument("object " + std::string(key) + " needs more than " +
                                         std::to_string(kMaxParts) +
                                         " parts: raise the S3 part size"));
      break;
    }
    buffer.resize(*n);
    if (!queue.Push(Part{++number, std::move(buffer)})) break;
    if (*n < part_size) break;
  }
  queue.Close();
  for (auto& worker : workers) worker.join();
  Status status = queue.error();
  if (status.ok()) status = Complete(bucket, key, upload_id, queue.etags());
  if (!status.ok()) Abort(bucket, key, upload_id);
  return status;
}

}  // namespace stereospot::s3
