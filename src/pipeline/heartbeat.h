// Heartbeat: keeps one received queue message invisible while a worker owns it (DESIGN.md
// section 5).
//
// From construction until Stop() or destruction, a background thread calls
// WorkQueue::ChangeVisibility(receipt, visibility) every `interval` (default: a third of the
// visibility window), so long work is never delivered to a second worker and crashed work
// reappears within one window.
//
// Loss: an extension answered with kNotFound means the receipt is stale: the message was
// redelivered and another worker may own it. Any other error (kUnavailable, a timeout) is
// retried every interval/4 for as long as the last successful extension still covers the
// message; once it may have lapsed, ownership can no longer be proved. In both cases lost()
// becomes true for good, the thread stops extending, and the owner must stop its work and write
// nothing (no completion, no Delete).
//
// Threading: lost() and Stop() may be called from any thread. The destructor stops the thread
// promptly (a condition variable wakes it; it never sleeps out an interval), waiting at most for
// one ChangeVisibility call already in progress. The queue must outlive the Heartbeat.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/status.h"
#include "ports/work_queue.h"

namespace stereospot::pipeline {

struct HeartbeatOptions {
  // The visibility each extension sets; normally the visibility the message was received with.
  // Must be positive. Default: 120 s (Config::queue_visibility_seconds).
  std::chrono::milliseconds visibility{std::chrono::seconds(120)};
  // Time between extensions; 0 means visibility / 3. Default: 0.
  std::chrono::milliseconds interval{0};
  // Fields added to the heartbeat's log lines (job_id, segment_index). Default: none.
  std::vector<LogField> log_fields;
};

class Heartbeat {
 public:
  // Starts extending `receipt` on `queue`. The message is assumed to have been received (or last
  // extended) just now with options.visibility.
  Heartbeat(WorkQueue& queue, std::string receipt, HeartbeatOptions options);
  // Stops the thread (see Stop).
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // True once ownership of the message may have been lost (see the file comment). Never goes
  // back to false.
  bool lost() const { return lost_.load(std::memory_order_acquire); }

  // The error of the failed extension when lost(), else OK.
  Status loss_reason() const;

  // Stops extending and joins the thread. Call it before acting on the receipt yourself
  // (Delete, ChangeVisibility for a backoff), so no late extension overrides that act.
  // Idempotent.
  void Stop();

  // Extensions that succeeded so far (for tests and logs).
  int extensions() const { return extensions_.load(std::memory_order_relaxed); }

 private:
  void Run();
  void MarkLost(Status reason);

  WorkQueue& queue_;
  const std::string receipt_;
  const HeartbeatOptions options_;
  const std::chrono::milliseconds interval_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  Status loss_reason_;     // guarded by mutex_
  std::atomic<bool> lost_{false};
  std::atomic<int> extensions_{0};
  std::thread thread_;  // last member: started after everything it uses exists
};

}  // namespace stereospot::pipeline
