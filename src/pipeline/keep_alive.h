// KeepAlive: renews a claim that expires (a message's visibility, a reassembly lease) on a
// background thread, and says when the claim may have been lost. Heartbeat and LeaseKeeper are
// built on it.
//
// From construction until Stop() or destruction, `renew` is called every `interval` (default: a
// third of `window`, the time each successful renewal covers). A retryable error (kUnavailable)
// is retried every interval/4 for as long as the last successful renewal still covers the claim;
// any other error, or running out of cover, marks the claim lost for good: the thread stops and
// the owner must stop its work and write nothing.
//
// Threading: lost(), loss_reason() and Stop() may be called from any thread; `renew` runs on the
// background thread only. Stop() wakes the thread through a condition variable (it never sleeps
// out an interval) and waits at most for one `renew` call already in progress.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/status.h"

namespace stereospot::pipeline {

struct KeepAliveOptions {
  // How long each successful renewal covers the claim. Must be positive.
  std::chrono::milliseconds window{std::chrono::seconds(120)};
  // Time between renewals; 0 means window / 3. Default: 0.
  std::chrono::milliseconds interval{0};
  // Log component and the claim's name in log lines ("visibility", "lease").
  std::string component = "stereospot.keep_alive";
  std::string what = "claim";
  // Fields added to log lines (job_id, segment_index). Default: none.
  std::vector<LogField> log_fields;
};

class KeepAlive {
 public:
  // Starts renewing. The claim is assumed to have been taken (or renewed) just now.
  KeepAlive(std::function<Status()> renew, KeepAliveOptions options);
  ~KeepAlive();
  KeepAlive(const KeepAlive&) = delete;
  KeepAlive& operator=(const KeepAlive&) = delete;

  // True once the claim may have been lost. Never goes back to false.
  bool lost() const { return lost_.load(std::memory_order_acquire); }
  // The error that lost the claim when lost(), else OK.
  Status loss_reason() const;
  // Stops renewing and joins the thread. Idempotent.
  void Stop();
  // Renewals that succeeded so far.
  int renewals() const { return renewals_.load(std::memory_order_relaxed); }

 private:
  void Run();
  void MarkLost(Status reason);

  const std::function<Status()> renew_;
  const KeepAliveOptions options_;
  const std::chrono::milliseconds interval_;
  const Logger logger_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  Status loss_reason_;     // guarded by mutex_
  std::atomic<bool> lost_{false};
  std::atomic<int> renewals_{0};
  std::thread thread_;  // last member: started after everything it uses exists
};

}  // namespace stereospot::pipeline
