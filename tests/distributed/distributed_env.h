// The distributed backend's shared servers for these tests, and processes to run on them.
//
// ctest starts PostgreSQL (fixture postgres_server, scripts/test-postgres.sh) and s3rver behind
// the SigV4 proxy (fixture s3_server, scripts/test-s3.sh) for tests/postgres and tests/s3; the
// tests here require both fixtures and read where the servers listen from the state the
// scripts write (PG_STATE_DIR/conninfo, S3_STATE_FILE). Without a server a test fails saying
// how to get one; it never passes empty.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

namespace stereospot::distributed_testing {

// Where the test servers listen; empty fields when a server is not running.
struct Servers {
  std::string pg_conninfo;  // libpq key=value string
  std::string s3_endpoint;  // through the SigV4 proxy
  std::string s3_region;
  std::string s3_access_key;
  std::string s3_secret_key;
};

// Reads the fixtures' state; ADD_FAILURE()s with how to start the servers when one is absent.
Servers ReadServers();

// A configuration TOML for `stereospot` on the distributed backend: a fresh schema and bucket
// on the test servers. Credentials are left to AWS_* in the environment (Env()).
struct DistributedSetup {
  Servers servers;
  std::string schema;
  std::string bucket;
  // Extra TOML lines (e.g. "[queue]\nvisibility_seconds = 3\n").
  std::string ToToml(const std::string& extra = "") const;
  // AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... for child processes.
  std::map<std::string, std::string> Env() const;
};

// Makes a fresh schema name and a fresh bucket (created on the S3 server); ADD_FAILURE()s when
// the servers are absent or the bucket cannot be made.
DistributedSetup NewDistributedSetup();

// The output and exit code of a command run through the shell (stdout and stderr together).
struct CommandResult {
  int exit_code = -1;
  std::string out;
};
CommandResult RunCommand(const std::string& command);

// A child process with its stdout and stderr in a file; killed (SIGKILL) and reaped on
// destruction if still running.
class ChildProcess {
 public:
  // Starts `argv` with `env` added to this process's environment. ADD_FAILURE()s if fork fails.
  ChildProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
               const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const;
  // Sends `signal`.
  void Signal(int signal);
  // Waits up to `timeout_ms` for the exit; the exit status as waitpid gives it, or -1 on
  // timeout (the process keeps running).
  int Wait(int timeout_ms);
  bool running() const { return pid_ > 0 && !reaped_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string log_path_;
};

}  // namespace stereospot::distributed_testing
