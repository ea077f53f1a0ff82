#include "pipeline/worker_loop.h"

#include <algorithm>
#include <random>

#include <nlohmann/json.hpp>

#include "core/messages.h"

namespace stereospot::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::int64_t MillisOf(double seconds) { return static_cast<std::int64_t>(seconds * 1000.0); }

double UnitRandom() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

HandlerOutcome HandlerOutcome::Error(Status status) {
  if (status.ok()) status = Status::Internal("handler reported an error with an OK status");
  return HandlerOutcome(Kind::kError, std::move(status));
}

HandlerOutcome HandlerOutcome::Undecodable(Status status) {
  if (status.ok()) status = Status::InvalidArgument("undecodable message body");
  return HandlerOutcome(Kind::kUndecodable, std::move(status));
}

std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int receive_count,
                                       double unit_random) {
  // Doubling stops at 2^30 so the shift cannot overflow; the cap takes over long before.
  const int doublings = std::clamp(receive_count - 1, 0, 30);
  const double raw =
      static_cast<double>(policy.base.count()) * static_cast<double>(1LL << doublings);
  const double capped = std::min(raw, static_cast<double>(policy.max.count()));
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  const double factor = 1.0 - jitter * std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(capped * factor));
}

std::vector<LogField> MessageLogFields(std::string_view body) {
  std::vector<LogField> fields;
  fields.emplace_back("job_id", JobIdForLog(body));
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object()) {
    auto it = json.find("segment_index");
    if (it != json.end() && it->is_number_integer()) {
      fields.emplace_back("segment_index", it->get<std::int64_t>());
    }
  }
  return fields;
}

WorkerLoop::WorkerLoop(WorkQueue& queue, MessageHandler handler, FinalFailureHook on_final_failure,
                       WorkerLoopOptions options)
    : queue_(queue),
      handler_(std::move(handler)),
      on_final_failure_(std::move(on_final_failure)),
      options_(std::move(options)),
      logger_(options_.component) {}

Status WorkerLoop::Validate() const {
  if (!handler_) return Status::InvalidArgument("worker loop needs a handler");
  if (options_.visibility.count() <= 0) return Status::InvalidArgument("visibility must be > 0");
  if (options_.max_receives < 1) return Status::InvalidArgument("max_receives must be >= 1");
  if (options_.stop_latency.count() <= 0 || options_.wait.count() < 0) {
    return Status::InvalidArgument("stop_latency must be > 0 and wait >= 0");
  }
  if (options_.backoff.base.count() < 0 || options_.backoff.max < options_.backoff.base) {
    return Status::InvalidArgument("backoff needs 0 <= base <= max");
  }
  return Status::OK();
}

void WorkerLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(pause_mutex_);
    if (options_.abandon_in_flight) abandoning_.store(true);
    stopping_.store(true);
  }
  pause_cv_.notify_all();
}

Status WorkerLoop::Run() {
  STEREOSPOT_RETURN_IF_ERROR(Validate());
  logger_.Info("worker started", {{"queue", queue_.name()}});
  while (!stopping_.load()) {
    Result<bool> handled = RunOnce(options_.wait);
    if (handled.ok()) continue;
    logger_.Warn("receive failed; pausing", {{"job_id", std::string("?")},
                                             {"queue", queue_.name()},
                                             {"reason", handled.status().ToString()}});
    std::unique_lock<std::mutex> lock(pause_mutex_);
    pause_cv_.wait_for(lock, options_.receive_error_pause, [this] { return stopping_.load(); });
  }
  logger_.Info("worker stopped", {{"queue", queue_.name()}});
  return Status::OK();
}

Result<bool> WorkerLoop::RunOnce(std::chrono::milliseconds wait) {
  STEREOSPOT_RETURN_IF_ERROR(Validate());
  const Clock::time_point deadline = Clock::now() + wait;
  // Receive in slices no longer than stop_latency, so an idle loop notices Stop() quickly.
  while (!stopping_.load()) {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    ReceiveOptions receive;
    receive.max_messages = 1;
    receive.visibility = options_.visibility;
    receive.wait = std::clamp(remaining, std::chrono::milliseconds(0), options_.stop_latency);
    STEREOSPOT_ASSIGN_OR_RETURN(std::vector<QueueMessage> messages, queue_.Receive(receive));
    if (!messages.empty()) {
      Process(messages.front());
      return true;
    }
    if (Clock::now() >= deadline) break;
  }
  return false;
}

void WorkerLoop::Process(const QueueMessage& message) {
  std::vector<LogField> fields = MessageLogFields(message.body);
  fields.emplace_back("queue", queue_.name());
  fields.emplace_back("message_id", message.message_id);
  fields.emplace_back("receive_count", message.receive_count);
  logger_.Info("received", fields);

  const Clock::time_point start = Clock::now();
  HeartbeatOptions heartbeat_options;
  heartbeat_options.visibility = options_.visibility;
  heartbeat_options.interval = options_.heartbeat_interval;
  heartbeat_options.log_fields = fields;
  Heartbeat heartbeat(queue_, message.receipt, heartbeat_options);
  WorkContext context(heartbeat, abandoning_, message.receive_count, options_.max_receives);
  HandlerOutcome outcome = handler_(message, context);
  // The heartbeat stops before the loop acts on the receipt, so no late extension can undo a
  // backoff or race a delete.
  heartbeat.Stop();
  const double seconds = SecondsSince(start);
  fields.emplace_back("duration_ms", MillisOf(seconds));

  if (heartbeat.lost()) {
    fields.emplace_back("reason", heartbeat.loss_reason().ToString());
    logger_.Warn("heartbeat lost; dropping the message without deleting it", fields);
    Count("dropped");
    return;
  }
  Settle(message, outcome, std::move(fields));
}

void WorkerLoop::Settle(const QueueMessage& message, const HandlerOutcome& outcome,
                        std::vector<LogField> fields) {
  const Status& status = outcome.status();
  switch (outcome.kind()) {
    case HandlerOutcome::Kind::kDone: {
      Status deleted = queue_.Delete(message.receipt);
      if (!deleted.ok()) {
        // The work is done and idempotent; a redelivery will find nothing left to do.
        fields.emplace_back("reason", deleted.ToString());
        logger_.Warn("completed, but deleting the message failed; it will be delivered again",
                     fields);
      } else {
        logger_.Info("completed", fields);
      }
      Count("done");
      return;
    }
    case HandlerOutcome::Kind::kUndecodable: {
      fields.emplace_back("reason", status.ToString());
      logger_.Error("undecodable message; moving it to the dead-letter queue", fields);
      Status moved = queue_.MoveToDeadLetter(message.receipt, status.ToString());
      if (!moved.ok()) {
        logger_.Error("moving the message to the dead-letter queue failed",
                      {fields.front(), {"reason", moved.ToString()}});
      }
      Count("dead_lettered");
      return;
    }
    case HandlerOutcome::Kind::kError:
      break;
  }
  const bool retry = status.IsRetryable() && message.receive_count < options_.max_receives;
  const Status final_status =
      status.IsRetryable() && !retry
          ? status.WithContext("gave up after " + std::to_string(message.receive_count) +
                               " deliveries")
          : status;
  fields.emplace_back("code", std::string(StatusCodeName(status.code())));
  fields.emplace_back("error", final_status.message());
  if (status.code() == StatusCode::kCancelled) {
    Status released = queue_.ChangeVisibility(message.receipt, std::chrono::milliseconds(0));
    if (!released.ok()) fields.emplace_back("release_error", released.ToString());
    logger_.Info("abandoned; the message is released for another worker", fields);
    Count("released");
    return;
  }
  if (retry) {
    const std::chrono::milliseconds delay = NextBackoff(message.receive_count);
    fields.emplace_back("retry_in_ms", static_cast<std::int64_t>(delay.count()));
    Status changed = queue_.ChangeVisibility(message.receipt, delay);
    if (!changed.ok()) fields.emplace_back("backoff_error", changed.ToString());
    logger_.Warn("failed; will retry", fields);
    Count("retried");
    return;
  }
  FailForGood(message, final_status, fields);
}

void WorkerLoop::FailForGood(const QueueMessage& message, const Status& status,
                             const std::vector<LogField>& fields) {
  logger_.Error("failed; moving the message to the dead-letter queue", fields);
  if (on_final_failure_) {
    Status hook = on_final_failure_(message, status);
    if (!hook.ok()) {
      std::vector<LogField> hook_fields = fields;
      hook_fields.emplace_back("hook_error", hook.ToString());
      logger_.Error("could not record the failure on the job", hook_fields);
    }
  }
  Status moved = queue_.MoveToDeadLetter(message.receipt, status.ToString());
  if (!moved.ok()) {
    std::vector<LogField> move_fields = fields;
    move_fields.emplace_back("dead_letter_error", moved.ToString());
    logger_.Error("moving the message to the dead-letter queue failed", move_fields);
  }
  Count("dead_lettered");
}

std::chrono::milliseconds WorkerLoop::NextBackoff(int receive_count) {
  return BackoffDelay(options_.backoff, receive_count, UnitRandom());
}

void WorkerLoop::Count(std::string_view outcome) {
  if (options_.metrics == nullptr) return;
  auto counter = options_.metrics->GetCounter(
      kMessagesTotal, "Queue messages handled by workers, by queue and outcome.",
      {{"queue", queue_.name()}, {"outcome", std::string(outcome)}});
  if (counter.ok()) (*counter)->Increment();
}

}  // namespace stereospot::pipeline
