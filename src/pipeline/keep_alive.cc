#include "pipeline/keep_alive.h"

#include <algorithm>

namespace stereospot::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds IntervalFor(const KeepAliveOptions& options) {
  if (options.interval.count() > 0) return options.interval;
  return std::max(std::chrono::milliseconds(1), options.window / 3);
}

}  // namespace

KeepAlive::KeepAlive(std::function<Status()> renew, KeepAliveOptions options)
    : renew_(std::move(renew)),
      options_(std::move(options)),
      interval_(IntervalFor(options_)),
      logger_(options_.component),
      thread_([this] { Run(); }) {}

KeepAlive::~KeepAlive() { Stop(); }

Status KeepAlive::loss_reason() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return loss_reason_;
}

void KeepAlive::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void KeepAlive::MarkLost(Status reason) {
  std::vector<LogField> fields = options_.log_fields;
  fields.emplace_back("reason", reason.ToString());
  if (reason.code() == StatusCode::kCancelled) {
    // The renewal itself said the work is over (e.g. the job was cancelled): not a fault.
    logger_.Info(options_.what + " ended the work", fields);
  } else {
    logger_.Warn(options_.what + " lost; another worker may own the work now", fields);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    loss_reason_ = std::move(reason);
  }
  lost_.store(true, std::memory_order_release);
}

void KeepAlive::Run() {
  // A failed renewal is retried only while the claim is still covered: after that, someone
  // else may already hold it.
  Clock::time_point covered_until = Clock::now() + options_.window;
  Clock::time_point next = Clock::now() + interval_;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
    lock.unlock();
    const Clock::time_point attempt_start = Clock::now();
    Status s = renew_();
    lock.lock();
    // A Stop() during the call wins: the owner is about to act on the claim itself.
    if (stopping_) return;
    if (s.ok()) {
      renewals_.fetch_add(1, std::memory_order_relaxed);
      covered_until = attempt_start + options_.window;
      next = Clock::now() + interval_;
      continue;
    }
    const Clock::time_point retry_at =
        Clock::now() + std::max(std::chrono::milliseconds(1), interval_ / 4);
    lock.unlock();
    if (!s.IsRetryable() || retry_at >= covered_until) {
      MarkLost(s.WithContext("renewing " + options_.what));
      return;
    }
    std::vector<LogField> fields = options_.log_fields;
    fields.emplace_back("reason", s.ToString());
    logger_.Warn("renewing " + options_.what + " failed; retrying", fields);
    lock.lock();
    next = retry_at;
  }
}

}  // namespace stereospot::pipeline
