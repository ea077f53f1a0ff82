// The WorkQueue on PostgreSQL (see ports/work_queue.h for the contract).
//
// All queues of a schema live in one table, told apart by name; a DLQ message is a row of its
// queue flagged dead. Receive is one statement: it locks the oldest visible rows with
// FOR UPDATE SKIP LOCKED (so concurrent receivers, in any process, never take the same row and
// never wait on each other), moves those at max_receives to the DLQ and hands out the rest with
// a fresh receipt. Every other call is one conditional UPDATE or DELETE on the receipt.
//
// Long polling: a Send commits a NOTIFY on the schema's channel, which the PgDatabase's listener
// turns into a wake-up of the waiting receivers of that queue in every process within
// milliseconds; the wait otherwise re-checks every PostgresOptions::poll_interval (delayed
// messages and expired visibility wake nobody).
#pragma once

#include <memory>
#include <string>

#include "adapters/postgres/pg_database.h"
#include "ports/work_queue.h"

namespace stereospot::postgres {

struct PgQueueOptions {
  int max_receives = 5;  // deliveries before the DLQ. Default: 5
};

class PgWorkQueue final : public WorkQueue {
 public:
  PgWorkQueue(std::shared_ptr<PgDatabase> db, std::string name, PgQueueOptions options = {});

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
  // Wakes this queue's waiters in every process (after the change is committed).
  void Wake();

  std::shared_ptr<PgDatabase> db_;
  std::string name_;
  PgQueueOptions options_;
};

}  // namespace stereospot::postgres
