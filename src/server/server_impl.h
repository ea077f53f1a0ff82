// Internal to src/server: the HttpServer's state and route handlers, shared by the translation
// units that register routes (http_server.cc: jobs, operators, health, UI; upload_routes.cc:
// uploads). Only these files include the HTTP library, which is slow to compile.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "pipeline/job_service.h"
#include "pipeline/metrics.h"
#include "server/http_server.h"

namespace stereospot::server {

struct Session {
  std::string csrf_token;
  std::int64_t expires_at = 0;  // Unix ms
};

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, JobStore& jobs, ObjectStore& objects, ServerQueues queues,
       pipeline::MetricsRegistry& metrics);

  Status Start();
  void Stop();

  // Route registration, split by file.
  void RegisterJobRoutes();
  void RegisterOperatorRoutes();
  void RegisterWebRoutes();
  void RegisterUploadRoutes();

  // Replies.
  static void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
  static void SendError(httplib::Response& res, const Status& status);
  static void SendError(httplib::Response& res, int http_status, std::string_view code,
                        std::string_view message);

  // The job id of a route's first capture, validated (kInvalidArgument when malformed).
  static Result<std::string> JobIdFrom(const httplib::Request& req);

  // Authentication and CSRF for one request: true when it may go on; otherwise the 401 or 403
  // answer is in `res`.
  bool Authorize(const httplib::Request& req, httplib::Response& res);
  // The CSRF token of the request's live session, if its cookie names one.
  std::optional<std::string> SessionFor(const httplib::Request& req);
  std::string NewSession();
  void EndSession(const httplib::Request& req);

  std::string RouteLabel(const httplib::Request& req) const;
  // Drops the cached detail view of a job this server just changed.
  void ForgetView(const std::string& job_id);

  HttpServerOptions options_;
  JobStore& jobs_;
  ObjectStore& objects_;
  ServerQueues queues_;
  pipeline::MetricsRegistry& metrics_;
  std::unique_ptr<pipeline::JobService> service_;  // made by Start()
  httplib::Server http_;
  std::thread thread_;
  int port_ = 0;
  int listen_socket_ = -1;  // the listening socket, owned by http_
  std::atomic<bool> stopping_{false};

  std::mutex sessions_mutex_;
  std::map<std::string, Session> sessions_;  // by session id

  struct CachedView {
    std::string body;
    std::chrono::steady_clock::time_point made;
    bool refreshing = false;  // one request is rebuilding it; the others serve this body
  };
  std::mutex views_mutex_;
  std::map<std::string, CachedView> views_;  // job detail bodies by job id
  // Bumped by ForgetView: a rebuild that started before a change does not store its view.
  std::uint64_t views_epoch_ = 0;

  std::mutex uploads_mutex_;
  std::set<std::string> active_uploads_;  // jobs with an upload request in progress
};

}  // namespace stereospot::server
