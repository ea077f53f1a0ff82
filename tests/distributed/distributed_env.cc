#include "tests/distributed/distributed_env.h"

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/s3/s3_object_store.h"
#include "core/ids.h"

extern char** environ;

namespace stereospot::distributed_testing {

namespace {

constexpr char kHowToRun[] =
    "the PostgreSQL and S3 test servers are not running: run these tests through ctest, whose "
    "fixtures postgres_server and s3_server start them (scripts/test-postgres.sh needs "
    "postgresql-15; scripts/test-s3.sh needs nodejs and `npm ci` in tests/s3; "
    "scripts/install-deps.sh installs both)";

// TOML basic string.
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

Servers ReadServers() {
  Servers servers;
  std::ifstream pg(std::string(PG_STATE_DIR) + "/conninfo");
  std::getline(pg, servers.pg_conninfo);
  std::ifstream s3(S3_STATE_FILE);
  std::string line;
  while (std::getline(s3, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    if (key == "S3_TEST_ENDPOINT") servers.s3_endpoint = value;
    if (key == "S3_TEST_REGION") servers.s3_region = value;
    if (key == "S3_TEST_ACCESS_KEY") servers.s3_access_key = value;
    if (key == "S3_TEST_SECRET_KEY") servers.s3_secret_key = value;
  }
  if (servers.pg_conninfo.empty() || servers.s3_endpoint.empty()) ADD_FAILURE() << kHowToRun;
  return servers;
}

std::string DistributedSetup::ToToml(const std::string& extra) const {
  return "backend = \"distributed\"\n"
         "[postgres]\n"
         "conninfo = " +
         Quote(servers.pg_conninfo) +
         "\n"
         "schema = " +
         Quote(schema) +
         "\n"
         "[s3]\n"
         "endpoint = " +
         Quote(servers.s3_endpoint) +
         "\n"
         "region = " +
         Quote(servers.s3_region) +
         "\n"
         "bucket = " +
         Quote(bucket) + "\n" + extra;
}

std::map<std::string, std::string> DistributedSetup::Env() const {
  return {{"AWS_ACCESS_KEY_ID", servers.s3_access_key},
          {"AWS_SECRET_ACCESS_KEY", servers.s3_secret_key}};
}

DistributedSetup NewDistributedSetup() {
  DistributedSetup setup;
  setup.servers = ReadServers();
  setup.schema = "dist_" + RandomHex(8);
  setup.bucket = "dist-" + RandomHex(8);
  if (setup.servers.s3_endpoint.empty()) return setup;
  s3::S3Options options;
  options.endpoint = setup.servers.s3_endpoint;
  options.region = setup.servers.s3_region;
  options.access_key_id = setup.servers.s3_access_key;
  options.secret_access_key = setup.servers.s3_secret_key;
  options.bucket = setup.bucket;
  auto store = s3::S3ObjectStore::Open(options);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return setup;
  }
  Status created = (*store)->CreateBucket();
  if (!created.ok()) ADD_FAILURE() << "create bucket: " << created.ToString() << " " << kHowToRun;
  return setup;
}

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " </dev/null 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    return result;
  }
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) result.out += buf.data();
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env,
                           const std::string& log_path)
    : log_path_(log_path) {
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<std::string> env_strings;
  std::map<std::string, std::string> merged;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  for (const auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& s : args) argp.push_back(s.data());
  argp.push_back(nullptr);
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    ADD_FAILURE() << "cannot open " << log_path;
    return;
  }
  pid_ = fork();
  if (pid_ == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    execve(argp[0], argp.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
  if (pid_ < 0) ADD_FAILURE() << "fork failed";
}

ChildProcess::~ChildProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    Wait(10'000);
  }
}

std::string ChildProcess::Log() const {
  std::ifstream in(log_path_);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void ChildProcess::Signal(int signal) {
  if (running()) kill(pid_, signal);
}

int ChildProcess::Wait(int timeout_ms) {
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return status;
    }
    if (r < 0 || std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace stereospot::distributed_testing
