// Heartbeat: keeps one received queue message invisible while a worker owns it (DESIGN.md
// section 5).
//
// From construction until Stop() or destruction, a background thread (a KeepAlive) calls
// WorkQueue::ChangeVisibility(receipt, visibility) every `interval` (default: a third of the
// visibility window), so long work is never delivered to a second worker and crashed work
// reappears within one window.
//
// Loss: an extension answered with kNotFound means the receipt is stale: the message was
// redelivered and another worker may own it; any other non-retryable error is treated the same.
// kUnavailable is retried every interval/4 for as long as the last successful extension still
// covers the message; once it may have lapsed, ownership can no longer be proved. In every case
// lost() becomes true for good, the thread stops extending, and the owner must stop its work and
// write nothing (no completion, no Delete).
//
// Threading: lost() and Stop() may be called from any thread. The destructor stops the thread
// promptly (a condition variable wakes it; it never sleeps out an interval), waiting at most for
// one ChangeVisibility call already in progress. The queue must outlive the Heartbeat.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/status.h"
#include "pipeline/keep_alive.h"
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
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // True once ownership of the message may have been lost (see the file comment). Never goes
  // back to false.
  bool lost() const { return keep_alive_.lost(); }

  // The error of the failed extension when lost(), else OK.
  Status loss_reason() const { return keep_alive_.loss_reason(); }

  // Stops extending and joins the thread. Call it before acting on the receipt yourself
  // (Delete, ChangeVisibility for a backoff), so no late extension overrides that act.
  // Idempotent; the destructor calls it.
  void Stop() { keep_alive_.Stop(); }

  // Extensions that succeeded so far (for tests and logs).
  int extensions() const { return keep_alive_.renewals(); }

 private:
  KeepAlive keep_alive_;
};

}  // namespace stereospot::pipeline
