// The /api/v1 HTTP API end to end: a real HttpServer on 127.0.0.1 (free port) over the embedded
// backend (SQLite file + local object directory), driven by cpp-httplib's client. Every endpoint
// and its error paths: unknown and malformed ids, malformed JSON, wrong types, out-of-range
// parameters, oversized bodies, bad Range headers, missing or wrong tokens, CSRF, uploads of
// non-videos, resumable (tus) uploads. No workers run here: jobs are moved along the status
// machine through the JobStore where a test needs a later status.
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/local/fs_object_store.h"
#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
#include "core/ids.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "server/http_server.h"

namespace stereospot::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kToken[] = "test-token-0123456789abcdef";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A 2 s 320x180 H.264 clip, made once per binary with ffmpeg's lavfi source.
const std::string& ClipBytes() {
  static const std::string bytes = [] {
    const fs::path path = fs::path(::testing::TempDir()) / ("api-clip-" + RandomHex(4) + ".mp4");
    const std::string command =
        "ffmpeg -v error -y -f lavfi -i testsrc2=size=320x180:rate=25:duration=2 -c:v libx264 "
        "-pix_fmt yuv420p '" +
        path.string() + "'";
    if (std::system(command.c_str()) != 0) {
      ADD_FAILURE() << "cannot make a test clip with ffmpeg (apt-get install ffmpeg, or run "
                       "scripts/install-deps.sh)";
      return std::string();
    }
    std::string data = ReadFile(path);
    fs::remove(path);
    return data;
  }();
  return bytes;
}

std::string UrlEncode(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

json Body(const httplib::Result& res) {
  if (!res) return json();
  return json::parse(res->body, nullptr, false);
}

// Checks the JSON error shape and returns the code.
std::string ErrorCode(const httplib::Result& res) {
  EXPECT_TRUE(res);
  if (!res) return "";
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << res->body;
  json body = Body(res);
  EXPECT_TRUE(body.is_object() && body.contains("error")) << res->body;
  if (!body.is_object() || !body.contains("error")) return "";
  EXPECT_TRUE(body["error"]["message"].is_string());
  EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  return body["error"]["code"].get<std::string>();
}

class ServerApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("server-api-" + RandomHex(6));
    fs::create_directories(dir_);
    auto db = local::SqliteDatabase::Open(dir_ / "stereospot.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    jobs_ = std::make_unique<local::SqliteJobStore>(db_);
    local::SqliteQueueOptions queue_options;
    queue_options.max_receives = 1;  // one failed delivery sends a message to its DLQ
    queue_options.poll_interval = std::chrono::milliseconds(20);
    for (std::string_view name : kAllQueueNames) {
      queues_.push_back(
          std::make_unique<local::SqliteWorkQueue>(db_, std::string(name), queue_options));
    }
    auto objects = local::FsObjectStore::Open(dir_ / "objects");
    ASSERT_TRUE(objects.ok()) << objects.status().ToString();
    objects_ = std::move(*objects);
  }

  void TearDown() override {
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  WorkQueue& Queue(std::string_view name) {
    for (auto& q : queues_) {
      if (q->name() == name) return *q;
    }
    ADD_FAILURE() << "no queue " << name;
    return *queues_.front();
  }

  HttpServerOptions Options() {
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.upload_dir = dir_ / "uploads";
    options.threads = 16;
    options.event_interval = std::chrono::milliseconds(50);
    return options;
  }

  ServerQueues Queues() {
    return ServerQueues{&Queue(kChunkingQueue), &Queue(kSegmentsQueue), &Queue(kReassemblyQueue),
                        &Queue(kDeletionQueue)};
  }

  void StartServer(HttpServerOptions options) {
    server_ =
        std::make_unique<HttpServer>(std::move(options), *jobs_, *objects_, Queues(), metrics_);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(30);
  }
  void StartServer() { StartServer(Options()); }

  httplib::Client& client() { return *client_; }

  // POST /api/v1/jobs with `body`; returns the new job's JSON (fails the test otherwise).
  json CreateJob(const json& body = {{"title", "Test clip"}, {"filename", "clip.mp4"}}) {
    auto res = client().Post("/api/v1/jobs", body.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return json();
    EXPECT_EQ(res->status, 201) << res->body;
    return Body(res);
  }

  std::string CreateJobId() { return CreateJob().value("job_id", ""); }

  // A job moved to `status` in the store (after an upload).
  std::string JobIn(JobStatus status) {
    const std::string id = CreateJobId();
    JobUpdate uploaded;
    uploaded.uploaded_at = NowMillis();
    uploaded.source_bytes = 10;
    EXPECT_TRUE(jobs_->UpdateFields(id, uploaded, std::nullopt).ok());
    if (status == JobStatus::kCreated) return id;
    Move(id, JobStatus::kCreated, JobStatus::kChunkingInProgress);
    if (status == JobStatus::kChunkingInProgress) return id;
    if (status == JobStatus::kFailed || status == JobStatus::kCancelled) {
      JobUpdate failure;
      if (status == JobStatus::kFailed) failure.error = JobError{"chunking", "the source is cut"};
      Move(id, JobStatus::kChunkingInProgress, status, failure);
      return id;
    }
    JobUpdate planned;
    planned.total_segments = 2;
    Move(id, JobStatus::kChunkingInProgress, JobStatus::kChunkingComplete, planned);
    if (status == JobStatus::kChunkingComplete) return id;
    Move(id, JobStatus::kChunkingComplete, JobStatus::kReassembling);
    if (status == JobStatus::kReassembling) return id;
    Move(id, JobStatus::kReassembling, JobStatus::kCompleted);
    return id;
  }

  void Move(const std::string& id, JobStatus from, JobStatus to, const JobUpdate& update = {}) {
    Status s = jobs_->TransitionStatus(id, from, to, update);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // A completed job whose final output holds `content`.
  std::string CompletedJobWithOutput(const std::string& content) {
    const std::string id = JobIn(JobStatus::kCompleted);
    const fs::path file = dir_ / "final.mp4";
    std::ofstream(file, std::ios::binary) << content;
    auto key = BuildFinalKey(id);
    EXPECT_TRUE(key.ok());
    EXPECT_TRUE(objects_->PutFile(*key, file).ok());
    return id;
  }

  std::int64_t Visible(std::string_view queue) {
    auto depth = Queue(queue).Depth();
    EXPECT_TRUE(depth.ok());
    return depth.ok() ? depth->visible : -1;
  }

  fs::path dir_;
  std::shared_ptr<local::SqliteDatabase> db_;
  std::unique_ptr<local::SqliteJobStore> jobs_;
  std::vector<std::unique_ptr<local::SqliteWorkQueue>> queues_;
  std::unique_ptr<local::FsObjectStore> objects_;
  pipeline::MetricsRegistry metrics_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

// ---------- health, metrics, UI ----------

TEST_F(ServerApiTest, HealthAndReadiness) {
  StartServer();
  auto health = client().Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(Body(health)["status"], "ok");
  auto ready = client().Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(Body(ready)["status"], "ready");
}

TEST_F(ServerApiTest, MetricsInPrometheusFormat) {
  StartServer();
  CreateJobId();
  CreateJobId();
  JobIn(JobStatus::kFailed);
  ASSERT_TRUE(client().Get("/healthz"));
  // Requests are counted just after their response is written: poll until the count shows.
  auto res = client().Get("/metrics");
  for (int i = 0; i < 50 && res && res->body.find("route=\"/healthz\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    res = client().Get("/metrics");
  }
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(res->body.find("# TYPE stereospot_queue_depth gauge"), std::string::npos);
  EXPECT_NE(res->body.find("stereospot_queue_depth{queue=\"chunking\",state=\"visible\"} 0"),
            std::string::npos)
      << res->body;
  EXPECT_NE(res->body.find("stereospot_http_requests_total{code=\"200\",method=\"GET\","
                           "route=\"/healthz\"} 1"),
            std::string::npos)
      << res->body;
  EXPECT_NE(res->body.find("stereospot_http_request_seconds_bucket"), std::string::npos);
  // Jobs by status, every status present (0 where there is none).
  EXPECT_NE(res->body.find("stereospot_jobs{status=\"created\"} 2\n"), std::string::npos)
      << res->body;
  EXPECT_NE(res->body.find("stereospot_jobs{status=\"failed\"} 1\n"), std::string::npos);
  EXPECT_NE(res->body.find("stereospot_jobs{status=\"completed\"} 0\n"), std::string::npos);
  EXPECT_EQ(res->body.find("stereospot_jobs{status=\"deleted\"}"), std::string::npos);
}

TEST_F(ServerApiTest, ServesTheEmbeddedWebUi) {
  StartServer();
  auto index = client().Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("<script src=\"/assets/app.js\""), std::string::npos);
  EXPECT_NE(index->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  for (const auto& [path, type] : std::vector<std::pair<std::string, std::string>>{
           {"/assets/app.js", "text/javascript; charset=utf-8"},
           {"/assets/style.css", "text/css; charset=utf-8"}}) {
    auto res = client().Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_EQ(res->get_header_value("Content-Type"), type);
    EXPECT_GT(res->body.size(), 1000u) << path;
  }
  EXPECT_EQ(ErrorCode(client().Get("/assets/missing.js")), "not_found");
  EXPECT_EQ(ErrorCode(client().Get("/assets/../../etc/passwd")), "not_found");
}

TEST_F(ServerApiTest, UnknownRoutesAreJson404) {
  StartServer();
  auto res = client().Get("/api/v1/nothing");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(ErrorCode(res), "not_found");
}

// ---------- create ----------

TEST_F(ServerApiTest, CreateJobValidatesAndReturnsWhereToUpload) {
  StartServer();
  json body = {{"title", "Holiday"},
               {"filename", "Holiday.MOV"},
               {"params", {{"layout", "half-sbs"}, {"divergence", 3.0}, {"convergence", 0.25}}}};
  auto res = client().Post("/api/v1/jobs", body.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  json job = Body(res);
  const std::string id = job["job_id"];
  EXPECT_TRUE(IsValidJobId(id));
  EXPECT_EQ(res->get_header_value("Location"), "/api/v1/jobs/" + id);
  EXPECT_EQ(job["status"], "created");
  EXPECT_EQ(job["title"], "Holiday");
  EXPECT_EQ(job["source_key"], "input/" + id + "/source.mov");
  EXPECT_EQ(job["params"]["layout"], "half-sbs");
  EXPECT_EQ(job["params"]["divergence"], 3.0);
  EXPECT_EQ(job["params"]["crf"], 20);  // defaults filled in
  EXPECT_EQ(job["download_name"], "Holiday_LR.mp4");
  EXPECT_EQ(job["upload"]["url"], "/api/v1/jobs/" + id + "/source");
  EXPECT_EQ(job["upload"]["method"], "PUT");
  EXPECT_EQ(job["upload"]["resumable_url"], "/api/v1/jobs/" + id + "/upload");
  EXPECT_EQ(job["progress"]["stage"], "waiting_for_upload");
  EXPECT_EQ(Visible(kChunkingQueue), 0);
}

TEST_F(ServerApiTest, CreateJobRejectsBadRequests) {
  StartServer();
  struct Case {
    std::string body;
    std::string code;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {"{not json", "invalid_json", "JSON"},
      {"[1, 2]", "invalid_json", "object"},
      {R"({"title": 5})", "invalid_argument", "title"},
      {R"({"filename": ["a.mp4"]})", "invalid_argument", "filename"},
      {R"({"params": "sbs"})", "invalid_argument", "params"},
      {R"({"colour": "red"})", "invalid_argument", "colour"},
      {R"({"params": {"divergence": "big"}})", "invalid_argument", "divergence"},
      {R"({"params": {"divergence": 50}})", "invalid_argument", "divergence"},
      {R"({"params": {"convergence": -0.5}})", "invalid_argument", "convergence"},
      {R"({"params": {"layout": "3d"}})", "invalid_argument", "layout"},
      {R"({"params": {"crf": 99}})", "invalid_argument", "crf"},
      {R"({"params": {"warp": 1}})", "invalid_argument", "warp"},
      {R"({"filename": "movie.exe"})", "invalid_argument", "extension"},
      {R"({"title": ")" + std::string(300, 'x') + R"("})", "invalid_argument", "title"},
  };
  for (const Case& c : cases) {
    auto res = client().Post("/api/v1/jobs", c.body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << c.body << " -> " << res->body;
    EXPECT_EQ(ErrorCode(res), c.code) << c.body;
    EXPECT_NE(res->body.find(c.mentions), std::string::npos) << c.body << " -> " << res->body;
  }
  auto page = jobs_->List(JobListQuery{});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->jobs.empty()) << "no job is created by a bad request";
}

TEST_F(ServerApiTest, OversizedJsonBodiesAreRefused) {
  HttpServerOptions options = Options();
  options.max_json_bytes = 1024;
  StartServer(options);
  json body = {{"title", std::string(2000, 'x')}};
  auto res = client().Post("/api/v1/jobs", body.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(ErrorCode(res), "payload_too_large");
  // The server still answers afterwards.
  httplib::Client fresh("127.0.0.1", server_->port());
  auto health = fresh.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// ---------- detail and list ----------

TEST_F(ServerApiTest, JobDetailWithProgress) {
  StartServer();
  const std::string id = JobIn(JobStatus::kChunkingComplete);
  SegmentCompletion done;
  done.job_id = id;
  done.segment_index = 1;
  done.output_key = "jobs/" + id + "/segments/00001.mp4";
  done.completed_at = NowMillis();
  ASSERT_TRUE(jobs_->PutCompletion(done).ok());
  auto res = client().Get("/api/v1/jobs/" + id);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json job = Body(res);
  EXPECT_EQ(job["job_id"], id);
  EXPECT_EQ(job["status"], "chunking_complete");
  EXPECT_EQ(job["progress"]["stage"], "converting");
  EXPECT_EQ(job["progress"]["segments_completed"], 1);
  EXPECT_EQ(job["progress"]["total_segments"], 2);
  EXPECT_EQ(job["progress"]["segments"], json::array({"pending", "done"}));
  EXPECT_EQ(job["progress"]["percent"], 50.0);
  EXPECT_EQ(job["progress"]["stalled"], false);
  EXPECT_TRUE(job["progress"].contains("eta_seconds"));
  EXPECT_TRUE(job["error"].is_null());
  EXPECT_EQ(job["links"]["events"], "/api/v1/jobs/" + id + "/events");

  const std::string failed = JobIn(JobStatus::kFailed);
  json f = Body(client().Get("/api/v1/jobs/" + failed));
  EXPECT_EQ(f["error"]["stage"], "chunking");
  EXPECT_EQ(f["error"]["message"], "the source is cut");
}

TEST_F(ServerApiTest, JobDetailShowsApiChangesAtOnceAndWorkerProgressWithinTheCacheTtl) {
  HttpServerOptions options = Options();
  options.detail_cache_ttl = std::chrono::milliseconds(200);
  StartServer(options);
  const std::string id = JobIn(JobStatus::kChunkingInProgress);
  EXPECT_EQ(Body(client().Get("/api/v1/jobs/" + id))["status"], "chunking_in_progress");
  // A worker's change (straight to the store) shows once the cached view has expired.
  JobUpdate planned;
  planned.total_segments = 3;
  Move(id, JobStatus::kChunkingInProgress, JobStatus::kChunkingComplete, planned);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  json later = Body(client().Get("/api/v1/jobs/" + id));
  EXPECT_EQ(later["status"], "chunking_complete");
  EXPECT_EQ(later["progress"]["total_segments"], 3);
  // A change made through the API shows in the very next read.
  ASSERT_TRUE(client().Post("/api/v1/jobs/" + id + "/cancel", "", "application/json"));
  EXPECT_EQ(Body(client().Get("/api/v1/jobs/" + id))["status"], "cancelled");
  ASSERT_TRUE(client().Post("/api/v1/jobs/" + id + "/retry", "", "application/json"));
  EXPECT_EQ(Body(client().Get("/api/v1/jobs/" + id))["status"], "created");
}

TEST_F(ServerApiTest, UnknownAndMalformedJobIds) {
  StartServer();
  const std::string unknown = NewJobId();
  for (const std::string suffix : {"", "/events", "/output"}) {
    auto res = client().Get("/api/v1/jobs/" + unknown + suffix);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << suffix << " " << res->body;
    EXPECT_EQ(ErrorCode(res), "not_found");
  }
  for (const std::string action : {"cancel", "retry"}) {
    auto res = client().Post("/api/v1/jobs/" + unknown + "/" + action, "", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << action;
  }
  auto del = client().Delete("/api/v1/jobs/" + unknown);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 404);

  for (const std::string bad : {"not-a-uuid", "3F0C1A2B-9D4E-4F6A-8B7C-0D1E2F3A4B5C", "%2e%2e"}) {
    auto res = client().Get("/api/v1/jobs/" + bad);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << bad;
    EXPECT_EQ(ErrorCode(res), "invalid_argument");
    auto upload = client().Put("/api/v1/jobs/" + bad + "/source", "x", "video/mp4");
    ASSERT_TRUE(upload);
    EXPECT_EQ(upload->status, 400) << bad;
  }
}

TEST_F(ServerApiTest, ListJobsByStatusWithCursorPagination) {
  StartServer();
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) created.insert(CreateJobId());
  const std::string failed = JobIn(JobStatus::kFailed);

  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    std::string path = "/api/v1/jobs?status=created&limit=2";
    if (!cursor.empty()) path += "&cursor=" + UrlEncode(cursor);
    auto res = client().Get(path);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    json page = Body(res);
    EXPECT_LE(page["jobs"].size(), 2u);
    for (const json& j : page["jobs"]) {
      EXPECT_EQ(j["status"], "created");
      EXPECT_TRUE(seen.insert(j["job_id"].get<std::string>()).second) << "repeated";
    }
    cursor = page["next_cursor"];
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(seen, created);
  EXPECT_GE(pages, 3);

  json failed_page = Body(client().Get("/api/v1/jobs?status=failed"));
  ASSERT_EQ(failed_page["jobs"].size(), 1u);
  EXPECT_EQ(failed_page["jobs"][0]["job_id"], failed);
  EXPECT_EQ(failed_page["jobs"][0]["error"]["message"], "the source is cut");
  json all = Body(client().Get("/api/v1/jobs"));
  EXPECT_EQ(all["jobs"].size(), 6u);

  for (const std::string bad : {"status=done", "limit=0", "limit=501", "limit=ten", "limit=5x",
                                "cursor=%21%21garbage", "sort=title"}) {
    auto res = client().Get("/api/v1/jobs?" + bad);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << bad << " " << res->body;
    EXPECT_EQ(ErrorCode(res), "invalid_argument") << bad;
  }
}

// ---------- upload ----------

TEST_F(ServerApiTest, UploadAVideoStartsChunking) {
  StartServer();
  const std::string id = CreateJobId();
  auto res = client().Put("/api/v1/jobs/" + id + "/source", ClipBytes(), "video/mp4");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json job = Body(res);
  EXPECT_EQ(job["source_bytes"], ClipBytes().size());
  EXPECT_NE(job["uploaded_at"], "");
  EXPECT_EQ(job["progress"]["stage"], "queued");
  auto head = objects_->Head("input/" + id + "/source.mp4");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, ClipBytes().size());
  EXPECT_EQ(Visible(kChunkingQueue), 1);
  EXPECT_TRUE(fs::is_empty(dir_ / "uploads")) << "spool files are removed";

  // The same file again is harmless; a different one is a conflict.
  auto again = client().Put("/api/v1/jobs/" + id + "/source", ClipBytes(), "video/mp4");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  auto other = client().Put("/api/v1/jobs/" + id + "/source", ClipBytes() + "x", "video/mp4");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 409);
  EXPECT_EQ(ErrorCode(other), "conflict");
}

TEST_F(ServerApiTest, UploadOfATextFileIsRefusedWithAClearError) {
  StartServer();
  const std::string id = CreateJobId();
  auto res = client().Put("/api/v1/jobs/" + id + "/source",
                          "Dear diary, this is not a video at all.\n", "video/mp4");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 422) << res->body;
  EXPECT_EQ(ErrorCode(res), "not_a_video");
  EXPECT_EQ(Body(res)["error"]["message"].get<std::string>().rfind("not a video: ", 0), 0u);
  json job = Body(client().Get("/api/v1/jobs/" + id));
  EXPECT_EQ(job["status"], "created");
  EXPECT_EQ(job["uploaded_at"], "");
  EXPECT_EQ(Visible(kChunkingQueue), 0);
  EXPECT_TRUE(objects_->Head("input/" + id + "/source.mp4").status().IsNotFound());
}

TEST_F(ServerApiTest, DirectTransferRoutesAreOffWhenThisServerIsTheStore) {
  StartServer();  // direct_transfers defaults to off (the embedded backend's setting)
  json job = CreateJob();
  const std::string id = job["job_id"];
  EXPECT_FALSE(job["upload"].contains("direct_url"));
  EXPECT_FALSE(job["links"].contains("direct_upload"));
  for (const char* route : {"/source-url", "/source-complete"}) {
    auto res = client().Post("/api/v1/jobs/" + id + route, "", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 409) << route << ": " << res->body;
    EXPECT_EQ(ErrorCode(res), "direct_transfers_off") << route;
  }
  auto bad_id = client().Post("/api/v1/jobs/not-a-job/source-url", "", "application/json");
  ASSERT_TRUE(bad_id);
  EXPECT_EQ(bad_id->status, 400) << bad_id->body;
  // The output is served by this server, not redirected.
  const std::string done = CompletedJobWithOutput("bytes of the result");
  auto output = client().Get("/api/v1/jobs/" + done + "/output");
  ASSERT_TRUE(output);
  EXPECT_EQ(output->status, 200);
  EXPECT_EQ(output->body, "bytes of the result");
  EXPECT_EQ(Visible(kChunkingQueue), 0);
}

TEST_F(ServerApiTest, UploadLimitsAndWrongStates) {
  HttpServerOptions options = Options();
  options.max_upload_bytes = 4096;
  StartServer(options);
  const std::string id = CreateJobId();
  auto big = client().Put("/api/v1/jobs/" + id + "/source", std::string(5000, 'v'), "video/mp4");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(ErrorCode(big), "payload_too_large");

  httplib::Client fresh("127.0.0.1", server_->port());
  auto empty = fresh.Put("/api/v1/jobs/" + id + "/source", "", "video/mp4");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400);
  EXPECT_EQ(ErrorCode(empty), "invalid_argument");

  auto unknown = fresh.Put("/api/v1/jobs/" + NewJobId() + "/source", "abc", "video/mp4");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);

  const std::string cancelled = JobIn(JobStatus::kCancelled);
  httplib::Client third("127.0.0.1", server_->port());
  auto late = third.Put("/api/v1/jobs/" + cancelled + "/source", "abc", "video/mp4");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 409);
}

TEST_F(ServerApiTest, ResumableUploadWithTus) {
  StartServer();
  const std::string id = CreateJobId();
  const std::string url = "/api/v1/jobs/" + id + "/upload";
  const std::string& clip = ClipBytes();

  auto options = client().Options(url.c_str());
  ASSERT_TRUE(options);
  EXPECT_EQ(options->status, 204);
  EXPECT_EQ(options->get_header_value("Tus-Version"), "1.0.0");
  EXPECT_NE(options->get_header_value("Tus-Extension").find("creation"), std::string::npos);

  httplib::Headers tus = {{"Tus-Resumable", "1.0.0"}};
  // Missing Tus-Resumable and Upload-Length.
  auto no_version = client().Post(url, httplib::Headers{{"Upload-Length", "10"}}, "", "text/plain");
  ASSERT_TRUE(no_version);
  EXPECT_EQ(no_version->status, 412);
  auto no_length = client().Post(url, tus, "", "text/plain");
  ASSERT_TRUE(no_length);
  EXPECT_EQ(no_length->status, 400);
  auto too_long = client().Post(
      url, httplib::Headers{{"Tus-Resumable", "1.0.0"}, {"Upload-Length", "999999999999999"}}, "",
      "text/plain");
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->status, 413);

  auto created = client().Post(
      url,
      httplib::Headers{{"Tus-Resumable", "1.0.0"}, {"Upload-Length", std::to_string(clip.size())}},
      "", "text/plain");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(created->get_header_value("Location"), url);

  auto head = client().Head(url.c_str(), tus);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Upload-Offset"), "0");
  EXPECT_EQ(head->get_header_value("Upload-Length"), std::to_string(clip.size()));

  const std::size_t half = clip.size() / 2;
  auto patch = [&](std::size_t offset, const std::string& data, const char* type) {
    httplib::Client c("127.0.0.1", server_->port());
    return c.Patch(
        url.c_str(),
        httplib::Headers{{"Tus-Resumable", "1.0.0"}, {"Upload-Offset", std::to_string(offset)}},
        data, type);
  };
  auto first = patch(0, clip.substr(0, half), "application/offset+octet-stream");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 204) << first->body;
  EXPECT_EQ(first->get_header_value("Upload-Offset"), std::to_string(half));
  EXPECT_EQ(Visible(kChunkingQueue), 0) << "not complete yet";

  // A client that lost track asks where to resume.
  auto wrong_offset = patch(0, clip.substr(0, 10), "application/offset+octet-stream");
  ASSERT_TRUE(wrong_offset);
  EXPECT_EQ(wrong_offset->status, 409);
  EXPECT_EQ(ErrorCode(wrong_offset), "offset_mismatch");
  auto wrong_type = patch(half, clip.substr(half), "video/mp4");
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ(wrong_type->status, 415);
  auto past_end = patch(half, clip.substr(half) + "extra", "application/offset+octet-stream");
  ASSERT_TRUE(past_end);
  EXPECT_EQ(past_end->status, 413);

  auto resumed = client().Head(url.c_str(), tus);
  ASSERT_TRUE(resumed);
  const std::size_t offset = std::stoull(resumed->get_header_value("Upload-Offset"));
  EXPECT_EQ(offset, half);
  auto last = patch(offset, clip.substr(offset), "application/offset+octet-stream");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 204) << last->body;
  EXPECT_EQ(last->get_header_value("Upload-Offset"), std::to_string(clip.size()));

  json job = Body(client().Get("/api/v1/jobs/" + id));
  EXPECT_EQ(job["source_bytes"], clip.size());
  EXPECT_EQ(Visible(kChunkingQueue), 1);
  auto gone = client().Head(url.c_str(), tus);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404) << "the partial upload is cleaned up";
}

TEST_F(ServerApiTest, ResumableUploadOfANonVideoIsRefused) {
  StartServer();
  const std::string id = CreateJobId();
  const std::string url = "/api/v1/jobs/" + id + "/upload";
  const std::string text = "plain text, twenty-nine bytes";
  auto created = client().Post(
      url,
      httplib::Headers{{"Tus-Resumable", "1.0.0"}, {"Upload-Length", std::to_string(text.size())}},
      "", "text/plain");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201);
  httplib::Client c("127.0.0.1", server_->port());
  auto patch =
      c.Patch(url.c_str(), httplib::Headers{{"Tus-Resumable", "1.0.0"}, {"Upload-Offset", "0"}},
              text, "application/offset+octet-stream");
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->status, 422);
  EXPECT_EQ(ErrorCode(patch), "not_a_video");
  EXPECT_EQ(Visible(kChunkingQueue), 0);
}

// ---------- cancel, retry, delete ----------

TEST_F(ServerApiTest, CancelRetryDelete) {
  StartServer();
  const std::string id = JobIn(JobStatus::kChunkingInProgress);
  auto cancel = client().Post("/api/v1/jobs/" + id + "/cancel", "", "application/json");
  ASSERT_TRUE(cancel);
  ASSERT_EQ(cancel->status, 200) << cancel->body;
  EXPECT_EQ(Body(cancel)["status"], "cancelled");
  EXPECT_EQ(Visible(kDeletionQueue), 1);

  auto again = client().Post("/api/v1/jobs/" + id + "/cancel", "", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
  EXPECT_EQ(ErrorCode(again), "conflict");

  auto retry = client().Post("/api/v1/jobs/" + id + "/retry", "", "application/json");
  ASSERT_TRUE(retry);
  ASSERT_EQ(retry->status, 200) << retry->body;
  EXPECT_EQ(Body(retry)["status"], "created");
  EXPECT_EQ(Body(retry)["attempts"], 1);
  EXPECT_EQ(Visible(kChunkingQueue), 1) << "the uploaded source is converted again";

  auto retry_again = client().Post("/api/v1/jobs/" + id + "/retry", "", "application/json");
  ASSERT_TRUE(retry_again);
  EXPECT_EQ(retry_again->status, 409);

  auto delete_running = client().Delete("/api/v1/jobs/" + id);
  ASSERT_TRUE(delete_running);
  EXPECT_EQ(delete_running->status, 409);
  EXPECT_NE(delete_running->body.find("cancel"), std::string::npos);

  const std::string finished = JobIn(JobStatus::kCompleted);
  auto del = client().Delete("/api/v1/jobs/" + finished);
  ASSERT_TRUE(del);
  ASSERT_EQ(del->status, 200) << del->body;
  EXPECT_EQ(Body(del)["status"], "deleted");
  EXPECT_EQ(Visible(kDeletionQueue), 2);
  json list = Body(client().Get("/api/v1/jobs"));
  for (const json& j : list["jobs"]) EXPECT_NE(j["job_id"], finished) << "deleted jobs are hidden";
}

// ---------- output ----------

TEST_F(ServerApiTest, OutputDownloadAndRanges) {
  StartServer();
  std::string content;
  for (int i = 0; i < 5000; ++i) content += static_cast<char>('a' + i % 26);
  const std::string id = CompletedJobWithOutput(content);
  const std::string url = "/api/v1/jobs/" + id + "/output";

  auto whole = client().Get(url);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->body, content);
  EXPECT_EQ(whole->get_header_value("Content-Type"), "video/mp4");
  EXPECT_EQ(whole->get_header_value("Accept-Ranges"), "bytes");
  EXPECT_FALSE(whole->has_header("Content-Disposition"));

  auto download = client().Get(url + "?download=1");
  ASSERT_TRUE(download);
  EXPECT_EQ(download->get_header_value("Content-Disposition"),
            "attachment; filename=\"Test_clip_LRF_Full_SBS.mp4\"");

  struct RangeCase {
    std::string header;
    std::size_t offset;
    std::size_t length;
  };
  for (const RangeCase& c : std::vector<RangeCase>{{"bytes=0-99", 0, 100},
                                                   {"bytes=4990-", 4990, 10},
                                                   {"bytes=-7", 4993, 7},
                                                   {"bytes=100-100", 100, 1},
                                                   {"bytes=4000-999999", 4000, 1000}}) {
    auto res = client().Get(url, httplib::Headers{{"Range", c.header}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 206) << c.header;
    EXPECT_EQ(res->body, content.substr(c.offset, c.length)) << c.header;
    EXPECT_EQ(res->get_header_value("Content-Range"), "bytes " + std::to_string(c.offset) + "-" +
                                                          std::to_string(c.offset + c.length - 1) +
                                                          "/5000")
        << c.header;
  }
  for (const std::string bad : {"bytes=5000-", "bytes=0-1,5-6", "bytes=999999-"}) {
    auto res = client().Get(url, httplib::Headers{{"Range", bad}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 416) << bad;
    EXPECT_EQ(ErrorCode(res), "range_not_satisfiable") << bad;
    EXPECT_EQ(res->get_header_value("Content-Range"), "bytes */5000") << bad;
  }
  // A Range the HTTP library itself cannot parse is answered before routing, also as JSON.
  for (const std::string bad : {"bytes=abc", "bytes=9-3", "lines=1-2"}) {
    auto garbage = client().Get(url, httplib::Headers{{"Range", bad}});
    ASSERT_TRUE(garbage);
    EXPECT_EQ(garbage->status, 416) << bad;
    EXPECT_EQ(ErrorCode(garbage), "range_not_satisfiable") << bad;
  }

  // A Range header on another route does not cut its JSON.
  auto detail = client().Get("/api/v1/jobs/" + id, httplib::Headers{{"Range", "bytes=0-3"}});
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->status, 200);
  EXPECT_EQ(Body(detail)["job_id"], id);

  const std::string running = JobIn(JobStatus::kReassembling);
  auto early = client().Get("/api/v1/jobs/" + running + "/output");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 409);
  EXPECT_EQ(ErrorCode(early), "conflict");
}

// ---------- events ----------

TEST_F(ServerApiTest, ServerSentEventsFollowTheJobToTheEnd) {
  StartServer();
  const std::string id = JobIn(JobStatus::kChunkingComplete);
  std::thread worker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    SegmentCompletion c;
    c.job_id = id;
    c.segment_index = 0;
    c.output_key = "jobs/" + id + "/segments/00000.mp4";
    c.completed_at = NowMillis();
    EXPECT_TRUE(jobs_->PutCompletion(c).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    JobUpdate failure;
    failure.error = JobError{"conversion", "boom"};
    EXPECT_TRUE(
        jobs_->TransitionStatus(id, JobStatus::kChunkingComplete, JobStatus::kFailed, failure)
            .ok());
  });
  std::string stream;
  std::string content_type;
  auto res = client().Get(
      "/api/v1/jobs/" + id + "/events",
      [&](const httplib::Response& r) {
        content_type = r.get_header_value("Content-Type");
        return true;
      },
      [&](const char* data, std::size_t n) {
        stream.append(data, n);
        return stream.size() < 1'000'000;
      });
  worker.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(content_type, "text/event-stream");
  std::vector<json> events;
  std::size_t pos = 0;
  while ((pos = stream.find("event: progress\ndata: ", pos)) != std::string::npos) {
    pos += 22;
    auto end = stream.find("\n\n", pos);
    ASSERT_NE(end, std::string::npos);
    events.push_back(json::parse(stream.substr(pos, end - pos)));
  }
  ASSERT_GE(events.size(), 3u) << stream;
  EXPECT_EQ(events.front()["progress"]["segments_completed"], 0);
  EXPECT_EQ(events.back()["status"], "failed");
  EXPECT_EQ(events.back()["error"]["message"], "boom");
  bool saw_one_done = false;
  for (const json& e : events) saw_one_done |= e["progress"]["segments_completed"] == 1;
  EXPECT_TRUE(saw_one_done);
}

// ---------- operators ----------

TEST_F(ServerApiTest, QueueDepthsAndDeadLetters) {
  StartServer();
  const std::string job_id = NewJobId();
  WorkQueue& segments = Queue(kSegmentsQueue);
  ASSERT_TRUE(segments.Send(EncodeJobMessage(JobMessage{job_id})).ok());
  ASSERT_TRUE(segments.Send("not json").ok());
  // max_receives is 1: the first delivery is the last; expired messages go to the DLQ on the
  // next receive.
  ReceiveOptions receive;
  receive.max_messages = 10;
  receive.visibility = std::chrono::milliseconds(1);
  ASSERT_TRUE(segments.Receive(receive).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(segments.Receive(receive).ok());

  json depths = Body(client().Get("/api/v1/queues"));
  ASSERT_EQ(depths["queues"].size(), 4u);
  json seg;
  for (const json& q : depths["queues"]) {
    if (q["name"] == "segments") seg = q;
  }
  EXPECT_EQ(seg["dead_letter"], 2) << depths.dump();

  auto list = client().Get("/api/v1/queues/segments/dlq");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200);
  json messages = Body(list)["messages"];
  ASSERT_EQ(messages.size(), 2u);
  std::string job_message_id;
  for (const json& m : messages) {
    if (m["job_id"] == job_id) job_message_id = m["message_id"];
  }
  ASSERT_FALSE(job_message_id.empty()) << messages.dump();

  auto replay = client().Post("/api/v1/queues/segments/dlq/replay",
                              json{{"message_id", job_message_id}}.dump(), "application/json");
  ASSERT_TRUE(replay);
  ASSERT_EQ(replay->status, 200) << replay->body;
  EXPECT_EQ(Body(replay)["replayed"], 1);
  EXPECT_EQ(Visible(kSegmentsQueue), 1);

  auto unknown = client().Post("/api/v1/queues/segments/dlq/purge",
                               json{{"message_id", "no-such-message"}}.dump(), "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404) << unknown->body;
  auto purge = client().Post("/api/v1/queues/segments/dlq/purge", "", "application/json");
  ASSERT_TRUE(purge);
  ASSERT_EQ(purge->status, 200) << purge->body;
  EXPECT_EQ(Body(purge)["purged"], 1);

  EXPECT_EQ(ErrorCode(client().Get("/api/v1/queues/nope/dlq")), "not_found");
  EXPECT_EQ(ErrorCode(client().Post("/api/v1/queues/nope/dlq/replay", "", "application/json")),
            "not_found");
  EXPECT_EQ(
      ErrorCode(client().Post("/api/v1/queues/segments/dlq/replay", "{bad", "application/json")),
      "invalid_json");
  EXPECT_EQ(ErrorCode(client().Post("/api/v1/queues/segments/dlq/replay",
                                    json{{"message_id", 5}}.dump(), "application/json")),
            "invalid_argument");
  EXPECT_EQ(ErrorCode(client().Get("/api/v1/queues/segments/dlq?limit=0")), "invalid_argument");
}

// ---------- security ----------

TEST_F(ServerApiTest, RefusesAPublicAddressWithoutAuth) {
  HttpServerOptions options = Options();
  options.listen = "0.0.0.0:0";
  HttpServer open(options, *jobs_, *objects_, Queues(), metrics_);
  Status refused = open.Start();
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("--insecure-no-auth"), std::string::npos);

  options.auth_tokens = {kToken};
  HttpServer with_tokens(options, *jobs_, *objects_, Queues(), metrics_);
  EXPECT_TRUE(with_tokens.Start().ok());
  with_tokens.Stop();

  options.auth_tokens.clear();
  options.insecure_no_auth = true;
  HttpServer insecure(options, *jobs_, *objects_, Queues(), metrics_);
  EXPECT_TRUE(insecure.Start().ok());
  insecure.Stop();

  options.listen = "127.0.0.1:99999";
  HttpServer bad(options, *jobs_, *objects_, Queues(), metrics_);
  EXPECT_EQ(bad.Start().code(), StatusCode::kInvalidArgument);
}

TEST_F(ServerApiTest, BearerTokens) {
  HttpServerOptions options = Options();
  options.auth_tokens = {kToken, "second-token-abcdefghijkl"};
  StartServer(options);
  auto none = client().Get("/api/v1/jobs");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(ErrorCode(none), "unauthenticated");
  EXPECT_EQ(none->get_header_value("WWW-Authenticate").rfind("Bearer", 0), 0u);

  auto wrong =
      client().Get("/api/v1/jobs", {{"Authorization", "Bearer test-token-0123456789abcdeX"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto basic = client().Get("/api/v1/jobs", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 401);
  auto metrics = client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 401);
  auto post = client().Post("/api/v1/jobs", "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 401);

  client().set_bearer_token_auth(kToken);
  auto ok = client().Get("/api/v1/jobs");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  auto created = client().Post("/api/v1/jobs", "{}", "application/json");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201) << "bearer requests need no CSRF token";
  httplib::Client second("127.0.0.1", server_->port());
  second.set_bearer_token_auth("second-token-abcdefghijkl");
  auto other = second.Get("/api/v1/jobs");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);

  // Health and the UI's files stay open (the UI shows its login).
  httplib::Client anonymous("127.0.0.1", server_->port());
  EXPECT_EQ(anonymous.Get("/healthz")->status, 200);
  EXPECT_EQ(anonymous.Get("/readyz")->status, 200);
  EXPECT_EQ(anonymous.Get("/")->status, 200);
  json session = Body(anonymous.Get("/api/v1/session"));
  EXPECT_EQ(session["auth_required"], true);
  EXPECT_EQ(session["authenticated"], false);
}

TEST_F(ServerApiTest, WebLoginSessionAndCsrf) {
  HttpServerOptions options = Options();
  options.auth_tokens = {kToken};
  StartServer(options);
  auto page = client().Get("/login");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  const std::string set_cookie = page->get_header_value("Set-Cookie");
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
  const std::string login_cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string login_value = login_cookie.substr(login_cookie.find('=') + 1);
  EXPECT_NE(page->body.find("value=\"" + login_value + "\""), std::string::npos);

  // Without the login cookie (a forged form on another site) the login is refused.
  auto forged =
      client().Post("/login", "token=" + std::string(kToken) + "&login_csrf=" + login_value,
                    "application/x-www-form-urlencoded");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403);

  auto bad = client().Post("/login", {{"Cookie", login_cookie}},
                           "token=wrong-token-0000000000&login_csrf=" + login_value,
                           "application/x-www-form-urlencoded");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 303);
  EXPECT_EQ(bad->get_header_value("Location"), "/login?failed=1");

  auto good = client().Post("/login", {{"Cookie", login_cookie}},
                            "token=" + std::string(kToken) + "&login_csrf=" + login_value,
                            "application/x-www-form-urlencoded");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 303);
  const std::string session_header = good->get_header_value("Set-Cookie");
  EXPECT_NE(session_header.find("HttpOnly"), std::string::npos);
  EXPECT_NE(session_header.find("SameSite=Strict"), std::string::npos);
  const std::string session_cookie = session_header.substr(0, session_header.find(';'));
  ASSERT_EQ(session_cookie.rfind("stereospot_session=", 0), 0u);

  httplib::Headers cookie = {{"Cookie", session_cookie}};
  json session = Body(client().Get("/api/v1/session", cookie));
  EXPECT_EQ(session["authenticated"], true);
  const std::string csrf = session["csrf_token"];
  EXPECT_FALSE(csrf.empty());
  auto read = client().Get("/api/v1/jobs", cookie);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200);

  auto no_csrf = client().Post("/api/v1/jobs", cookie, "{}", "application/json");
  ASSERT_TRUE(no_csrf);
  EXPECT_EQ(no_csrf->status, 403);
  EXPECT_EQ(ErrorCode(no_csrf), "csrf");
  httplib::Client c2("127.0.0.1", server_->port());
  auto wrong_csrf = c2.Post("/api/v1/jobs", {{"Cookie", session_cookie}, {"X-CSRF-Token", "x"}},
                            "{}", "application/json");
  ASSERT_TRUE(wrong_csrf);
  EXPECT_EQ(wrong_csrf->status, 403);
  httplib::Client c3("127.0.0.1", server_->port());
  auto with_csrf = c3.Post("/api/v1/jobs", {{"Cookie", session_cookie}, {"X-CSRF-Token", csrf}},
                           "{}", "application/json");
  ASSERT_TRUE(with_csrf);
  EXPECT_EQ(with_csrf->status, 201) << with_csrf->body;

  auto logout = c3.Delete("/api/v1/session", {{"Cookie", session_cookie}, {"X-CSRF-Token", csrf}});
  ASSERT_TRUE(logout);
  EXPECT_EQ(logout->status, 200);
  auto after = c3.Get("/api/v1/jobs", {{"Cookie", session_cookie}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
}

TEST_F(ServerApiTest, CrossSiteRequestsAreRefused) {
  StartServer();
  auto res =
      client().Post("/api/v1/jobs", {{"Origin", "http://evil.example"}}, "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(ErrorCode(res), "cross_origin");
  httplib::Client same("127.0.0.1", server_->port());
  const std::string origin = "http://127.0.0.1:" + std::to_string(server_->port());
  auto ok = same.Post("/api/v1/jobs", {{"Origin", origin}}, "{}", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 201) << ok->body;
  auto page = jobs_->List(JobListQuery{});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->jobs.size(), 1u);
}

}  // namespace
}  // namespace stereospot::server
