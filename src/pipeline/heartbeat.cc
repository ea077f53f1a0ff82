#include "pipeline/heartbeat.h"

#include <algorithm>

namespace stereospot::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

const Logger& HeartbeatLogger() {
  static const Logger logger("stereospot.heartbeat");
  return logger;
}

std::chrono::milliseconds IntervalFor(const HeartbeatOptions& options) {
  if (options.interval.count() > 0) return options.interval;
  return std::max(std::chrono::milliseconds(1), options.visibility / 3);
}

}  // namespace

Heartbeat::Heartbeat(WorkQueue& queue, std::string receipt, HeartbeatOptions options)
    : queue_(queue),
      receipt_(std::move(receipt)),
      options_(std::move(options)),
      interval_(IntervalFor(options_)),
      thread_([this] { Run(); }) {}

Heartbeat::~Heartbeat() { Stop(); }

Status Heartbeat::loss_reason() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return loss_reason_;
}

void Heartbeat::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Heartbeat::MarkLost(Status reason) {
  std::vector<LogField> fields = options_.log_fields;
  fields.emplace_back("reason", reason.ToString());
  HeartbeatLogger().Warn("heartbeat lost; the message may belong to another worker", fields);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    loss_reason_ = std::move(reason);
  }
  lost_.store(true, std::memory_order_release);
}

void Heartbeat::Run() {
  // The message is covered until `covered_until`; a failed extension is retried only while it
  // is, because after that another receiver may already hold it.
  Clock::time_point covered_until = Clock::now() + options_.visibility;
  Clock::time_point next = Clock::now() + interval_;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
    lock.unlock();
    Clock::time_point attempt_start = Clock::now();
    Status s = queue_.ChangeVisibility(receipt_, options_.visibility);
    lock.lock();
    // A Stop() during the call wins: the owner is about to act on the receipt itself.
    if (stopping_) return;
    if (s.ok()) {
      extensions_.fetch_add(1, std::memory_order_relaxed);
      covered_until = attempt_start + options_.visibility;
      next = Clock::now() + interval_;
      continue;
    }
    const Clock::time_point retry_at =
        Clock::now() + std::max(std::chrono::milliseconds(1), interval_ / 4);
    if (s.IsNotFound() || retry_at >= covered_until) {
      lock.unlock();
      MarkLost(s.WithContext("extending visibility"));
      return;
    }
    lock.unlock();
    std::vector<LogField> fields = options_.log_fields;
    fields.emplace_back("reason", s.ToString());
    HeartbeatLogger().Warn("visibility extension failed; retrying", fields);
    lock.lock();
    next = retry_at;
  }
}

}  // namespace stereospot::pipeline
