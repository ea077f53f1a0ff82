#include "server/http_server.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <sys/socket.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "pipeline/queue_metrics.h"
#include "server/http_util.h"
#include "server/server_impl.h"

namespace stereospot::server {
namespace {

using httplib::Request;
using httplib::Response;

constexpr char kSessionCookie[] = "stereospot_session";
constexpr std::size_t kMaxSessions = 10000;
constexpr std::uint64_t kReadChunk = 1 << 20;
constexpr std::size_t kMaxCachedViews = 10000;
constexpr int kListenBacklog = 1024;

const Logger& ServerLogger() {
  static const Logger logger("stereospot.http");
  return logger;
}

bool IsUnsafeMethod(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

bool NeedsAuth(const std::string& path) {
  if (path == "/api/v1/session") return false;  // tells the UI whether to show the login
  return path.rfind("/api/", 0) == 0 || path == "/metrics";
}

// Upload routes stream their bodies; everything else is a small JSON body.
bool IsUploadPath(const std::string& path) {
  return path.size() > 7 && (path.ends_with("/source") || path.ends_with("/upload"));
}

// Request start times, for the latency histogram (each request runs on one thread).
thread_local const Request* t_request = nullptr;
thread_local std::chrono::steady_clock::time_point t_started;

// `direct`: the server hands out signed object-store URLs (HttpServerOptions::direct_transfers).
nlohmann::json JobLinks(const Job& job, bool direct) {
  const std::string base = "/api/v1/jobs/" + job.job_id;
  nlohmann::json links = {{"self", base},
                          {"events", base + "/events"},
                          {"upload", base + "/source"},
                          {"resumable_upload", base + "/upload"},
                          {"output", base + "/output"},
                          {"download", base + "/output?download=1"}};
  if (direct) {
    links["direct_upload"] = base + "/source-url";
    links["direct_upload_complete"] = base + "/source-complete";
  }
  return links;
}

nlohmann::json JobView(const pipeline::JobProgress& progress, bool direct) {
  nlohmann::json out = pipeline::ProgressToJson(progress);
  out["download_name"] = DownloadName(progress.job);
  out["links"] = JobLinks(progress.job, direct);
  return out;
}

}  // namespace

HttpServer::Impl::Impl(HttpServerOptions options, JobStore& jobs, ObjectStore& objects,
                       ServerQueues queues, pipeline::MetricsRegistry& metrics)
    : options_(std::move(options)),
      jobs_(jobs),
      objects_(objects),
      queues_(queues),
      metrics_(metrics) {}

void HttpServer::Impl::SendJson(Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void HttpServer::Impl::SendError(Response& res, const Status& status) {
  SendError(res, HttpStatusFor(status), StatusCodeName(status.code()), status.message());
}

void HttpServer::Impl::SendError(Response& res, int http_status, std::string_view code,
                                 std::string_view message) {
  res.status = http_status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(ErrorBody(code, message), "application/json");
}

Result<std::string> HttpServer::Impl::JobIdFrom(const Request& req) {
  if (req.matches.size() < 2) return Status::Internal("route without a job id");
  std::string id = req.matches[1];
  if (!IsValidJobId(id)) {
    return Status::InvalidArgument("malformed job id '" + id.substr(0, 64) +
                                   "': expected a lower-case UUIDv4");
  }
  return id;
}

std::string HttpServer::Impl::RouteLabel(const Request& req) const {
  const std::string& p = req.path;
  if (p.rfind("/api/v1/jobs/", 0) == 0) {
    auto rest = p.substr(13);
    auto slash = rest.find('/');
    return slash == std::string::npos ? "/api/v1/jobs/{id}"
                                      : "/api/v1/jobs/{id}" + rest.substr(slash);
  }
  if (p.rfind("/api/v1/queues/", 0) == 0) {
    auto rest = p.substr(15);
    auto slash = rest.find('/');
    return slash == std::string::npos ? "/api/v1/queues/{name}"
                                      : "/api/v1/queues/{name}" + rest.substr(slash);
  }
  if (p.rfind("/assets/", 0) == 0) return "/assets";
  static const char* kKnown[] = {"/",      "/api/v1/jobs", "/api/v1/queues", "/api/v1/session",
                                 "/login", "/metrics",     "/healthz",       "/readyz"};
  for (const char* k : kKnown) {
    if (p == k) return p;
  }
  return "other";
}

void HttpServer::Impl::ForgetView(const std::string& job_id) {
  std::lock_guard lock(views_mutex_);
  views_.erase(job_id);
  ++views_epoch_;
}

std::string HttpServer::Impl::NewSession() {
  std::string id = RandomHex(32);
  const std::int64_t now = NowMillis();
  std::lock_guard lock(sessions_mutex_);
  std::erase_if(sessions_, [now](const auto& entry) { return entry.second.expires_at <= now; });
  if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
  sessions_[id] = Session{RandomHex(16), now + options_.session_ttl.count() * 1000};
  return id;
}

std::optional<std::string> HttpServer::Impl::SessionFor(const Request& req) {
  auto cookie = CookieValue(req.get_header_value("Cookie"), kSessionCookie);
  if (!cookie) return std::nullopt;
  const std::int64_t now = NowMillis();
  std::lock_guard lock(sessions_mutex_);
  // Every live session is compared, in constant time, so timing does not reveal a prefix.
  std::optional<std::string> csrf;
  for (const auto& [id, session] : sessions_) {
    if (ConstantTimeEquals(id, *cookie) && session.expires_at > now) csrf = session.csrf_token;
  }
  return csrf;
}

void HttpServer::Impl::EndSession(const Request& req) {
  auto cookie = CookieValue(req.get_header_value("Cookie"), kSessionCookie);
  if (!cookie) return;
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(*cookie);
}

bool HttpServer::Impl::Authorize(const Request& req, Response& res) {
  if (options_.auth_tokens.empty()) return true;
  const std::string auth = req.get_header_value("Authorization");
  if (!auth.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.rfind(kBearer, 0) == 0) {
      const std::string_view presented = std::string_view(auth).substr(kBearer.size());
      bool match = false;
      for (const std::string& token : options_.auth_tokens) {
        match = ConstantTimeEquals(presented, token) || match;
      }
      if (match) return true;
    }
    res.set_header("WWW-Authenticate", "Bearer realm=\"stereospot\"");
    SendError(res, 401, "unauthenticated", "the bearer token is not valid");
    return false;
  }
  auto csrf = SessionFor(req);
  if (!csrf) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"stereospot\"");
    SendError(res, 401, "unauthenticated",
              "authentication required: send 'Authorization: Bearer <token>' or log in at /login");
    return false;
  }
  if (IsUnsafeMethod(req.method) &&
      !ConstantTimeEquals(req.get_header_value("X-CSRF-Token"), *csrf)) {
    SendError(res, 403, "csrf", "missing or wrong X-CSRF-Token header for this session");
    return false;
  }
  return true;
}

Status HttpServer::Impl::Start() {
  STEREOSPOT_ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(options_.listen));
  if (!IsLoopbackHost(address.host) && options_.auth_tokens.empty() && !options_.insecure_no_auth) {
    return Status::InvalidArgument(
        "refusing to listen on " + options_.listen +
        " without authentication: anyone who can reach it could run and delete jobs. Configure "
        "API tokens (server.auth_token_file; they are also the web UI's login), listen on "
        "127.0.0.1, or pass --insecure-no-auth");
  }
  if (options_.upload_dir.empty()) return Status::InvalidArgument("upload_dir is required");
  if (queues_.chunking == nullptr || queues_.deletion == nullptr) {
    return Status::InvalidArgument("the chunking and deletion queues are required");
  }
  service_ = std::make_unique<pipeline::JobService>(
      jobs_, objects_, *queues_.chunking, *queues_.deletion,
      pipeline::JobServiceOptions{options_.stalled_after, nullptr});
  std::error_code ec;
  std::filesystem::create_directories(options_.upload_dir, ec);
  if (ec) {
    return Status::IoError("cannot create upload directory " + options_.upload_dir.string() + ": " +
                           ec.message());
  }

  const int threads = std::max(4, options_.threads);
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_.set_payload_max_length(options_.max_upload_bytes);
  // The library listens with a backlog of 5, which drops the SYNs of clients connecting together
  // (they retry after 1 s); the listening socket is kept here and its backlog raised after bind.
  http_.set_socket_options([this](int sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;
  });
  // Headers and body go out in separate writes; without TCP_NODELAY the body waits for the
  // client's delayed ACK (about 40 ms per response on Linux).
  http_.set_tcp_nodelay(true);
  http_.set_keep_alive_max_count(10000);
  http_.set_keep_alive_timeout(10);
  http_.set_read_timeout(60);
  http_.set_write_timeout(60);

  http_.set_pre_routing_handler([this](const Request& req, Response& res) {
    t_request = &req;
    t_started = std::chrono::steady_clock::now();
    // Byte ranges are answered by the download route alone, which parses the header itself;
    // left in place, the library would slice every other response (JSON errors included).
    const_cast<Request&>(req).ranges.clear();
    if (IsUnsafeMethod(req.method)) {
      const std::string origin = req.get_header_value("Origin");
      const std::string host = req.get_header_value("Host");
      if (!origin.empty() && origin != "http://" + host && origin != "https://" + host) {
        res.set_header("Connection", "close");
        SendError(res, 403, "cross_origin", "cross-site request refused (Origin " + origin + ")");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (!IsUploadPath(req.path)) {
        const std::string length = req.get_header_value("Content-Length");
        if (req.has_header("Transfer-Encoding")) {
          res.set_header("Connection", "close");
          SendError(res, 411, "length_required", "JSON requests need a Content-Length");
          return httplib::Server::HandlerResponse::Handled;
        }
        std::uint64_t declared = 0;
        auto [end, parse_error] =
            std::from_chars(length.data(), length.data() + length.size(), declared);
        if (!length.empty() &&
            (parse_error != std::errc() || end != length.data() + length.size() ||
             declared > options_.max_json_bytes)) {
          res.set_header("Connection", "close");
          SendError(
              res, 413, "payload_too_large",
              "request body larger than " + std::to_string(options_.max_json_bytes) + " bytes");
          return httplib::Server::HandlerResponse::Handled;
        }
      }
    }
    if (NeedsAuth(req.path) && !Authorize(req, res)) {
      if (IsUnsafeMethod(req.method)) res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  httplib::Server::HandlerWithResponse error_handler =
      [](const Request& req, Response& res) -> httplib::Server::HandlerResponse {
    const_cast<Request&>(req).ranges.clear();
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string code = "error";
    std::string message = "HTTP " + std::to_string(res.status);
    if (res.status == 404) {
      code = "not_found";
      message = "no route for " + req.method + " " + req.path;
    } else if (res.status == 413) {
      code = "payload_too_large";
      message = "request body too large";
    } else if (res.status == 416) {
      code = "range_not_satisfiable";
      message = "malformed Range header";
    } else if (res.status == 400) {
      code = "bad_request";
    }
    SendError(res, res.status, code, message);
    return httplib::Server::HandlerResponse::Handled;
  };
  http_.set_error_handler(std::move(error_handler));

  http_.set_logger([this](const Request& req, const Response& res) {
    // Each connection thread keeps the series it has used, so a request costs no registry lock
    // (the threads belong to this server and end before it, the registry outlives it).
    thread_local std::map<std::string, pipeline::Counter*> counters;
    thread_local std::map<std::string, pipeline::Histogram*> histograms;
    const std::string route = RouteLabel(req);
    const std::string code = std::to_string(res.status);
    const std::string key = route + ' ' + req.method + ' ' + code;
    auto counter = counters.find(key);
    if (counter == counters.end()) {
      auto made = metrics_.GetCounter("stereospot_http_requests_total",
                                      "HTTP requests by route, method and status code",
                                      {{"route", route}, {"method", req.method}, {"code", code}});
      counter = counters.emplace(key, made.ok() ? *made : nullptr).first;
    }
    if (counter->second != nullptr) counter->second->Increment();
    if (t_request == &req) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t_started).count();
      auto histogram = histograms.find(route);
      if (histogram == histograms.end()) {
        auto made = metrics_.GetHistogram(
            "stereospot_http_request_seconds", "HTTP request latency (to the end of the headers)",
            {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5}, {{"route", route}});
        histogram = histograms.emplace(route, made.ok() ? *made : nullptr).first;
      }
      if (histogram->second != nullptr) histogram->second->Observe(seconds);
      t_request = nullptr;
    }
  });

  RegisterJobRoutes();
  RegisterUploadRoutes();
  RegisterOperatorRoutes();
  RegisterWebRoutes();

  if (address.port == 0) {
    port_ = http_.bind_to_any_port(address.host);
    if (port_ <= 0) return Status::Unavailable("cannot bind to " + address.host);
  } else {
    if (!http_.bind_to_port(address.host, address.port)) {
      return Status::Unavailable("cannot listen on " + options_.listen +
                                 " (address in use, or not an address of this machine)");
    }
    port_ = address.port;
  }
  if (listen_socket_ >= 0) ::listen(listen_socket_, kListenBacklog);
  thread_ = std::thread([this] { http_.listen_after_bind(); });
  // Stop() only reaches a server that is already running; wait for the accept loop.
  for (int i = 0; i < 500 && !http_.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ServerLogger().Info("listening", {{"address", address.host},
                                    {"port", port_},
                                    {"auth", options_.auth_tokens.empty() ? "none" : "tokens"}});
  return Status::OK();
}

void HttpServer::Impl::Stop() {
  stopping_ = true;
  http_.stop();
  if (thread_.joinable()) thread_.join();
}

void HttpServer::Impl::RegisterJobRoutes() {
  http_.Post("/api/v1/jobs", [this](const Request& req, Response& res) {
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return SendError(res, 400, "invalid_json", "the request body must be a JSON object");
    }
    std::string title;
    std::string filename;
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [key, value] : body.items()) {
      if (key == "title" && value.is_string()) {
        title = value.get<std::string>();
      } else if (key == "filename" && value.is_string()) {
        filename = value.get<std::string>();
      } else if (key == "params" && value.is_object()) {
        params = value;
      } else if (key == "title" || key == "filename" || key == "params") {
        return SendError(res, 400, "invalid_argument",
                         "'" + key + "' must be " + (key == "params" ? "an object" : "a string"));
      } else {
        return SendError(res, 400, "invalid_argument",
                         "unknown field '" + key + "' (allowed: title, filename, params)");
      }
    }
    auto parsed = ConversionParams::FromJson(params);
    if (!parsed.ok()) return SendError(res, parsed.status());
    auto job = service_->Create(*parsed, std::move(title), filename);
    if (!job.ok()) return SendError(res, job.status());
    auto progress = service_->Progress(job->job_id);
    if (!progress.ok()) return SendError(res, progress.status());
    nlohmann::json out = JobView(*progress, options_.direct_transfers);
    out["upload"] = {{"method", "PUT"},
                     {"url", "/api/v1/jobs/" + job->job_id + "/source"},
                     {"resumable_url", "/api/v1/jobs/" + job->job_id + "/upload"},
                     {"max_bytes", options_.max_upload_bytes}};
    if (options_.direct_transfers) {
      out["upload"]["direct_url"] = "/api/v1/jobs/" + job->job_id + "/source-url";
    }
    res.set_header("Location", "/api/v1/jobs/" + job->job_id);
    SendJson(res, 201, out);
  });

  http_.Get("/api/v1/jobs", [this](const Request& req, Response& res) {
    JobListQuery query;
    for (const auto& [key, value] : req.params) {
      if (key == "status") {
        auto status = ParseJobStatus(value);
        if (!status)
          return SendError(res, 400, "invalid_argument", "unknown status '" + value + "'");
        query.status = status;
      } else if (key == "cursor") {
        query.cursor = value;
      } else if (key == "limit") {
        int limit = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
        if (ec != std::errc() || end != value.data() + value.size() || limit < 1 || limit > 500) {
          return SendError(res, 400, "invalid_argument", "'limit' must be an integer in [1, 500]");
        }
        query.limit = limit;
      } else {
        return SendError(res, 400, "invalid_argument",
                         "unknown query parameter '" + key + "' (allowed: status, cursor, limit)");
      }
    }
    auto page = jobs_.List(query);
    if (!page.ok()) return SendError(res, page.status());
    nlohmann::json jobs = nlohmann::json::array();
    for (const Job& job : page->jobs) {
      nlohmann::json j = JobToJson(job);
      j["stage"] = pipeline::JobStage(job);
      j["download_name"] = DownloadName(job);
      jobs.push_back(std::move(j));
    }
    SendJson(res, 200, {{"jobs", std::move(jobs)}, {"next_cursor", page->next_cursor}});
  });

  // Job detail is what pages and scripts poll; a view younger than detail_cache_ttl is served
  // from memory, so polling load does not reach the job store. When it expires, one request
  // rebuilds it while the others keep serving the expired body (rather than every concurrent
  // request reading the store at once, which under load made a latency spike every TTL).
  // Changes made through this API drop the job's view at once; progress made by workers shows
  // within the TTL plus one rebuild.
  http_.Get(R"(/api/v1/jobs/([^/]+))", [this](const Request& req, Response& res) {
    auto id = JobIdFrom(req);
    if (!id.ok()) return SendError(res, id.status());
    const auto now = std::chrono::steady_clock::now();
    const bool caching = options_.detail_cache_ttl.count() > 0;
    std::uint64_t epoch = 0;
    if (caching) {
      std::lock_guard lock(views_mutex_);
      auto it = views_.find(*id);
      if (it != views_.end() &&
          (now - it->second.made < options_.detail_cache_ttl || it->second.refreshing)) {
        res.set_header("Cache-Control", "no-store");
        res.set_content(it->second.body, "application/json");
        return;
      }
      if (it != views_.end()) it->second.refreshing = true;
      epoch = views_epoch_;
    }
    auto progress = service_->Progress(*id);
    if (!progress.ok()) {
      std::lock_guard lock(views_mutex_);
      auto it = views_.find(*id);
      if (it != views_.end()) it->second.refreshing = false;
      return SendError(res, progress.status());
    }
    std::string body = JobView(*progress, options_.direct_transfers)
                           .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    {
      std::lock_guard lock(views_mutex_);
      if (caching && epoch == views_epoch_) {
        if (views_.size() >= kMaxCachedViews) views_.clear();
        views_[*id] = CachedView{body, now, false};
      }
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::move(body), "application/json");
  });

  http_.Delete(R"(/api/v1/jobs/([^/]+))", [this](const Request& req, Response& res) {
    auto id = JobIdFrom(req);
    if (!id.ok()) return SendError(res, id.status());
    ForgetView(*id);
    auto job = service_->Delete(*id);
    ForgetView(*id);
    if (!job.ok()) return SendError(res, job.status());
    SendJson(res, 200, JobToJson(*job));
  });

  using Action = Result<Job> (pipeline::JobService::*)(std::string_view);
  const std::pair<const char*, Action> actions[] = {
      {R"(/api/v1/jobs/([^/]+)/cancel)", &pipeline::JobService::Cancel},
      {R"(/api/v1/jobs/([^/]+)/retry)", &pipeline::JobService::Retry},
  };
  for (const auto& [pattern, action] : actions) {
    http_.Post(pattern, [this, action = action](const Request& req, Response& res) {
      auto id = JobIdFrom(req);
      if (!id.ok()) return SendError(res, id.status());
      ForgetView(*id);
      auto job = ((*service_).*action)(*id);
      ForgetView(*id);
      if (!job.ok()) return SendError(res, job.status());
      auto progress = service_->Progress(*id);
      if (!progress.ok()) return SendError(res, progress.status());
      SendJson(res, 200, JobView(*progress, options_.direct_transfers));
    });
  }

  // Server-sent events: one "progress" event whenever the job's view changes, a comment line as
  // keep-alive, and the stream ends after the job reaches a terminal status.
  http_.Get(R"(/api/v1/jobs/([^/]+)/events)", [this](const Request& req, Response& res) {
    auto id = JobIdFrom(req);
    if (!id.ok()) return SendError(res, id.status());
    auto first = service_->Progress(*id);
    if (!first.ok()) return SendError(res, first.status());
    struct StreamState {
      std::string job_id;
      std::string last;
      bool started = false;
      int quiet_ticks = 0;
    };
    auto state = std::make_shared<StreamState>();
    state->job_id = *id;
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider("text/event-stream", [this, state](std::size_t,
                                                                        httplib::DataSink& sink) {
      if (state->started) {
        // Wait one interval, in short steps so Stop() and a closed client end it quickly.
        const auto until = std::chrono::steady_clock::now() + options_.event_interval;
        while (std::chrono::steady_clock::now() < until) {
          if (stopping_ || !sink.is_writable()) {
            sink.done();
            return true;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
      state->started = true;
      auto progress = service_->Progress(state->job_id);
      if (!progress.ok()) {
        const std::string event = "event: error\ndata: " + ErrorBody(progress.status()) + "\n\n";
        sink.write(event.data(), event.size());
        sink.done();
        return true;
      }
      std::string data = JobView(*progress, options_.direct_transfers)
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (data != state->last) {
        const std::string event = "event: progress\ndata: " + data + "\n\n";
        if (!sink.write(event.data(), event.size())) return false;
        state->last = std::move(data);
        state->quiet_ticks = 0;
      } else if (++state->quiet_ticks % 30 == 0) {
        constexpr std::string_view kPing = ": keep-alive\n\n";
        if (!sink.write(kPing.data(), kPing.size())) return false;
      }
      if (IsTerminal(progress->job.status) || stopping_) sink.done();
      return true;
    });
  });

  // The result: whole, or one byte range (players seek with Range); ?download=1 makes the
  // browser save it under its layout-suffixed name.
  http_.Get(R"(/api/v1/jobs/([^/]+)/output)", [this](const Request& req, Response& res) {
    auto id = JobIdFrom(req);
    if (!id.ok()) return SendError(res, id.status());
    auto job = service_->Get(*id);
    if (!job.ok()) return SendError(res, job.status());
    if (job->status != JobStatus::kCompleted) {
      return SendError(res, 409, "conflict",
                       "job " + *id + " is " + std::string(JobStatusName(job->status)) +
                           "; its output exists once it is completed");
    }
    auto key = BuildFinalKey(*id);
    if (!key.ok()) return SendError(res, key.status());
    if (options_.direct_transfers) {
      // The store serves the bytes (and the Range requests of players) itself.
      auto url = objects_.SignedUrl(*key, SignedUrlMethod::kGet, options_.signed_url_ttl,
                                    req.has_param("download") ? DownloadName(*job) : "");
      if (!url.ok()) return SendError(res, url.status());
      res.set_header("Cache-Control", "no-store");
      res.set_redirect(*url, 302);
      return;
    }
    auto head = objects_.Head(*key);
    if (!head.ok()) return SendError(res, head.status());
    const std::uint64_t size = head->size;
    res.set_header("Accept-Ranges", "bytes");
    res.set_header("Cache-Control", "private, max-age=60");
    if (req.has_param("download")) {
      res.set_header("Content-Disposition", "attachment; filename=\"" + DownloadName(*job) + "\"");
    }
    ByteRange range{0, size};
    int status = 200;
    if (req.has_header("Range")) {
      auto parsed = ParseByteRange(req.get_header_value("Range"), size);
      if (!parsed.ok()) {
        res.set_header("Content-Range", "bytes */" + std::to_string(size));
        return SendError(res, 416, "range_not_satisfiable", parsed.status().message());
      }
      range = *parsed;
      status = 206;
      res.set_header("Content-Range", "bytes " + std::to_string(range.offset) + "-" +
                                          std::to_string(range.offset + range.length - 1) + "/" +
                                          std::to_string(size));
    }
    res.status = status;
    if (range.length == 0) {
      res.set_content("", "video/mp4");
      return;
    }
    res.set_content_provider(range.length, "video/mp4",
                             [this, key = *key, base = range.offset](
                                 std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                               auto chunk = objects_.ReadRange(
                                   key, base + offset, std::min<std::uint64_t>(length, kReadChunk));
                               if (!chunk.ok() || chunk->empty()) return false;
                               return sink.write(chunk->data(), chunk->size());
                             });
  });
}

void HttpServer::Impl::RegisterOperatorRoutes() {
  auto all_queues = [this] {
    std::vector<WorkQueue*> out;
    for (WorkQueue* q :
         {queues_.chunking, queues_.segments, queues_.reassembly, queues_.deletion}) {
      if (q != nullptr) out.push_back(q);
    }
    return out;
  };
  auto find_queue = [all_queues](const std::string& name) -> WorkQueue* {
    for (WorkQueue* q : all_queues()) {
      if (q->name() == name) return q;
    }
    return nullptr;
  };

  http_.Get("/api/v1/queues", [all_queues](const Request&, Response& res) {
    nlohmann::json queues = nlohmann::json::array();
    for (WorkQueue* q : all_queues()) {
      auto depth = q->Depth();
      if (!depth.ok()) return SendError(res, depth.status());
      queues.push_back({{"name", q->name()},
                        {"visible", depth->visible},
                        {"in_flight", depth->in_flight},
                        {"delayed", depth->delayed},
                        {"dead_letter", depth->dead_letter}});
    }
    SendJson(res, 200, {{"queues", std::move(queues)}});
  });

  http_.Get(R"(/api/v1/queues/([^/]+)/dlq)", [find_queue](const Request& req, Response& res) {
    WorkQueue* queue = find_queue(req.matches[1]);
    if (queue == nullptr) return SendError(res, 404, "not_found", "unknown queue");
    int limit = 100;
    if (req.has_param("limit")) {
      const std::string value = req.get_param_value("limit");
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc() || end != value.data() + value.size() || limit < 1 || limit > 1000) {
        return SendError(res, 400, "invalid_argument", "'limit' must be an integer in [1, 1000]");
      }
    }
    auto messages = queue->ListDeadLetters(limit);
    if (!messages.ok()) return SendError(res, messages.status());
    nlohmann::json out = nlohmann::json::array();
    for (const QueueMessage& m : *messages) {
      out.push_back({{"message_id", m.message_id},
                     {"body", m.body},
                     {"job_id", JobIdForLog(m.body)},
                     {"receive_count", m.receive_count},
                     {"sent_at", FormatTimestamp(m.sent_at)},
                     {"reason", m.dead_letter_reason}});
    }
    SendJson(res, 200, {{"queue", queue->name()}, {"messages", std::move(out)}});
  });

  for (const bool replay : {true, false}) {
    const std::string pattern =
        std::string(R"(/api/v1/queues/([^/]+)/dlq/)") + (replay ? "replay" : "purge");
    http_.Post(pattern, [find_queue, replay](const Request& req, Response& res) {
      WorkQueue* queue = find_queue(req.matches[1]);
      if (queue == nullptr) return SendError(res, 404, "not_found", "unknown queue");
      std::string message_id;
      if (!req.body.empty()) {
        nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
          return SendError(res, 400, "invalid_json", "the request body must be a JSON object");
        }
        for (const auto& [key, value] : body.items()) {
          if (key != "message_id" || !value.is_string()) {
            return SendError(res, 400, "invalid_argument",
                             "the only field is 'message_id', a string");
          }
          message_id = value.get<std::string>();
        }
      }
      auto count =
          replay ? queue->ReplayDeadLetters(message_id) : queue->PurgeDeadLetters(message_id);
      if (!count.ok()) return SendError(res, count.status());
      SendJson(res, 200, {{"queue", queue->name()}, {replay ? "replayed" : "purged", *count}});
    });
  }

  http_.Get("/metrics", [this, all_queues](const Request&, Response& res) {
    std::vector<WorkQueue*> queues = all_queues();
    // A queue that cannot report keeps its last values; /metrics still answers.
    (void)pipeline::PublishQueueDepths(metrics_, queues);
    (void)pipeline::PublishJobCounts(metrics_, jobs_);
    res.set_content(metrics_.RenderPrometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });

  http_.Get("/healthz", [](const Request&, Response& res) {
    SendJson(res, 200, {{"status", "ok"}});
  });

  http_.Get("/readyz", [this, all_queues](const Request&, Response& res) {
    JobListQuery query;
    query.limit = 1;
    auto page = jobs_.List(query);
    if (!page.ok()) {
      return SendError(res, 503, "unavailable", "job store: " + page.status().ToString());
    }
    for (WorkQueue* q : all_queues()) {
      auto depth = q->Depth();
      if (!depth.ok()) {
        return SendError(res, 503, "unavailable",
                         "queue " + q->name() + ": " + depth.status().ToString());
      }
    }
    SendJson(res, 200, {{"status", "ready"}});
  });
}

HttpServer::HttpServer(HttpServerOptions options, JobStore& jobs, ObjectStore& objects,
                       ServerQueues queues, pipeline::MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), jobs, objects, queues, metrics)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() { return impl_->Start(); }

void HttpServer::Stop() { impl_->Stop(); }

int HttpServer::port() const { return impl_->port_; }

}  // namespace stereospot::server
