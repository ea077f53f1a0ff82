// WorkQueue: one named queue with SQS semantics and its dead-letter queue (DESIGN.md section 5).
//
// Delivery is at least once. A received message is invisible to other receivers until its
// visibility ends; then it is delivered again with a new receipt and a receive count one higher.
// Only the latest delivery's receipt acts (Delete, ChangeVisibility); an older receipt is stale
// and gets kNotFound, because another worker may now own the message. A message whose receive
// count has reached max_receives is moved to the dead-letter queue (DLQ) on the next receive
// attempt instead of being delivered again.
//
// Errors: kNotFound for stale or unknown receipts and message ids; kInvalidArgument for bad
// arguments; kUnavailable for transient failures worth retrying. Implementations never throw.
//
// Thread safety: safe for concurrent use by many threads and processes sharing the backend.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace stereospot {

struct QueueMessage {
  std::string message_id;  // stable across deliveries
  std::string body;
  std::string receipt;             // this delivery's handle; empty for DLQ listings
  int receive_count = 0;           // deliveries so far, this one included
  std::int64_t sent_at = 0;        // Unix ms of the original send
  std::string dead_letter_reason;  // DLQ listings only
};

struct ReceiveOptions {
  int max_messages = 1;  // 1..10
  // How long to wait for a message when none is visible (long poll). 0 returns at once.
  std::chrono::milliseconds wait{0};
  // How long received messages stay invisible. 1 ms .. 12 h.
  std::chrono::milliseconds visibility{std::chrono::seconds(30)};
};

struct QueueDepth {
  std::int64_t visible = 0;      // ready to be received now
  std::int64_t in_flight = 0;    // received and not yet deleted or expired
  std::int64_t delayed = 0;      // sent with a delay that has not passed
  std::int64_t dead_letter = 0;  // in the DLQ
};

class WorkQueue {
 public:
  WorkQueue() = default;
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  virtual ~WorkQueue() = default;

  // The queue's name ("segments").
  virtual const std::string& name() const = 0;

  // Enqueues `body` (non-empty, at most 256 KiB), visible after `delay`. Returns the message id.
  virtual Result<std::string> Send(
      std::string_view body, std::chrono::milliseconds delay = std::chrono::milliseconds(0)) = 0;

  // Receives up to max_messages visible messages, oldest first, making each invisible for
  // `visibility`. When none is visible, waits up to `wait` for one: a Send to this queue in the
  // same process wakes the wait at once, one from another process within the backend's poll
  // interval. Returns an empty list when the wait ends with nothing. Messages at max_receives
  // found on the way are moved to the DLQ, not returned.
  virtual Result<std::vector<QueueMessage>> Receive(const ReceiveOptions& options) = 0;

  // Deletes the message this receipt delivered. kNotFound if the receipt is stale (the message
  // was redelivered) or the message is gone.
  virtual Status Delete(std::string_view receipt) = 0;

  // Sets the message's visibility to end `visibility` from now (0 makes it visible at once). Used
  // both to extend (heartbeat) and to shorten (retry with backoff). kNotFound if stale.
  virtual Status ChangeVisibility(std::string_view receipt,
                                  std::chrono::milliseconds visibility) = 0;

  // Moves the message this receipt delivered to the DLQ at once, with a reason (a worker that
  // knows its message is poison). kNotFound if stale.
  virtual Status MoveToDeadLetter(std::string_view receipt, std::string_view reason) = 0;

  virtual Result<QueueDepth> Depth() = 0;

  // DLQ messages, oldest first, at most `limit` (1..1000).
  virtual Result<std::vector<QueueMessage>> ListDeadLetters(int limit) = 0;

  // Moves DLQ messages back to this queue with their receive count reset: one message by id, or
  // all when `message_id` is empty. Returns how many moved; kNotFound for an unknown id.
  virtual Result<std::int64_t> ReplayDeadLetters(std::string_view message_id = {}) = 0;

  // Deletes DLQ messages (one by id, or all when empty). Returns how many were deleted.
  virtual Result<std::int64_t> PurgeDeadLetters(std::string_view message_id = {}) = 0;
};

// The queues of DESIGN.md section 5.
inline constexpr std::string_view kChunkingQueue = "chunking";
inline constexpr std::string_view kSegmentsQueue = "segments";
inline constexpr std::string_view kReassemblyQueue = "reassembly";
inline constexpr std::string_view kDeletionQueue = "deletion";
inline constexpr std::string_view kAllQueueNames[] = {kChunkingQueue, kSegmentsQueue,
                                                      kReassemblyQueue, kDeletionQueue};

}  // namespace stereospot
