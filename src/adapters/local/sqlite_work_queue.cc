#include "adapters/local/sqlite_work_queue.h"

#include <algorithm>

#include "core/ids.h"
#include "core/job.h"

namespace stereospot::local {
namespace {

constexpr std::size_t kMaxBodyBytes = 256 * 1024;
constexpr std::int64_t kMaxVisibilityMs = 12LL * 3600 * 1000;

Status CheckReceipt(std::string_view receipt) {
  if (receipt.empty() || receipt.size() > 128) {
    return Status::InvalidArgument("malformed receipt");
  }
  return Status::OK();
}

}  // namespace

SqliteWorkQueue::SqliteWorkQueue(std::shared_ptr<SqliteDatabase> db, std::string name,
                                 SqliteQueueOptions options)
    : db_(std::move(db)), name_(std::move(name)), options_(options) {}

Result<std::string> SqliteWorkQueue::Send(std::string_view body, std::chrono::milliseconds delay) {
  if (body.empty() || body.size() > kMaxBodyBytes) {
    return Status::InvalidArgument("message body must be 1 byte to 256 KiB");
  }
  if (delay.count() < 0 || delay.count() > kMaxVisibilityMs) {
    return Status::InvalidArgument("delay must be in [0, 12 h]");
  }
  std::string message_id = RandomHex(16);
  STEREOSPOT_RETURN_IF_ERROR(db_->Write([&](SqlTransaction& tx) -> Status {
    std::int64_t now = NowMillis();
    return tx
        .Exec(
            "INSERT INTO queue_messages (queue, message_id, body, sent_at, visible_at) "
            "VALUES (?, ?, ?, ?, ?)",
            {name_, message_id, std::string(body), now, now + delay.count()})
        .status();
  }));
  db_->Notify(name_);
  return message_id;
}

Result<std::vector<QueueMessage>> SqliteWorkQueue::ReceiveNow(const ReceiveOptions& options) {
  std::vector<QueueMessage> out;
  Status s = db_->Write([&](SqlTransaction& tx) -> Status {
    std::int64_t now = NowMillis();
    // Loop because messages found at max_receives go to the DLQ and leave room for others.
    while (static_cast<int>(out.size()) < options.max_messages) {
      STEREOSPOT_ASSIGN_OR_RETURN(
          auto rows,
          tx.Query("SELECT id, message_id, body, receive_count, sent_at FROM queue_messages "
                   "WHERE queue = ? AND dead = 0 AND visible_at <= ? ORDER BY visible_at, id "
                   "LIMIT ?",
                   {name_, now, static_cast<std::int64_t>(options.max_messages - out.size())}));
      if (rows.empty()) break;
      for (const auto& r : rows) {
        std::int64_t receive_count = AsInt(r[3]);
        if (receive_count >= options_.max_receives) {
          STEREOSPOT_RETURN_IF_ERROR(
              tx.Exec("UPDATE queue_messages SET dead = 1, receipt = NULL, dead_at = ?, "
                      "dead_reason = ? WHERE id = ?",
                      {now,
                       "received " + std::to_string(receive_count) +
                           " times without being deleted (max_receives " +
                           std::to_string(options_.max_receives) + ")",
                       AsInt(r[0])})
                  .status());
          continue;
        }
        QueueMessage m;
        m.message_id = AsText(r[1]);
        m.body = AsText(r[2]);
        m.receive_count = static_cast<int>(receive_count + 1);
        m.sent_at = AsInt(r[4]);
        m.receipt = RandomHex(16);
        STEREOSPOT_RETURN_IF_ERROR(
            tx.Exec("UPDATE queue_messages SET receive_count = ?, receipt = ?, visible_at = ? "
                    "WHERE id = ?",
                    {static_cast<std::int64_t>(m.receive_count), m.receipt,
                     now + options.visibility.count(), AsInt(r[0])})
                .status());
        out.push_back(std::move(m));
      }
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<QueueMessage>> SqliteWorkQueue::Receive(const ReceiveOptions& options) {
  if (options.max_messages < 1 || options.max_messages > 10) {
    return Status::InvalidArgument("max_messages must be in [1, 10]");
  }
  if (options.visibility.count() < 1 || options.visibility.count() > kMaxVisibilityMs) {
    return Status::InvalidArgument("visibility must be in [1 ms, 12 h]");
  }
  if (options.wait.count() < 0) return Status::InvalidArgument("wait must be >= 0");
  auto deadline = std::chrono::steady_clock::now() + options.wait;
  while (true) {
    // Read the generation before looking, so a Send between the look and the wait still wakes us.
    std::uint64_t generation = db_->Generation(name_);
    STEREOSPOT_ASSIGN_OR_RETURN(auto messages, ReceiveNow(options));
    if (!messages.empty()) return messages;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return messages;
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    db_->WaitForChange(name_, generation,
                       std::min(remaining + std::chrono::milliseconds(1), options_.poll_interval));
  }
}

Status SqliteWorkQueue::Delete(std::string_view receipt) {
  STEREOSPOT_RETURN_IF_ERROR(CheckReceipt(receipt));
  return db_->Write([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(
        std::int64_t changed,
        tx.Exec("DELETE FROM queue_messages WHERE receipt = ? AND queue = ? AND dead = 0",
                {std::string(receipt), name_}));
    if (changed == 0) {
      return Status::NotFound("receipt is stale (message redelivered) or the message is gone");
    }
    return Status::OK();
  });
}

Status SqliteWorkQueue::ChangeVisibility(std::string_view receipt,
                                         std::chrono::milliseconds visibility) {
  STEREOSPOT_RETURN_IF_ERROR(CheckReceipt(receipt));
  if (visibility.count() < 0 || visibility.count() > kMaxVisibilityMs) {
    return Status::InvalidArgument("visibility must be in [0, 12 h]");
  }
  STEREOSPOT_RETURN_IF_ERROR(db_->Write([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(
        std::int64_t changed,
        tx.Exec("UPDATE queue_messages SET visible_at = ? WHERE receipt = ? AND queue = ? AND "
                "dead = 0",
                {NowMillis() + visibility.count(), std::string(receipt), name_}));
    if (changed == 0) {
      return Status::NotFound("receipt is stale (message redelivered) or the message is gone");
    }
    return Status::OK();
  }));
  if (visibility.count() == 0) db_->Notify(name_);
  return Status::OK();
}

Status SqliteWorkQueue::MoveToDeadLetter(std::string_view receipt, std::string_view reason) {
  STEREOSPOT_RETURN_IF_ERROR(CheckReceipt(receipt));
  return db_->Write([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(
        std::int64_t changed,
        tx.Exec("UPDATE queue_messages SET dead = 1, receipt = NULL, dead_at = ?, dead_reason = ? "
                "WHERE receipt = ? AND queue = ? AND dead = 0",
                {NowMillis(), std::string(reason), std::string(receipt), name_}));
    if (changed == 0) {
      return Status::NotFound("receipt is stale (message redelivered) or the message is gone");
    }
    return Status::OK();
  });
}

Result<QueueDepth> SqliteWorkQueue::Depth() {
  QueueDepth depth;
  STEREOSPOT_RETURN_IF_ERROR(db_->Read([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT "
                            "COALESCE(SUM(dead = 0 AND visible_at <= ?1), 0), "
                            "COALESCE(SUM(dead = 0 AND visible_at > ?1 AND receive_count > 0), 0), "
                            "COALESCE(SUM(dead = 0 AND visible_at > ?1 AND receive_count = 0), 0), "
                            "COALESCE(SUM(dead = 1), 0) "
                            "FROM queue_messages WHERE queue = ?2",
                            {NowMillis(), name_}));
    depth.visible = AsInt(rows[0][0]);
    depth.in_flight = AsInt(rows[0][1]);
    depth.delayed = AsInt(rows[0][2]);
    depth.dead_letter = AsInt(rows[0][3]);
    return Status::OK();
  }));
  return depth;
}

Result<std::vector<QueueMessage>> SqliteWorkQueue::ListDeadLetters(int limit) {
  if (limit < 1 || limit > 1000) return Status::InvalidArgument("limit must be in [1, 1000]");
  std::vector<QueueMessage> out;
  STEREOSPOT_RETURN_IF_ERROR(db_->Read([&](SqlTransaction& tx) -> Status {
    STEREOSPOT_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT message_id, body, receive_count, sent_at, dead_reason FROM "
                            "queue_messages WHERE queue = ? AND dead = 1 ORDER BY dead_at, id "
                            "LIMIT ?",
                            {name_, static_cast<std::int64_t>(limit)}));
    for (const auto& r : rows) {
      QueueMessage m;
      m.message_id = AsText(r[0]);
      m.body = AsText(r[1]);
      m.receive_count = static_cast<int>(AsInt(r[2]));
      m.sent_at = AsInt(r[3]);
      m.dead_letter_reason = AsText(r[4]);
      out.push_back(std::move(m));
    }
    return Status::OK();
  }));
  return out;
}

Result<std::int64_t> SqliteWorkQueue::ReplayDeadLetters(std::string_view message_id) {
  std::int64_t moved = 0;
  STEREOSPOT_RETURN_IF_ERROR(db_->Write([&](SqlTransaction& tx) -> Status {
    std::string sql =
        "UPDATE queue_messages SET dead = 0, receive_count = 0, receipt = NULL, "
        "dead_reason = NULL, dead_at = NULL, visible_at = ? WHERE queue = ? AND dead = 1";
    std::vector<SqlValue> params = {NowMillis(), name_};
    if (!message_id.empty()) {
      sql += " AND message_id = ?";
      params.emplace_back(std::string(message_id));
    }
    STEREOSPOT_ASSIGN_OR_RETURN(moved, tx.Exec(sql, params));
    if (!message_id.empty() && moved == 0) {
      return Status::NotFound("no message " + std::string(message_id) + " in the DLQ of " + name_);
    }
    return Status::OK();
  }));
  if (moved > 0) db_->Notify(name_);
  return moved;
}

Result<std::int64_t> SqliteWorkQueue::PurgeDeadLetters(std::string_view message_id) {
  std::int64_t purged = 0;
  STEREOSPOT_RETURN_IF_ERROR(db_->Write([&](SqlTransaction& tx) -> Status {
    std::string sql = "DELETE FROM queue_messages WHERE queue = ? AND dead = 1";
    std::vector<SqlValue> params = {name_};
    if (!message_id.empty()) {
      sql += " AND message_id = ?";
      params.emplace_back(std::string(message_id));
    }
    STEREOSPOT_ASSIGN_OR_RETURN(purged, tx.Exec(sql, params));
    if (!message_id.empty() && purged == 0) {
      return Status::NotFound("no message " + std::string(message_id) + " in the DLQ of " + name_);
    }
    return Status::OK();
  }));
  return purged;
}

}  // namespace stereospot::local
