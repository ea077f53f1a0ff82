// Direct transfers end to end: the HTTP API over a real S3-compatible store (s3rver behind the
// SigV4-checking proxy, fixture s3_server) hands out signed URLs; a plain HTTP client (no
// credentials) PUTs the source and fetches the result straight from the store, so no video byte
// passes through the API server. The job store and queues are SQLite: what is under test is the
// API and the object store, not the database.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/local/sqlite_job_store.h"
#include "adapters/local/sqlite_work_queue.h"
#include "core/messages.h"
#include "core/object_keys.h"
#include "server/http_server.h"
#include "tests/s3/test_server.h"

namespace stereospot::s3 {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Fetch;
using testing::HttpResult;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A 1 s 160x90 H.264 clip made with ffmpeg's lavfi source.
std::string ClipBytes(const fs::path& dir) {
  const fs::path path = dir / "clip.mp4";
  const std::string command =
      "ffmpeg -v error -y -f lavfi -i testsrc2=size=160x90:rate=25:duration=1 -c:v libx264 "
      "-pix_fmt yuv420p '" +
      path.string() + "'";
  if (std::system(command.c_str()) != 0) {
    ADD_FAILURE() << "cannot make a test clip with ffmpeg (apt-get install ffmpeg, or run "
                     "scripts/install-deps.sh)";
    return {};
  }
  return ReadFile(path);
}

json Body(const httplib::Result& res) {
  if (!res) return json();
  return json::parse(res->body, nullptr, false);
}

std::string ErrorCode(const httplib::Result& res) {
  json body = Body(res);
  if (!body.is_object() || !body.contains("error")) return "(no JSON error: " + res->body + ")";
  return body["error"]["code"].get<std::string>();
}

class DirectTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("direct-transfer-" + RandomHex(6));
    fs::create_directories(dir_);
    store_ = testing::NewStoreOnFreshBucket(testing::TestOptions());
    ASSERT_NE(store_, nullptr);
    auto db = local::SqliteDatabase::Open(dir_ / "stereospot.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    jobs_ = std::make_unique<local::SqliteJobStore>(db_);
    for (std::string_view name : kAllQueueNames) {
      queues_.push_back(std::make_unique<local::SqliteWorkQueue>(db_, std::string(name)));
    }
    server::HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.upload_dir = dir_ / "uploads";
    options.threads = 8;
    options.max_upload_bytes = 1 << 20;
    options.direct_transfers = true;
    options.signed_url_ttl = std::chrono::minutes(5);
    server_ = std::make_unique<server::HttpServer>(
        options, *jobs_, *store_,
        server::ServerQueues{Queue(kChunkingQueue), Queue(kSegmentsQueue), Queue(kReassemblyQueue),
                             Queue(kDeletionQueue)},
        metrics_);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(30);
  }

  void TearDown() override {
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  WorkQueue* Queue(std::string_view name) {
    for (auto& q : queues_) {
      if (q->name() == name) return q.get();
    }
    return nullptr;
  }

  std::string CreateJob() {
    json request = {{"title", "Beach walk"}, {"filename", "beach.mp4"}};
    auto res = client_->Post("/api/v1/jobs", request.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 201) << res->body;
    json body = Body(res);
    const std::string id = body.value("job_id", "");
    EXPECT_EQ(body["upload"].value("direct_url", ""), "/api/v1/jobs/" + id + "/source-url");
    EXPECT_EQ(body["links"].value("direct_upload", ""), "/api/v1/jobs/" + id + "/source-url");
    return id;
  }

  // Asks the API for a signed PUT URL for the job's source.
  std::string SignedPutUrl(const std::string& id) {
    auto res = client_->Post("/api/v1/jobs/" + id + "/source-url", "", "application/json");
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    json body = Body(res);
    EXPECT_EQ(body.value("method", ""), "PUT");
    EXPECT_EQ(body.value("complete_url", ""), "/api/v1/jobs/" + id + "/source-complete");
    EXPECT_GT(body.value("expires_at", std::int64_t{0}), NowMillis());
    return body.value("url", "");
  }

  httplib::Result Complete(const std::string& id) {
    return client_->Post("/api/v1/jobs/" + id + "/source-complete", "", "application/json");
  }

  std::int64_t ChunkingMessages() {
    auto depth = Queue(kChunkingQueue)->Depth();
    EXPECT_TRUE(depth.ok());
    return depth.ok() ? depth->visible : -1;
  }

  fs::path dir_;
  std::unique_ptr<S3ObjectStore> store_;
  std::shared_ptr<local::SqliteDatabase> db_;
  std::unique_ptr<local::SqliteJobStore> jobs_;
  std::vector<std::unique_ptr<local::SqliteWorkQueue>> queues_;
  pipeline::MetricsRegistry metrics_;
  std::unique_ptr<server::HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DirectTransferTest, UploadThroughASignedUrlThenChunkingStarts) {
  const std::string clip = ClipBytes(dir_);
  ASSERT_FALSE(clip.empty());
  const std::string id = CreateJob();
  const std::string url = SignedPutUrl(id);
  ASSERT_FALSE(url.empty());
  // The URL goes to the store (through the proxy), not to the API server.
  EXPECT_EQ(url.rfind(testing::TestOptions().endpoint, 0), 0u) << url;

  // The page may talk to the store: its origin is in the UI's Content-Security-Policy.
  auto page = client_->Get("/");
  ASSERT_TRUE(page);
  const std::string csp = page->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("connect-src 'self' " + testing::TestOptions().endpoint + ";"),
            std::string::npos)
      << csp;
  EXPECT_NE(csp.find("media-src 'self' blob: " + testing::TestOptions().endpoint + ";"),
            std::string::npos)
      << csp;

  // Saying "done" before the PUT changes nothing.
  auto early = Complete(id);
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 409) << early->body;
  EXPECT_EQ(ChunkingMessages(), 0);

  HttpResult put = Fetch(url, &clip);
  ASSERT_EQ(put.status, 200) << put.body;
  auto done = Complete(id);
  ASSERT_TRUE(done);
  ASSERT_EQ(done->status, 200) << done->body;
  json body = Body(done);
  EXPECT_EQ(body.value("status", ""), "created");
  EXPECT_EQ(body.value("source_bytes", std::int64_t{0}), static_cast<std::int64_t>(clip.size()));
  EXPECT_EQ(ChunkingMessages(), 1);

  // A repeated "done" (the answer was lost) is harmless; a new URL is refused.
  auto again = Complete(id);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  auto late = client_->Post("/api/v1/jobs/" + id + "/source-url", "", "application/json");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 409) << late->body;
}

TEST_F(DirectTransferTest, ANonVideoOrAnOversizedUploadIsRefusedAndRemoved) {
  const std::string id = CreateJob();
  auto job = jobs_->Get(id);
  ASSERT_TRUE(job.ok());

  const std::string text = "my shopping list, not a video\n";
  ASSERT_EQ(Fetch(SignedPutUrl(id), &text).status, 200);
  auto refused = Complete(id);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 422) << refused->body;
  EXPECT_EQ(ErrorCode(refused), "not_a_video");
  EXPECT_TRUE(store_->Head(job->source_key).status().IsNotFound());

  const std::string big((1 << 20) + 1, 'x');
  ASSERT_EQ(Fetch(SignedPutUrl(id), &big).status, 200);
  auto too_big = Complete(id);
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413) << too_big->body;
  EXPECT_EQ(ErrorCode(too_big), "payload_too_large");
  EXPECT_TRUE(store_->Head(job->source_key).status().IsNotFound());

  auto after = jobs_->Get(id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, JobStatus::kCreated);
  EXPECT_EQ(after->uploaded_at, 0);
  EXPECT_EQ(ChunkingMessages(), 0);
}

TEST_F(DirectTransferTest, OutputRedirectsToTheStoreWithRangesAndTheDownloadName) {
  const std::string id = CreateJob();
  JobUpdate uploaded;
  uploaded.uploaded_at = NowMillis();
  uploaded.source_bytes = 10;
  ASSERT_TRUE(jobs_->UpdateFields(id, uploaded, std::nullopt).ok());
  JobUpdate planned;
  planned.total_segments = 1;
  ASSERT_TRUE(
      jobs_->TransitionStatus(id, JobStatus::kCreated, JobStatus::kChunkingInProgress, {}).ok());
  ASSERT_TRUE(jobs_
                  ->TransitionStatus(id, JobStatus::kChunkingInProgress,
                                     JobStatus::kChunkingComplete, planned)
                  .ok());
  ASSERT_TRUE(
      jobs_->TransitionStatus(id, JobStatus::kChunkingComplete, JobStatus::kReassembling, {}).ok());
  ASSERT_TRUE(
      jobs_->TransitionStatus(id, JobStatus::kReassembling, JobStatus::kCompleted, {}).ok());
  const std::string content = "0123456789 final output bytes";
  const fs::path file = dir_ / "final.mp4";
  std::ofstream(file, std::ios::binary) << content;
  auto key = BuildFinalKey(id);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(store_->PutFile(*key, file).ok());

  // Raw redirects (a player follows them): the Location must reach the store exactly as signed.
  const std::string api = "http://127.0.0.1:" + std::to_string(server_->port());
  HttpResult play = Fetch(api + "/api/v1/jobs/" + id + "/output");
  ASSERT_EQ(play.status, 302) << play.body;
  EXPECT_EQ(play.location.rfind(testing::TestOptions().endpoint, 0), 0u) << play.location;
  HttpResult whole = Fetch(play.location);
  EXPECT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(whole.body, content);
  // Players seek with Range; the store answers them itself.
  HttpResult part = Fetch(play.location, nullptr, {"Range: bytes=2-5"});
  EXPECT_EQ(part.status, 206) << part.body;
  EXPECT_EQ(part.body, "2345");

  HttpResult download = Fetch(api + "/api/v1/jobs/" + id + "/output?download=1");
  ASSERT_EQ(download.status, 302);
  HttpResult saved = Fetch(download.location);
  EXPECT_EQ(saved.status, 200) << saved.body;
  const std::string name = Body(client_->Get("/api/v1/jobs/" + id)).value("download_name", "");
  EXPECT_EQ(name.rfind("Beach_walk", 0), 0u) << name;
  EXPECT_EQ(saved.disposition, "attachment; filename=\"" + name + "\"");
}

}  // namespace
}  // namespace stereospot::s3
