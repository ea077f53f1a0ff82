#include "core/config.h"

#include <fstream>

#include <gtest/gtest.h>

namespace stereospot {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::filesystem::path WriteFile(const std::string& text) {
    auto path =
        std::filesystem::path(::testing::TempDir()) /
        (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".toml");
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(ConfigTest, DefaultsWithNoSources) {
  auto loaded = LoadConfig({});
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->config.backend, "embedded");
  EXPECT_EQ(loaded->config.server_listen, "127.0.0.1:8080");
  EXPECT_EQ(loaded->config.queue_max_receives, 5);
  EXPECT_EQ(loaded->origins.at("queue.max_receives"), ConfigOrigin::kDefault);
}

TEST_F(ConfigTest, PrecedenceIsDefaultFileEnvironmentFlag) {
  auto file = WriteFile(
      "data_dir = \"/srv/file\"\n"
      "[queue]\nvisibility_seconds = 60\nmax_receives = 3\nwait_seconds = 5\n"
      "[log]\nlevel = \"debug\"\n");
  ConfigSources sources;
  sources.file = file;
  sources.environment = {{"STEREOSPOT_QUEUE_MAX_RECEIVES", "7"},
                         {"STEREOSPOT_QUEUE_WAIT_SECONDS", "9"}};
  sources.flags = {{"queue.wait_seconds", "11"}};
  auto loaded = LoadConfig(sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Config& c = loaded->config;
  EXPECT_EQ(c.data_dir, "/srv/file");         // file
  EXPECT_EQ(c.queue_visibility_seconds, 60);  // file
  EXPECT_EQ(c.queue_max_receives, 7);         // environment beats file
  EXPECT_EQ(c.queue_wait_seconds, 11);        // flag beats environment and file
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.queue_poll_interval_ms, 200);   // default
  EXPECT_EQ(c.reassembly_lease_seconds, 60);  // default
  EXPECT_EQ(loaded->origins.at("queue.max_receives"), ConfigOrigin::kEnvironment);
  EXPECT_EQ(loaded->origins.at("queue.wait_seconds"), ConfigOrigin::kFlag);
  std::string described = DescribeConfig(*loaded);
  EXPECT_NE(described.find("queue.wait_seconds = 11  # flag"), std::string::npos) << described;
  EXPECT_NE(described.find("data_dir = \"/srv/file\"  # file"), std::string::npos) << described;
}

TEST_F(ConfigTest, ConfigFileFromEnvironment) {
  auto file =
      WriteFile("backend = \"embedded\"\n[workers]\nvideo = 3\n[reassembly]\nlease_seconds = 30\n");
  ConfigSources sources;
  sources.environment = {{"STEREOSPOT_CONFIG", file.string()}};
  auto loaded = LoadConfig(sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->config.workers_video, 3);
  EXPECT_EQ(loaded->config.reassembly_lease_seconds, 30);
}

TEST_F(ConfigTest, RejectsUnknownKeysInEverySource) {
  ConfigSources from_file;
  from_file.file = WriteFile("[queue]\nvisibilty_seconds = 60\n");
  auto a = LoadConfig(from_file);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("queue.visibilty_seconds"), std::string::npos);

  ConfigSources from_env;
  from_env.environment = {{"STEREOSPOT_QUEUE_VISIBILTY", "3"}};
  auto b = LoadConfig(from_env);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("STEREOSPOT_QUEUE_VISIBILTY"), std::string::npos);

  ConfigSources from_flag;
  from_flag.flags = {{"nope", "1"}};
  EXPECT_TRUE(LoadConfig(from_flag).status().IsInvalidArgument());
}

TEST_F(ConfigTest, RejectsBadValues) {
  auto check_bad = [](std::vector<std::pair<std::string, std::string>> flags) {
    ConfigSources s;
    s.flags = std::move(flags);
    auto loaded = LoadConfig(s);
    EXPECT_FALSE(loaded.ok());
    EXPECT_TRUE(loaded.status().IsInvalidArgument()) << loaded.status().ToString();
  };
  check_bad({{"backend", "cloud"}});
  check_bad({{"queue.max_receives", "0"}});
  check_bad({{"queue.max_receives", "5x"}});
  check_bad({{"queue.wait_seconds", "21"}});
  check_bad({{"reassembly.lease_seconds", "2"}});  // renewed every third: at least 1 s apart
  check_bad({{"server.listen", "8080"}});
  check_bad({{"server.listen", "127.0.0.1:99999"}});
  check_bad({{"log.format", "xml"}});
  check_bad({{"data_dir", ""}});

  ConfigSources wrong_type;
  wrong_type.file = WriteFile("[queue]\nmax_receives = \"5\"\n");
  EXPECT_TRUE(LoadConfig(wrong_type).status().IsInvalidArgument());

  ConfigSources syntax;
  syntax.file = WriteFile("[queue\nmax_receives = 5\n");
  auto loaded = LoadConfig(syntax);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find(":1:"), std::string::npos) << loaded.status().message();

  ConfigSources missing;
  missing.file = "/nonexistent/stereospot.toml";
  EXPECT_TRUE(LoadConfig(missing).status().IsNotFound());
}

// Issue 8: the distributed backend's settings.
ConfigSources DistributedFlags() {
  ConfigSources s;
  s.flags = {{"backend", "distributed"},
             {"postgres.conninfo", "host=db.internal port=6432 dbname=stereospot"},
             {"s3.bucket", "stereo-media"},
             {"s3.endpoint", "http://minio.internal:9000"},
             {"s3.access_key_id", "AKIAEXAMPLEKEY1234"},
             {"s3.secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY"}};
  return s;
}

TEST_F(ConfigTest, DistributedBackendSettings) {
  auto file = WriteFile(
      "backend = \"distributed\"\n"
      "[postgres]\nconninfo = \"postgresql://stereospot@db.internal/stereospot\"\n"
      "schema = \"prod\"\npool_size = 16\n"
      "[s3]\nbucket = \"stereo-media\"\nregion = \"eu-west-1\"\npath_style = false\n"
      "part_size_mb = 16\naccess_key_id = \"AKIAEXAMPLEKEY1234\"\n"
      "secret_access_key = \"secret-from-file\"\n");
  ConfigSources sources;
  sources.file = file;
  auto loaded = LoadConfig(sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Config& c = loaded->config;
  EXPECT_EQ(c.backend, "distributed");
  EXPECT_EQ(c.postgres_conninfo, "postgresql://stereospot@db.internal/stereospot");
  EXPECT_EQ(c.postgres_schema, "prod");
  EXPECT_EQ(c.postgres_pool_size, 16);
  EXPECT_EQ(c.s3_bucket, "stereo-media");
  EXPECT_EQ(c.s3_region, "eu-west-1");
  EXPECT_FALSE(c.s3_path_style);
  EXPECT_EQ(c.s3_part_size_mb, 16);
  EXPECT_EQ(c.s3_endpoint, "");  // AWS

  // Defaults, and the same settings as environment variables and flags.
  auto defaults = LoadConfig({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->config.postgres_schema, "stereospot");
  EXPECT_EQ(defaults->config.postgres_pool_size, 8);
  EXPECT_TRUE(defaults->config.s3_path_style);
  EXPECT_EQ(defaults->config.s3_part_size_mb, 8);
  EXPECT_EQ(defaults->config.s3_region, "us-east-1");
  ConfigSources env = DistributedFlags();
  env.environment = {{"STEREOSPOT_S3_PATH_STYLE", "false"}, {"STEREOSPOT_POSTGRES_POOL_SIZE", "3"}};
  auto from_env = LoadConfig(env);
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_FALSE(from_env->config.s3_path_style);
  EXPECT_EQ(from_env->config.postgres_pool_size, 3);
  EXPECT_EQ(from_env->config.s3_endpoint, "http://minio.internal:9000");
}

TEST_F(ConfigTest, DistributedNeedsConnectionSettingsAndSaysWhich) {
  ConfigSources bare;
  bare.flags = {{"backend", "distributed"}};
  auto loaded = LoadConfig(bare);
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(loaded.status().IsInvalidArgument());
  const std::string message = loaded.status().message();
  for (const char* key : {"postgres.conninfo", "s3.bucket", "s3.access_key_id", "AWS_ACCESS_KEY_ID",
                          "s3.secret_access_key", "AWS_SECRET_ACCESS_KEY"}) {
    EXPECT_NE(message.find(key), std::string::npos) << key << " in: " << message;
  }
  // Only what is missing is named.
  ConfigSources partial = DistributedFlags();
  partial.flags.erase(partial.flags.begin() + 2);  // s3.bucket
  auto no_bucket = LoadConfig(partial);
  ASSERT_FALSE(no_bucket.ok());
  EXPECT_NE(no_bucket.status().message().find("s3.bucket"), std::string::npos);
  EXPECT_EQ(no_bucket.status().message().find("postgres.conninfo"), std::string::npos)
      << no_bucket.status().message();
  // The embedded backend needs none of it.
  EXPECT_TRUE(LoadConfig({}).ok());
}

TEST_F(ConfigTest, RejectsBadDistributedValues) {
  auto check_bad = [](const std::string& key, const std::string& value, const std::string& says) {
    ConfigSources s = DistributedFlags();
    s.flags.emplace_back(key, value);
    auto loaded = LoadConfig(s);
    ASSERT_FALSE(loaded.ok()) << key << "=" << value;
    EXPECT_TRUE(loaded.status().IsInvalidArgument());
    EXPECT_NE(loaded.status().message().find(says), std::string::npos) << loaded.status().message();
  };
  check_bad("postgres.pool_size", "0", "postgres.pool_size");
  check_bad("postgres.schema", "", "postgres.schema");
  check_bad("postgres.schema", std::string(64, 's'), "63 bytes");
  check_bad("s3.endpoint", "minio:9000", "http:// or https://");
  check_bad("s3.bucket", "Stereo_Media", "s3.bucket");
  check_bad("s3.bucket", "ab", "3 to 63");
  check_bad("s3.path_style", "maybe", "true or false");
  check_bad("s3.part_size_mb", "4", "[5, 5120]");
  check_bad("s3.region", "", "s3.region");

  ConfigSources wrong_type;
  wrong_type.file = WriteFile("[s3]\npath_style = \"false\"\n");
  auto loaded = LoadConfig(wrong_type);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("true or false"), std::string::npos);
}

TEST_F(ConfigTest, AwsCredentialsFromTheEnvironmentOnlyWhenUnset) {
  ConfigSources s;
  s.flags = {
      {"backend", "distributed"}, {"postgres.conninfo", "host=db"}, {"s3.bucket", "stereo-media"}};
  s.environment = {{"AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT"},
                   {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                   {"AWS_SESSION_TOKEN", "env-token"}};
  auto loaded = LoadConfig(s);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->config.s3_access_key_id, "AKIAFROMENVIRONMENT");
  EXPECT_EQ(loaded->config.s3_secret_access_key, "env-secret");
  EXPECT_EQ(loaded->config.s3_session_token, "env-token");
  EXPECT_EQ(loaded->origins.at("s3.secret_access_key"), ConfigOrigin::kEnvironment);

  // Credentials set in a StereoSpot source win, and are never mixed with AWS_* ones: a key id
  // without its secret is an error, not the environment's secret.
  s.flags.emplace_back("s3.access_key_id", "AKIAFROMFLAG");
  auto mixed = LoadConfig(s);
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("s3.secret_access_key"), std::string::npos);
  s.flags.emplace_back("s3.secret_access_key", "flag-secret");
  auto flagged = LoadConfig(s);
  ASSERT_TRUE(flagged.ok()) << flagged.status().ToString();
  EXPECT_EQ(flagged->config.s3_access_key_id, "AKIAFROMFLAG");
  EXPECT_EQ(flagged->config.s3_secret_access_key, "flag-secret");
  EXPECT_EQ(flagged->config.s3_session_token, "");
}

TEST_F(ConfigTest, DescribeConfigMasksSecrets) {
  ConfigSources s = DistributedFlags();
  s.flags[1].second = "host=db.internal user=stereospot password='pa ss\\'word' dbname=x";
  s.flags.emplace_back("s3.session_token", "FQoGZXIvYXdzEXAMPLETOKEN");
  auto loaded = LoadConfig(s);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const std::string described = DescribeConfig(*loaded);
  for (const char* secret : {"wJalrXUtnFEMI", "pa ss", "'word", "FQoGZXIvYXdz", "AKIAEXAMPLE"}) {
    EXPECT_EQ(described.find(secret), std::string::npos) << secret << " in:\n" << described;
  }
  EXPECT_NE(described.find("s3.secret_access_key = \"****\"  # flag"), std::string::npos)
      << described;
  EXPECT_NE(described.find("s3.access_key_id = \"****1234\""), std::string::npos) << described;
  EXPECT_NE(described.find("password=**** dbname=x"), std::string::npos) << described;
  EXPECT_NE(described.find("s3.bucket = \"stereo-media\""), std::string::npos) << described;
  EXPECT_NE(described.find("s3.path_style = true  # default"), std::string::npos) << described;
  // Unset secrets print empty, so a missing one is visible.
  auto defaults = LoadConfig({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_NE(DescribeConfig(*defaults).find("s3.secret_access_key = \"\"  # default"),
            std::string::npos);
}

TEST_F(ConfigTest, ConninfoRedactionAndAddress) {
  EXPECT_EQ(RedactConninfo("host=db password=hunter2 user=u"), "host=db password=**** user=u");
  EXPECT_EQ(RedactConninfo("password = 'a b' host=db"), "password = **** host=db");
  EXPECT_EQ(RedactConninfo("postgresql://user:hunter2@db:5433/stereo?sslmode=require"),
            "postgresql://user:****@db:5433/stereo?sslmode=require");
  EXPECT_EQ(RedactConninfo("postgres://db/stereo?password=hunter2&sslmode=require"),
            "postgres://db/stereo?password=****&sslmode=require");
  EXPECT_EQ(RedactConninfo("host=db user=u"), "host=db user=u");

  EXPECT_EQ(ConninfoAddress("host=10.0.0.5 port=6432 dbname=x"), "10.0.0.5:6432");
  EXPECT_EQ(ConninfoAddress("hostaddr=10.0.0.6 dbname=x port=1"), "10.0.0.6:1");
  EXPECT_EQ(ConninfoAddress("postgresql://u:p@db.internal:5433/stereo"), "db.internal:5433");
  EXPECT_EQ(ConninfoAddress("postgresql://[::1]:7000/stereo"), "::1:7000");
  EXPECT_EQ(ConninfoAddress("postgresql://db1:5001,db2:5002/x"), "db1:5001");
  EXPECT_EQ(ConninfoAddress("postgresql:///stereo?host=/run/pg&port=7"), "/run/pg:7");
}

}  // namespace
}  // namespace stereospot
