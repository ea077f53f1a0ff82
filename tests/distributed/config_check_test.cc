// `stereospot config check` (issue 8, item 3) and `stereospot stats` on the distributed backend,
// against the real test servers: PostgreSQL from scripts/test-postgres.sh and s3rver behind the
// SigV4 proxy.
#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapters/postgres/pg_database.h"
#include "adapters/postgres/pg_work_queue.h"
#include "core/ids.h"
#include "core/messages.h"
#include "media/test_clips.h"
#include "tests/distributed/distributed_env.h"

namespace stereospot::distributed_testing {
namespace {

using media::testing::TempDir;

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

class ConfigCheckTest : public ::testing::Test {
 protected:
  void SetUp() override { setup_ = NewDistributedSetup(); }

  // Runs `stereospot --config <file with toml> [flags] config check` with `env`.
  CommandResult Check(const std::string& toml, const std::map<std::string, std::string>& env,
                      const std::string& flags = "") {
    const std::string file = dir_.File("stereospot-" + RandomHex(4) + ".toml");
    std::ofstream(file) << toml;
    std::string command = "env";
    for (const auto& [k, v] : env) command += " " + k + "='" + v + "'";
    command += std::string(" ") + STEREOSPOT_BIN + " --config " + file + " --data-dir " +
               dir_.File("data") + " " + flags + " config check";
    return RunCommand(command);
  }

  TempDir dir_;
  DistributedSetup setup_;
};

TEST_F(ConfigCheckTest, ReachableServersPassAndSecretsStayHidden) {
  CommandResult run = Check(setup_.ToToml(), setup_.Env());
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("backend = \"distributed\""), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("ok: PostgreSQL at 127.0.0.1:"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("schema " + setup_.schema + " migrated to version "), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("ok: bucket " + setup_.bucket + " at " + setup_.servers.s3_endpoint +
                         " reachable and writable"),
            std::string::npos)
      << run.out;
  // The credentials came from AWS_* and are masked: the test server's key and secret are both
  // "S3RVER".
  EXPECT_NE(run.out.find("s3.secret_access_key = \"****\"  # environment"), std::string::npos)
      << run.out;
  EXPECT_EQ(run.out.find(setup_.servers.s3_secret_key), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("error: "), std::string::npos) << run.out;
}

TEST_F(ConfigCheckTest, UnreachablePostgresIsNamedAndTheBucketStillChecked) {
  const int port = UnusedPort();
  ASSERT_GT(port, 0);
  DistributedSetup broken = setup_;
  broken.servers.pg_conninfo = "host=127.0.0.1 port=" + std::to_string(port) +
                               " user=stereospot dbname=postgres connect_timeout=5";
  CommandResult run = Check(broken.ToToml(), broken.Env());
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find(
                "error: cannot connect to PostgreSQL at 127.0.0.1:" + std::to_string(port) + ": "),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("refused"), std::string::npos) << run.out;  // libpq's reason
  EXPECT_NE(run.out.find("ok: bucket " + setup_.bucket), std::string::npos) << run.out;
}

TEST_F(ConfigCheckTest, MissingBucketAndWrongSecretAreReportedExactly) {
  DistributedSetup no_bucket = setup_;
  no_bucket.bucket = "never-made-" + RandomHex(6);
  CommandResult missing = Check(no_bucket.ToToml(), no_bucket.Env());
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_NE(missing.out.find("error: S3 bucket " + no_bucket.bucket + " at " +
                             setup_.servers.s3_endpoint),
            std::string::npos)
      << missing.out;
  EXPECT_NE(missing.out.find("NoSuchBucket"), std::string::npos) << missing.out;
  // PostgreSQL is fine, and says so.
  EXPECT_NE(missing.out.find("ok: PostgreSQL at"), std::string::npos) << missing.out;

  const std::string wrong_secret = "not-the-secret-" + RandomHex(6);
  CommandResult denied = Check(
      setup_.ToToml(), {{"AWS_ACCESS_KEY_ID", "S3RVER"}, {"AWS_SECRET_ACCESS_KEY", wrong_secret}});
  EXPECT_EQ(denied.exit_code, 1) << denied.out;
  EXPECT_NE(denied.out.find("SignatureDoesNotMatch"), std::string::npos) << denied.out;
  EXPECT_EQ(denied.out.find(wrong_secret), std::string::npos) << denied.out;
}

TEST_F(ConfigCheckTest, SchemaNewerThanTheProgramIsRefused) {
  // First a good check migrates the schema; then a future version appears in it.
  ASSERT_EQ(Check(setup_.ToToml(), setup_.Env()).exit_code, 0);
  CommandResult bump =
      RunCommand("psql '" + setup_.servers.pg_conninfo + "' -v ON_ERROR_STOP=1 -qc 'INSERT INTO " +
                 setup_.schema + ".stereospot_schema_version (version) VALUES (1000)'");
  ASSERT_EQ(bump.exit_code, 0) << bump.out;
  CommandResult run = Check(setup_.ToToml(), setup_.Env());
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("error: PostgreSQL at 127.0.0.1:"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("version 1000, newer than this program knows"), std::string::npos)
      << run.out;
}

// The scaling metric of docs/distributed.md, from any machine with the configuration.
TEST_F(ConfigCheckTest, StatsReportsTheSegmentsQueueDepthOfTheSharedBackend) {
  postgres::PostgresOptions pg;
  pg.conninfo = setup_.servers.pg_conninfo;
  pg.schema = setup_.schema;
  auto db = postgres::PgDatabase::Connect(pg);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  postgres::PgWorkQueue segments(*db, std::string(kSegmentsQueue));
  WorkQueue& queue = segments;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(queue.Send(EncodeJobMessage({NewJobId()})).ok());
  ReceiveOptions one;
  one.visibility = std::chrono::seconds(60);
  auto received = queue.Receive(one);
  ASSERT_TRUE(received.ok() && received->size() == 1);

  const std::string file = dir_.File("stats.toml");
  std::ofstream(file) << setup_.ToToml();
  std::string command = "env";
  for (const auto& [k, v] : setup_.Env()) command += " " + k + "='" + v + "'";
  CommandResult run = RunCommand(command + " " + STEREOSPOT_BIN + " --config " + file + " stats");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("stereospot_queue_depth{queue=\"segments\",state=\"visible\"} 2"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("stereospot_queue_depth{queue=\"segments\",state=\"in_flight\"} 1"),
            std::string::npos)
      << run.out;
}

TEST_F(ConfigCheckTest, MissingSettingsAreAUsageError) {
  CommandResult run = Check("backend = \"distributed\"\n", {});
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_NE(run.out.find("postgres.conninfo"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("s3.bucket"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace stereospot::distributed_testing
