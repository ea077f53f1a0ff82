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
  EXPECT_EQ(c.queue_poll_interval_ms, 200);  // default
  EXPECT_EQ(loaded->origins.at("queue.max_receives"), ConfigOrigin::kEnvironment);
  EXPECT_EQ(loaded->origins.at("queue.wait_seconds"), ConfigOrigin::kFlag);
  std::string described = DescribeConfig(*loaded);
  EXPECT_NE(described.find("queue.wait_seconds = 11  # flag"), std::string::npos) << described;
  EXPECT_NE(described.find("data_dir = \"/srv/file\"  # file"), std::string::npos) << described;
}

TEST_F(ConfigTest, ConfigFileFromEnvironment) {
  auto file = WriteFile("backend = \"embedded\"\n[workers]\nvideo = 3\n");
  ConfigSources sources;
  sources.environment = {{"STEREOSPOT_CONFIG", file.string()}};
  auto loaded = LoadConfig(sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->config.workers_video, 3);
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

}  // namespace
}  // namespace stereospot
