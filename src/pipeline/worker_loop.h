// WorkerLoop: the generic worker of DESIGN.md section 5, one loop over one WorkQueue.
//
// Each turn long-polls for one message, starts a Heartbeat for it, calls the handler, and acts on
// the handler's outcome:
//   done                  -> Delete the message.
//   error, kUnavailable   -> retry: ChangeVisibility to an exponential backoff; but on the last
//                            allowed delivery (receive_count >= max_receives) call
//                            on_final_failure and MoveToDeadLetter with the reason.
//   error, kCancelled     -> release: the work was abandoned (shutdown); the message is made
//                            visible again at once for another worker.
//   error, any other code -> permanent: on_final_failure, then MoveToDeadLetter at once.
//   undecodable           -> MoveToDeadLetter with the reason (no job to fail; logged with
//                            job_id=? unless the body names a valid job id).
// Whatever the outcome, when the heartbeat was lost the message is dropped: nothing is deleted,
// moved or changed, because another worker may own it.
//
// A worker that dies during a message's last delivery calls no hook: the queue itself moves the
// message to the DLQ on a later receive, and the janitor reports the job as stalled.
//
// Handlers decode the body themselves (the loop is body-agnostic), must poll
// WorkContext::cancelled() between steps, and must write nothing once it is true.
//
// Threading: Run() blocks its calling thread until Stop(); run one WorkerLoop per worker thread
// and call Run() or RunOnce() from that thread only.
// Stop() may be called from any thread (a signal handler's helper thread, a test). The queue, the
// handler and the hooks must outlive the loop. Handler and hooks run on the Run() thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/status.h"
#include "pipeline/heartbeat.h"
#include "pipeline/metrics.h"
#include "ports/work_queue.h"

namespace stereospot::pipeline {

// What a handler reports about one message.
class HandlerOutcome {
 public:
  enum class Kind { kDone, kError, kUndecodable };

  // The work is finished (or there was nothing to do, e.g. the job was cancelled): delete it.
  static HandlerOutcome Done() { return HandlerOutcome(Kind::kDone, Status::OK()); }
  // The work failed; the Status code decides retry (kUnavailable), release (kCancelled) or
  // permanent failure (anything else). An OK status is treated as kInternal.
  static HandlerOutcome Error(Status status);
  // The body is not a valid message of this queue: it can never succeed.
  static HandlerOutcome Undecodable(Status status);

  Kind kind() const { return kind_; }
  const Status& status() const { return status_; }

 private:
  HandlerOutcome(Kind kind, Status status) : kind_(kind), status_(std::move(status)) {}
  Kind kind_;
  Status status_;
};

// What the loop tells a handler about the message in hand. Owned by the loop; valid only during
// the Handle call.
class WorkContext {
 public:
  WorkContext(const Heartbeat& heartbeat, const std::atomic<bool>& abandoning, int receive_count,
              int max_receives)
      : heartbeat_(heartbeat),
        abandoning_(abandoning),
        receive_count_(receive_count),
        max_receives_(max_receives) {}

  // True when the work must stop now: the heartbeat was lost (write nothing) or the loop is
  // stopping with abandon_in_flight (return Error(Status::Cancelled(...))). Thread-safe.
  bool cancelled() const { return heartbeat_lost() || abandoning_.load(); }
  bool heartbeat_lost() const { return heartbeat_.lost(); }
  // Deliveries of this message so far, this one included (1 on the first).
  int receive_count() const { return receive_count_; }
  // True on the last delivery the loop allows: a transient error now fails the job.
  bool last_delivery() const { return receive_count_ >= max_receives_; }

 private:
  const Heartbeat& heartbeat_;
  const std::atomic<bool>& abandoning_;
  int receive_count_;
  int max_receives_;
};

using MessageHandler = std::function<HandlerOutcome(const QueueMessage&, WorkContext&)>;
// Called once when a message's work fails for good, before it goes to the DLQ: the processor
// marks the job failed with the stage and reason. An error it returns is logged; the message
// still goes to the DLQ (the janitor reports the job as stalled).
using FinalFailureHook = std::function<Status(const QueueMessage&, const Status&)>;

struct BackoffPolicy {
  // Delay after the first failed delivery; doubled for each further one. Default: 5 s.
  std::chrono::milliseconds base{std::chrono::seconds(5)};
  // Upper bound of the delay. Default: 5 min.
  std::chrono::milliseconds max{std::chrono::minutes(5)};
  // The delay is scaled by a random factor in [1 - jitter, 1], so retries of many messages that
  // failed together spread out. 0..1. Default: 0.2.
  double jitter = 0.2;
};

// The backoff before the delivery after `receive_count` (>= 1): base * 2^(receive_count - 1),
// capped at max, times (1 - jitter * unit_random) with unit_random in [0, 1). Pure.
std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int receive_count,
                                       double unit_random);

struct WorkerLoopOptions {
  // Log component ("stereospot.video_worker"). Default: "stereospot.worker".
  std::string component = "stereospot.worker";
  // Visibility of received messages, kept up by the heartbeat. Default: 120 s.
  std::chrono::milliseconds visibility{std::chrono::seconds(120)};
  // Heartbeat interval; 0 means visibility / 3. Default: 0.
  std::chrono::milliseconds heartbeat_interval{0};
  // Long-poll wait of each receive. Default: 20 s.
  std::chrono::milliseconds wait{std::chrono::seconds(20)};
  // A receive waits at most this long at a time, which bounds how late an idle loop sees Stop().
  // Default: 1 s.
  std::chrono::milliseconds stop_latency{std::chrono::seconds(1)};
  // Deliveries allowed; must equal the queue's own max_receives. Default: 5.
  int max_receives = 5;
  BackoffPolicy backoff;
  // Pause after a failed Receive before the next one. Default: 1 s.
  std::chrono::milliseconds receive_error_pause{std::chrono::seconds(1)};
  // On Stop(): false finishes the message in hand; true sets WorkContext::cancelled() so the
  // handler abandons it (the message is released for another worker). Default: false.
  bool abandon_in_flight = false;
  // Where to count outcomes (stereospot_messages_total); may be null. Default: null.
  MetricsRegistry* metrics = nullptr;
};

class WorkerLoop {
 public:
  // `on_final_failure` may be empty (no job to fail, e.g. a queue without jobs).
  WorkerLoop(WorkQueue& queue, MessageHandler handler, FinalFailureHook on_final_failure,
             WorkerLoopOptions options);
  WorkerLoop(const WorkerLoop&) = delete;
  WorkerLoop& operator=(const WorkerLoop&) = delete;

  // Processes messages until Stop(). Returns OK after a Stop(); kInvalidArgument at once for
  // invalid options. Receive errors are logged and retried, never returned.
  Status Run();

  // Processes at most one message, waiting up to `wait` for one. Returns true when a message was
  // handled. For tests and for one-shot commands.
  Result<bool> RunOnce(std::chrono::milliseconds wait);

  // Asks Run() to return after the message in hand (see abandon_in_flight). Thread-safe,
  // idempotent, returns at once.
  void Stop();
  bool stopping() const { return stopping_.load(); }

 private:
  Status Validate() const;
  void Process(const QueueMessage& message);
  void Settle(const QueueMessage& message, const HandlerOutcome& outcome,
              std::vector<LogField> fields);
  void FailForGood(const QueueMessage& message, const Status& status,
                   const std::vector<LogField>& fields);
  void Count(std::string_view outcome);
  std::chrono::milliseconds NextBackoff(int receive_count);

  WorkQueue& queue_;
  MessageHandler handler_;
  FinalFailureHook on_final_failure_;
  WorkerLoopOptions options_;
  Logger logger_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> abandoning_{false};
  std::mutex pause_mutex_;
  std::condition_variable pause_cv_;
};

// The log fields of a message body: job_id (or "?", DESIGN.md section 9) and segment_index when
// the body has an integer one. Never fails.
std::vector<LogField> MessageLogFields(std::string_view body);

}  // namespace stereospot::pipeline
