// The embedded WorkQueue on SQLite (see ports/work_queue.h for the contract).
//
// All queues of a database live in one table, told apart by name; a DLQ message is a row of its
// queue flagged dead. A receive waiting in long poll is woken by a Send through the same
// SqliteDatabase object at once, and otherwise re-checks every poll_interval, which bounds how
// late it sees a message sent by another process.
#pragma once

#include <memory>
#include <string>

#include "adapters/local/sqlite_database.h"
#include "ports/work_queue.h"

namespace stereospot::local {

struct SqliteQueueOptions {
  int max_receives = 5;                          // deliveries before the DLQ. Default: 5
  std::chrono::milliseconds poll_interval{200};  // cross-process long-poll re-check
};

class SqliteWorkQueue final : public WorkQueue {
 public:
  SqliteWorkQueue(std::shared_ptr<SqliteDatabase> db, std::string name,
                  SqliteQueueOptions options = {});

  const std::string& name() const override { return name_; }
  Result<std::string> Send(std::string_view body, std::chrono::milliseconds delay) override;
  Result<std::vector<QueueMessage>> Receive(const ReceiveOptions& options) override;
  Status Delete(std::string_view receipt) override;
  Status ChangeVisibility(std::string_view receipt, std::chrono::milliseconds visibility) override;
  Status MoveToDeadLetter(std::string_view receipt, std::string_view reason) override;
  Result<QueueDepth> Depth() override;
  Result<std::vector<QueueMessage>> ListDeadLetters(int limit) override;
  Result<std::int64_t> ReplayDeadLetters(std::string_view message_id) override;
  Result<std::int64_t> PurgeDeadLetters(std::string_view message_id) override;

 private:
  // One non-waiting receive attempt.
  Result<std::vector<QueueMessage>> ReceiveNow(const ReceiveOptions& options);

  std::shared_ptr<SqliteDatabase> db_;
  std::string name_;
  SqliteQueueOptions options_;
};

}  // namespace stereospot::local
