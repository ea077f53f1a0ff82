// WorkQueueWrapper: a WorkQueue that forwards every call to another one (like leveldb's
// EnvWrapper). Fault-injection doubles subclass it and override the calls they break.
//
// FaultyWorkQueue counts calls and can fail ChangeVisibility (to simulate a lost heartbeat or a
// flaky backend). Both are thread-safe as long as the wrapped queue is; the wrapped queue must
// outlive the wrapper.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ports/work_queue.h"

namespace stereospot::fakes {

class WorkQueueWrapper : public WorkQueue {
 public:
  explicit WorkQueueWrapper(WorkQueue& target) : target_(target) {}

  const std::string& name() const override { return target_.name(); }
  Result<std::string> Send(std::string_view body, std::chrono::milliseconds delay) override {
    return target_.Send(body, delay);
  }
  Result<std::vector<QueueMessage>> Receive(const ReceiveOptions& options) override {
    return target_.Receive(options);
  }
  Status Delete(std::string_view receipt) override { return target_.Delete(receipt); }
  Status ChangeVisibility(std::string_view receipt, std::chrono::milliseconds visibility) override {
    return target_.ChangeVisibility(receipt, visibility);
  }
  Status MoveToDeadLetter(std::string_view receipt, std::string_view reason) override {
    return target_.MoveToDeadLetter(receipt, reason);
  }
  Result<QueueDepth> Depth() override { return target_.Depth(); }
  Result<std::vector<QueueMessage>> ListDeadLetters(int limit) override {
    return target_.ListDeadLetters(limit);
  }
  Result<std::int64_t> ReplayDeadLetters(std::string_view message_id) override {
    return target_.ReplayDeadLetters(message_id);
  }
  Result<std::int64_t> PurgeDeadLetters(std::string_view message_id) override {
    return target_.PurgeDeadLetters(message_id);
  }

 protected:
  WorkQueue& target() { return target_; }

 private:
  WorkQueue& target_;
};

// Counts Delete, ChangeVisibility and MoveToDeadLetter calls, and fails ChangeVisibility calls
// that would extend visibility (> 0) with `extension_error` once `fail_extensions` is set.
// Shortening calls (backoff, release) are never failed, so a test can tell them apart. The next
// `receive_failures` Receive calls fail with kUnavailable.
class FaultyWorkQueue final : public WorkQueueWrapper {
 public:
  using WorkQueueWrapper::WorkQueueWrapper;

  std::atomic<bool> fail_extensions{false};
  // How many extension failures to inject before succeeding again; < 0 means forever.
  std::atomic<int> extension_failures_left{-1};
  std::atomic<int> deletes{0};
  std::atomic<int> dead_letters{0};
  std::atomic<int> extensions{0};  // ChangeVisibility calls that reached the target with > 0
  std::atomic<int> receive_failures{0};

  void SetExtensionError(Status status) {
    std::lock_guard<std::mutex> lock(mutex_);
    extension_error_ = std::move(status);
  }
  // Every visibility a ChangeVisibility call asked for, in order.
  std::vector<std::chrono::milliseconds> visibility_changes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return visibility_changes_;
  }

  Result<std::vector<QueueMessage>> Receive(const ReceiveOptions& options) override {
    if (receive_failures.load() > 0) {
      --receive_failures;
      return Status::Unavailable("injected: receive failed");
    }
    return WorkQueueWrapper::Receive(options);
  }
  Status Delete(std::string_view receipt) override {
    ++deletes;
    return WorkQueueWrapper::Delete(receipt);
  }
  Status MoveToDeadLetter(std::string_view receipt, std::string_view reason) override {
    ++dead_letters;
    return WorkQueueWrapper::MoveToDeadLetter(receipt, reason);
  }
  Status ChangeVisibility(std::string_view receipt, std::chrono::milliseconds visibility) override {
    Status injected;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      visibility_changes_.push_back(visibility);
      if (visibility.count() > 0 && fail_extensions.load() && extension_failures_left != 0) {
        if (extension_failures_left > 0) --extension_failures_left;
        injected = extension_error_;
      }
    }
    if (!injected.ok()) return injected;
    if (visibility.count() > 0) ++extensions;
    return WorkQueueWrapper::ChangeVisibility(receipt, visibility);
  }

 private:
  std::mutex mutex_;
  Status extension_error_ = Status::NotFound("injected: receipt is stale");
  std::vector<std::chrono::milliseconds> visibility_changes_;
};

}  // namespace stereospot::fakes
