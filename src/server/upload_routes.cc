// Upload routes: a whole file in one PUT, and resumable uploads with the tus 1.0 protocol
// (core protocol plus the creation and termination extensions; https://tus.io/protocols/
// resumable-upload). Bodies are streamed to a file in the upload directory, never held in
// memory; the finished file is probed and stored by JobService::SubmitSource.
//
// Resumable state is a partial file "{job_id}.part" and its declared length "{job_id}.length" in
// the upload directory, so an upload survives a restart of the server. File names come from
// validated job ids only.
#include <charconv>
#include <fstream>

#include "core/ids.h"
#include "server/http_util.h"
#include "server/server_impl.h"

namespace stereospot::server {
namespace {

using httplib::Request;
using httplib::Response;

constexpr char kTusVersion[] = "1.0.0";

std::optional<std::uint64_t> HeaderNumber(const Request& req, const char* name) {
  if (!req.has_header(name)) return std::nullopt;
  const std::string value = req.get_header_value(name);
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
    return std::nullopt;
  }
  return n;
}

// Marks one job's upload as in progress for the guard's lifetime; a second concurrent request
// for the same job is refused.
class UploadGuard {
 public:
  UploadGuard(std::mutex& mutex, std::set<std::string>& active, std::string job_id)
      : mutex_(mutex), active_(active), job_id_(std::move(job_id)) {
    std::lock_guard lock(mutex_);
    owned_ = active_.insert(job_id_).second;
  }
  ~UploadGuard() {
    if (!owned_) return;
    std::lock_guard lock(mutex_);
    active_.erase(job_id_);
  }
  UploadGuard(const UploadGuard&) = delete;
  UploadGuard& operator=(const UploadGuard&) = delete;
  bool owned() const { return owned_; }

 private:
  std::mutex& mutex_;
  std::set<std::string>& active_;
  std::string job_id_;
  bool owned_ = false;
};

void RemoveQuietly(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

}  // namespace

void HttpServer::Impl::RegisterUploadRoutes() {
  const std::uint64_t max_bytes = options_.max_upload_bytes;

  // Answers an upload request whose body is left unread: the connection must close, or its
  // bytes would be read as the next request.
  auto refuse = [](Response& res, const Status& status, int http_status = 0,
                   std::string_view code = {}) {
    res.set_header("Connection", "close");
    if (http_status == 0) {
      SendError(res, status);
    } else {
      SendError(res, http_status, code, status.message());
    }
  };

  // Stores a finished file for the job and answers with the job, or with the refusal.
  auto submit = [this](const std::string& job_id, const std::filesystem::path& file, Response& res,
                       int ok_status) {
    ForgetView(job_id);
    auto job = service_->SubmitSource(job_id, file);
    ForgetView(job_id);
    if (!job.ok()) {
      if (job.status().IsInvalidArgument() && job.status().message().rfind("not a video", 0) == 0) {
        return SendError(res, 422, "not_a_video", job.status().message());
      }
      return SendError(res, job.status());
    }
    if (ok_status == 204) {
      res.status = 204;
      return;
    }
    auto progress = service_->Progress(job_id);
    if (!progress.ok()) return SendError(res, progress.status());
    nlohmann::json out = pipeline::ProgressToJson(*progress);
    out["download_name"] = DownloadName(progress->job);
    SendJson(res, ok_status, out);
  };

  // Checks that `job_id` may receive a source now (created, nothing uploaded yet).
  auto check_job = [this](const std::string& job_id) -> Status {
    auto job = service_->Get(job_id);
    if (!job.ok()) return job.status();
    if (job->status != JobStatus::kCreated) {
      return Status::Conflict("job " + job_id + " is " + std::string(JobStatusName(job->status)) +
                              "; a source can only be uploaded to a created job");
    }
    return Status::OK();
  };

  // --- One request: PUT the whole file. ---
  http_.Put(R"(/api/v1/jobs/([^/]+)/source)", [this, refuse, submit, check_job, max_bytes](
                                                  const Request& req, Response& res,
                                                  const httplib::ContentReader& reader) {
    auto id = JobIdFrom(req);
    if (!id.ok()) return refuse(res, id.status());
    auto declared = HeaderNumber(req, "Content-Length");
    if (declared && *declared > max_bytes) {
      return refuse(res,
                    Status::InvalidArgument("upload larger than the limit of " +
                                            std::to_string(max_bytes) + " bytes"),
                    413, "payload_too_large");
    }
    if (Status s = check_job(*id); !s.ok()) {
      // Repeating the upload of a finished job is answered by the service (idempotent).
      if (!s.IsConflict()) return refuse(res, s);
    }
    UploadGuard guard(uploads_mutex_, active_uploads_, *id);
    if (!guard.owned()) {
      return refuse(res, Status::Conflict("another upload for job " + *id + " is in progress"));
    }
    const std::filesystem::path spool = options_.upload_dir / (*id + "." + RandomHex(4) + ".spool");
    std::uint64_t total = 0;
    bool too_big = false;
    bool write_failed = false;
    {
      std::ofstream out(spool, std::ios::binary | std::ios::trunc);
      if (!out) {
        return refuse(res, Status::IoError("cannot create " + spool.string()));
      }
      const bool read = reader([&](const char* data, std::size_t n) {
        total += n;
        if (total > max_bytes) {
          too_big = true;
          return false;
        }
        out.write(data, static_cast<std::streamsize>(n));
        write_failed = !out;
        return !write_failed;
      });
      out.close();
      if (too_big || write_failed || !read || !out) {
        RemoveQuietly(spool);
        if (too_big) {
          return refuse(res,
                        Status::InvalidArgument("upload larger than the limit of " +
                                                std::to_string(max_bytes) + " bytes"),
                        413, "payload_too_large");
        }
        if (write_failed || !out) {
          return refuse(res, Status::IoError("cannot write the upload to disk"));
        }
        return refuse(res, Status::InvalidArgument("the upload was interrupted"));
      }
    }
    if (total == 0) {
      RemoveQuietly(spool);
      return SendError(res, 400, "invalid_argument",
                       "the upload is empty: send the video as the body");
    }
    submit(*id, spool, res, 200);
    RemoveQuietly(spool);
  });
  // A PUT without a body never reaches the streaming handler.
  http_.Put(R"(/api/v1/jobs/([^/]+)/source)", [](const Request&, Response& res) {
    SendError(res, 400, "invalid_argument", "the upload is empty: send the video as the body");
  });

  // --- Direct uploads: the client PUTs the file to the object store through a signed URL, then
  // says it is done; the server probes the object where it lies. ---
  http_.Post(R"(/api/v1/jobs/([^/]+)/source-url)", [this, check_job](const Request& req,
                                                                     Response& res) {
    auto id = JobIdFrom(req);
    if (!id.ok()) return SendError(res, id.status());
    if (!options_.direct_transfers) {
      return SendError(res, 409, "direct_transfers_off",
                       "this server takes uploads itself: PUT the file to /api/v1/jobs/" + *id +
                           "/source, or use the resumable upload");
    }
    if (Status s = check_job(*id); !s.ok()) return SendError(res, s);
    auto job = service_->Get(*id);
    if (!job.ok()) return SendError(res, job.status());
    if (job->uploaded_at != 0) {
      return SendError(res, 409, "conflict", "job " + *id + " already has its source");
    }
    auto url = objects_.SignedUrl(job->source_key, SignedUrlMethod::kPut, options_.signed_url_ttl);
    if (!url.ok()) return SendError(res, url.status());
    const auto expires_at =
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch() + options_.signed_url_ttl)
            .count();
    SendJson(res, 200,
             {{"method", "PUT"},
              {"url", *url},
              {"expires_at", expires_at},
              {"max_bytes", options_.max_upload_bytes},
              {"complete_url", "/api/v1/jobs/" + *id + "/source-complete"}});
  });

  http_.Post(R"(/api/v1/jobs/([^/]+)/source-complete)", [this, max_bytes](const Request& req,
                                                                          Response& res) {
    auto id = JobIdFrom(req);
    if (!id.ok()) return SendError(res, id.status());
    if (!options_.direct_transfers) {
      return SendError(
          res, 409, "direct_transfers_off",
          "this server takes uploads itself: PUT the file to /api/v1/jobs/" + *id + "/source");
    }
    ForgetView(*id);
    auto job = service_->AcceptStoredSource(*id, max_bytes);
    ForgetView(*id);
    if (!job.ok()) {
      const std::string& message = job.status().message();
      if (job.status().IsInvalidArgument() && message.rfind("not a video", 0) == 0) {
        return SendError(res, 422, "not_a_video", message);
      }
      if (job.status().IsInvalidArgument() && message.rfind("upload larger", 0) == 0) {
        return SendError(res, 413, "payload_too_large", message);
      }
      return SendError(res, job.status());
    }
    auto progress = service_->Progress(*id);
    if (!progress.ok()) return SendError(res, progress.status());
    nlohmann::json out = pipeline::ProgressToJson(*progress);
    out["download_name"] = DownloadName(progress->job);
    SendJson(res, 200, out);
  });

  // --- Resumable uploads (tus 1.0). ---
  auto part_path = [this](const std::string& id) { return options_.upload_dir / (id + ".part"); };
  auto length_path = [this](const std::string& id) {
    return options_.upload_dir / (id + ".length");
  };
  // The declared length of an upload in progress, or nullopt.
  auto declared_length = [length_path](const std::string& id) -> std::optional<std::uint64_t> {
    std::ifstream in(length_path(id));
    std::uint64_t n = 0;
    if (!(in >> n)) return std::nullopt;
    return n;
  };
  auto tus_headers = [max_bytes](Response& res) {
    res.set_header("Tus-Resumable", kTusVersion);
    res.set_header("Tus-Version", kTusVersion);
    res.set_header("Tus-Extension", "creation,termination");
    res.set_header("Tus-Max-Size", std::to_string(max_bytes));
  };
  auto check_tus_version = [tus_headers](const Request& req, Response& res) {
    if (req.get_header_value("Tus-Resumable") == kTusVersion) return true;
    tus_headers(res);
    res.set_header("Connection", "close");
    SendError(res, 412, "tus_version",
              "this server speaks tus 1.0.0: send the header 'Tus-Resumable: 1.0.0'");
    return false;
  };
  const std::string upload_pattern = R"(/api/v1/jobs/([^/]+)/upload)";

  http_.Options(upload_pattern, [tus_headers](const Request&, Response& res) {
    tus_headers(res);
    res.status = 204;
  });

  http_.Post(upload_pattern, [this, tus_headers, check_tus_version, check_job, part_path,
                              length_path, max_bytes](const Request& req, Response& res) {
    tus_headers(res);
    if (!check_tus_version(req, res)) return;
    auto id = JobIdFrom(req);
    if (!id.ok()) return SendError(res, id.status());
    auto length = HeaderNumber(req, "Upload-Length");
    if (!length || *length == 0) {
      return SendError(res, 400, "invalid_argument",
                       "Upload-Length must be the file's size in bytes (deferred lengths are not "
                       "supported)");
    }
    if (*length > max_bytes) {
      return SendError(res, 413, "payload_too_large",
                       "upload larger than the limit of " + std::to_string(max_bytes) + " bytes");
    }
    if (Status s = check_job(*id); !s.ok()) return SendError(res, s);
    auto job = service_->Get(*id);
    if (job.ok() && job->uploaded_at != 0) {
      return SendError(res, 409, "conflict", "job " + *id + " already has its source");
    }
    UploadGuard guard(uploads_mutex_, active_uploads_, *id);
    if (!guard.owned()) {
      return SendError(res, 409, "conflict", "another upload for job " + *id + " is in progress");
    }
    std::ofstream(part_path(*id), std::ios::binary | std::ios::trunc).flush();
    std::ofstream length_out(length_path(*id), std::ios::trunc);
    length_out << *length << "\n";
    length_out.close();
    if (!length_out) return SendError(res, Status::IoError("cannot record the upload"));
    res.set_header("Location", "/api/v1/jobs/" + *id + "/upload");
    res.set_header("Upload-Offset", "0");
    res.status = 201;
  });

  // HEAD (and GET): where an interrupted upload stands.
  http_.Get(upload_pattern,
            [tus_headers, part_path, declared_length](const Request& req, Response& res) {
              tus_headers(res);
              res.set_header("Cache-Control", "no-store");
              auto id = JobIdFrom(req);
              if (!id.ok()) return SendError(res, id.status());
              auto length = declared_length(*id);
              std::error_code ec;
              const auto offset = std::filesystem::file_size(part_path(*id), ec);
              if (!length || ec) {
                return SendError(res, 404, "not_found", "no resumable upload for job " + *id);
              }
              res.set_header("Upload-Offset", std::to_string(offset));
              res.set_header("Upload-Length", std::to_string(*length));
              res.status = 200;
            });

  http_.Patch(upload_pattern, [this, tus_headers, check_tus_version, part_path, length_path,
                               declared_length, submit](const Request& req, Response& res,
                                                        const httplib::ContentReader& reader) {
    tus_headers(res);
    if (!check_tus_version(req, res)) return;
    auto id = JobIdFrom(req);
    if (!id.ok()) return SendError(res, id.status());
    res.set_header("Connection", "close");  // until the body has been read
    if (req.get_header_value("Content-Type") != "application/offset+octet-stream") {
      return SendError(res, 415, "unsupported_media_type",
                       "PATCH bodies must be 'application/offset+octet-stream'");
    }
    auto length = declared_length(*id);
    if (!length) return SendError(res, 404, "not_found", "no resumable upload for job " + *id);
    auto offset = HeaderNumber(req, "Upload-Offset");
    std::error_code ec;
    const std::uint64_t current = std::filesystem::file_size(part_path(*id), ec);
    if (ec) return SendError(res, 404, "not_found", "no resumable upload for job " + *id);
    if (!offset || *offset != current) {
      res.set_header("Upload-Offset", std::to_string(current));
      return SendError(res, 409, "offset_mismatch",
                       "Upload-Offset must be the current offset, " + std::to_string(current));
    }
    auto body_length = HeaderNumber(req, "Content-Length");
    if (body_length && current + *body_length > *length) {
      return SendError(res, 413, "payload_too_large", "the body goes past the Upload-Length");
    }
    UploadGuard guard(uploads_mutex_, active_uploads_, *id);
    if (!guard.owned()) {
      return SendError(res, 409, "conflict", "another upload for job " + *id + " is in progress");
    }
    std::uint64_t written = current;
    bool too_big = false;
    bool write_failed = false;
    {
      std::ofstream out(part_path(*id), std::ios::binary | std::ios::app);
      const bool read = reader([&](const char* data, std::size_t n) {
        if (written + n > *length) {
          too_big = true;
          return false;
        }
        out.write(data, static_cast<std::streamsize>(n));
        written += n;
        write_failed = !out;
        return !write_failed;
      });
      out.close();
      if (too_big) {
        // Nothing of a body that does not fit is kept: the offset stays where it was.
        std::filesystem::resize_file(part_path(*id), current, ec);
        return SendError(res, 413, "payload_too_large", "the body goes past the Upload-Length");
      }
      if (write_failed || !out) return SendError(res, Status::IoError("cannot write the upload"));
      // An interrupted PATCH keeps what arrived; the client resumes from the new offset.
      if (!read) return SendError(res, 400, "interrupted", "the upload was interrupted");
    }
    res.headers.erase("Connection");
    res.set_header("Upload-Offset", std::to_string(written));
    if (written < *length) {
      res.status = 204;
      return;
    }
    submit(*id, part_path(*id), res, 204);
    RemoveQuietly(part_path(*id));
    RemoveQuietly(length_path(*id));
  });

  http_.Delete(upload_pattern, [tus_headers, check_tus_version, part_path, length_path](
                                   const Request& req, Response& res) {
    tus_headers(res);
    if (!check_tus_version(req, res)) return;
    auto id = JobIdFrom(req);
    if (!id.ok()) return SendError(res, id.status());
    RemoveQuietly(part_path(*id));
    RemoveQuietly(length_path(*id));
    res.status = 204;
  });
}

}  // namespace stereospot::server
