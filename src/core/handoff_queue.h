// HandoffQueue: items from producer threads to consumer threads, in order, with an end and a
// failure that every side sees.
//
// Contract:
// - Push blocks while the queue holds `capacity` items (capacity 0: never blocks), and returns
//   false, dropping the item, once the queue has failed.
// - Pop blocks until an item is available and returns true with it; it returns false when no
//   item will come: the queue was closed and is drained, or it has failed (queued items are then
//   dropped).
// - Close() says no more items will be pushed; consumers still receive the queued ones.
// - Fail(status) records the first failure (later ones are ignored) and wakes everyone; status()
//   returns it (OK while none).
// Thread-safe; Close and Fail are idempotent.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

#include "core/status.h"

namespace stereospot {

template <typename T>
class HandoffQueue {
 public:
  explicit HandoffQueue(std::size_t capacity = 0) : capacity_(capacity) {}
  HandoffQueue(const HandoffQueue&) = delete;
  HandoffQueue& operator=(const HandoffQueue&) = delete;

  bool Push(T item) {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return capacity_ == 0 || items_.size() < capacity_ || !failure_.ok(); });
    if (!failure_.ok()) return false;
    items_.push_back(std::move(item));
    ready_.notify_one();
    return true;
  }

  bool Pop(T* item) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !items_.empty() || closed_ || !failure_.ok(); });
    if (!failure_.ok() || items_.empty()) return false;
    *item = std::move(items_.front());
    items_.pop_front();
    room_.notify_one();
    return true;
  }

  void Close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_all();
  }

  void Fail(Status status) {
    std::lock_guard lock(mutex_);
    if (failure_.ok() && !status.ok()) failure_ = std::move(status);
    ready_.notify_all();
    room_.notify_all();
  }

  Status status() const {
    std::lock_guard lock(mutex_);
    return failure_;
  }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_, room_;
  std::deque<T> items_;
  bool closed_ = false;
  Status failure_;
};

}  // namespace stereospot
