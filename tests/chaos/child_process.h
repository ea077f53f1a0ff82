// A child process for the chaos tests: the real stereospot binary started with fork + exec, its
// stdout and stderr appended to a log file, stopped with a signal of the test's choosing.
//
// The child is tied to the test: it gets SIGKILL when the test process dies (PR_SET_PDEATHSIG),
// so a test killed by its ctest timeout leaves no worker running. The destructor SIGKILLs and
// reaps a child that is still running.
//
// Threading: one thread owns each object.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace stereospot::testing {

class ChildProcess {
 public:
  // Starts argv[0] with `argv`; output goes to `log_path` (created or appended). Check started().
  ChildProcess(const std::vector<std::string>& argv, std::string log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

  // True while the child has not exited (reaps it when it has).
  bool Running();
  // Sends `signal`; false when the child is gone.
  bool Signal(int signal);
  // Waits up to `limit` for the child to end; its wait status (see waitpid), or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds limit);

  // The whole log, and its last `bytes` bytes.
  std::string Log() const;
  std::string LogTail(std::size_t bytes) const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> wait_status_;
};

// "exited with 0", "killed by signal 9", ...
std::string DescribeWaitStatus(int status);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

}  // namespace stereospot::testing
