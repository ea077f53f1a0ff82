// HttpServer: the /api/v1 HTTP API, server-sent progress events, downloads with Range, the
// operator endpoints, /metrics, /healthz, /readyz and the embedded web UI (DESIGN.md section 8;
// the API is documented in docs/openapi.yaml).
//
// Security (DESIGN.md section 8): Start() refuses a non-loopback address unless tokens are
// configured or insecure_no_auth is set. With tokens, every /api and /metrics request needs
// "Authorization: Bearer <token>" or the session cookie the web UI's login sets (HttpOnly,
// SameSite=Strict); state-changing requests made with the cookie must also carry the session's
// X-CSRF-Token header. Every state-changing request whose Origin names another site is refused.
// Job ids are validated (core/ids.h) before any key is built; JSON bodies are size-limited and
// uploads are streamed to a temporary file and into the object store, never held in memory.
//
// Threading: the server runs its own threads between Start() and Stop(); the stores, queues and
// registry must outlive it and be safe for concurrent use (all ports are).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "pipeline/metrics.h"
#include "ports/job_store.h"
#include "ports/object_store.h"
#include "ports/work_queue.h"

namespace stereospot::server {

struct HttpServerOptions {
  // HOST:PORT; port 0 picks a free port (see HttpServer::port()). Default: 127.0.0.1:8080
  std::string listen = "127.0.0.1:8080";
  // Bearer tokens accepted by the API and the UI login. Empty: no authentication.
  std::vector<std::string> auth_tokens;
  // Allows a non-loopback address without tokens. Default: false
  bool insecure_no_auth = false;
  // Largest upload (whole file, and total of a resumable upload). Default: 20 GiB
  std::uint64_t max_upload_bytes = 20ULL << 30;
  // Largest JSON request body. Default: 64 KiB
  std::uint64_t max_json_bytes = 64 << 10;
  // Where uploads are spooled before they go into the object store (and where resumable uploads
  // keep their partial files). Created when missing. REQUIRED.
  std::filesystem::path upload_dir;
  // A job without progress for this long is flagged stalled. Default: 30 min
  std::chrono::milliseconds stalled_after{std::chrono::minutes(30)};
  // Connection threads; each open connection (keep-alive, event stream) holds one. Default: 256
  int threads = 256;
  // How long a job detail response may be served from memory; changes made through this
  // server are visible at once, workers' progress within this time. 0 disables. Default: 250 ms
  std::chrono::milliseconds detail_cache_ttl{250};
  // How often an event stream re-reads the job. Default: 500 ms
  std::chrono::milliseconds event_interval{500};
  // Web UI sessions expire after this long. Default: 12 h
  std::chrono::seconds session_ttl{std::chrono::hours(12)};
  // Direct transfers: clients upload sources and fetch results straight from the object store
  // through signed URLs (POST .../source-url, then .../source-complete; GET .../output answers
  // with a redirect), so video bytes do not pass through this server. Only for a store whose
  // signed URLs clients can reach (S3); the server's own upload routes keep working. Default: off
  bool direct_transfers = false;
  // How long a signed URL handed out for a direct transfer stays valid. Default: 1 h
  std::chrono::seconds signed_url_ttl{std::chrono::hours(1)};
};

// The queues the server reports and operates on (chunking and deletion are required).
struct ServerQueues {
  WorkQueue* chunking = nullptr;
  WorkQueue* segments = nullptr;
  WorkQueue* reassembly = nullptr;
  WorkQueue* deletion = nullptr;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, JobStore& jobs, ObjectStore& objects, ServerQueues queues,
             pipeline::MetricsRegistry& metrics);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Checks the options (kInvalidArgument for a bad address or a public address without auth),
  // binds (kUnavailable when the address is taken) and serves on a background thread.
  Status Start();
  // Stops accepting, ends open event streams and joins the threads. Idempotent.
  void Stop();
  // The bound port (after Start()).
  int port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stereospot::server
