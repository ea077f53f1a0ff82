#include "adapters/postgres/pg_work_queue.h"

#include <algorithm>

#include "core/ids.h"

namespace stereospot::postgres {
namespace {

constexpr std::size_t kMaxBodyBytes = 256 * 1024;
constexpr std::int64_t kMaxVisibilityMs = 12LL * 3600 * 1000;

const std::string kNow = kPgNowMillis;

Status CheckReceipt(std::string_view receipt) {
  if (receipt.empty() || receipt.size() > 128) {
    return Status::InvalidArgument("malformed receipt");
  }
  return Status::OK();
}

Status StaleReceipt() {
  return Status::NotFound("receipt is stale (message redelivered) or the message is gone");
}

// $1 queue, $2 limit, $3 max_receives, $4 visibility ms. The picked rows are materialised once,
// locked; those at max_receives go to the DLQ, the others get a new receipt (122 random bits from
// the server's strong random source). The outer join keeps one row even when nothing was
// delivered, so the DLQ count always comes back.
const std::string kReceiveSql =
    "WITH picked AS MATERIALIZED (SELECT id, receive_count, visible_at FROM queue_messages "
    "WHERE queue = $1::text AND NOT dead AND visible_at <= " +
    kNow +
    " ORDER BY visible_at, id LIMIT $2::bigint FOR UPDATE SKIP LOCKED), "
    "dlq AS (UPDATE queue_messages m SET dead = true, receipt = NULL, dead_at = " +
    kNow +
    ", dead_reason = 'received ' || p.receive_count || ' times without being deleted "
    "(max_receives ' || $3::integer || ')' FROM picked p "
    "WHERE m.id = p.id AND p.receive_count >= $3::integer RETURNING m.id), "
    "got AS (UPDATE queue_messages m SET receive_count = m.receive_count + 1, "
    "receipt = replace(gen_random_uuid()::text, '-', ''), visible_at = " +
    kNow +
    " + $4::bigint FROM picked p WHERE m.id = p.id AND p.receive_count < $3::integer "
    "RETURNING m.message_id, m.body, m.receive_count, m.sent_at, m.receipt, "
    "p.visible_at AS old_visible_at, m.id) "
    "SELECT got.message_id, got.body, got.receive_count, got.sent_at, got.receipt, "
    "(SELECT count(*) FROM dlq) FROM (SELECT 1) AS one LEFT JOIN got ON true "
    "ORDER BY got.old_visible_at, got.id";

}  // namespace

PgWorkQueue::PgWorkQueue(std::shared_ptr<PgDatabase> db, std::string name, PgQueueOptions options)
    : db_(std::move(db)), name_(std::move(name)), options_(options) {}

void PgWorkQueue::Wake() {
  db_->NotifyLocal(name_);
  // Best effort: a lost notification only delays waiters to their poll interval.
  (void)db_->Execute("SELECT pg_notify($1::text, $2::text)", {db_->channel(), name_});
}

Result<std::string> PgWorkQueue::Send(std::string_view body, std::chrono::milliseconds delay) {
  if (body.empty() || body.size() > kMaxBodyBytes) {
    return Status::InvalidArgument("message body must be 1 byte to 256 KiB");
  }
  if (delay.count() < 0 || delay.count() > kMaxVisibilityMs) {
    return Status::InvalidArgument("delay must be in [0, 12 h]");
  }
  std::string message_id = RandomHex(16);
  if (delay.count() == 0) {
    // The NOTIFY is delivered when the INSERT commits, in the same statement.
    STEREOSPOT_RETURN_IF_ERROR(
        db_->Execute("WITH ins AS (INSERT INTO queue_messages (queue, message_id, body, sent_at, "
                     "visible_at) VALUES ($1::text, $2::text, $3::text, " +
                         kNow + ", " + kNow +
                         ") RETURNING 1) SELECT pg_notify($4::text, $1::text) FROM ins",
                     {name_, message_id, std::string(body), db_->channel()})
            .status());
    db_->NotifyLocal(name_);
  } else {
    STEREOSPOT_RETURN_IF_ERROR(
        db_->Execute("INSERT INTO queue_messages (queue, message_id, body, sent_at, visible_at) "
                     "VALUES ($1::text, $2::text, $3::text, " +
                         kNow + ", " + kNow + " + $4::bigint)",
                     {name_, message_id, std::string(body), std::int64_t{delay.count()}})
            .status());
  }
  return message_id;
}

Result<std::vector<QueueMessage>> PgWorkQueue::ReceiveNow(const ReceiveOptions& options) {
  std::vector<QueueMessage> out;
  // Loop because messages found at max_receives go to the DLQ and leave room for others.
  while (static_cast<int>(out.size()) < options.max_messages) {
    STEREOSPOT_ASSIGN_OR_RETURN(
        PgRows rows,
        db_->Execute(
            kReceiveSql,
            {name_, std::int64_t{options.max_messages} - static_cast<std::int64_t>(out.size()),
             std::int64_t{options_.max_receives}, std::int64_t{options.visibility.count()}}));
    for (int r = 0; r < rows.size(); ++r) {
      if (rows.IsNull(r, 0)) continue;
      QueueMessage m;
      m.message_id = rows.Text(r, 0);
      m.body = rows.Text(r, 1);
      m.receive_count = static_cast<int>(rows.Int(r, 2));
      m.sent_at = rows.Int(r, 3);
      m.receipt = rows.Text(r, 4);
      out.push_back(std::move(m));
    }
    if (rows.Int(0, 5) == 0) break;
  }
  return out;
}

Result<std::vector<QueueMessage>> PgWorkQueue::Receive(const ReceiveOptions& options) {
  if (options.max_messages < 1 || options.max_messages > 10) {
    return Status::InvalidArgument("max_messages must be in [1, 10]");
  }
  if (options.visibility.count() < 1 || options.visibility.count() > kMaxVisibilityMs) {
    return Status::InvalidArgument("visibility must be in [1 ms, 12 h]");
  }
  if (options.wait.count() < 0) return Status::InvalidArgument("wait must be >= 0");
  const auto deadline = std::chrono::steady_clock::now() + options.wait;
  while (true) {
    // Read the generation before looking, so a Send between the look and the wait still wakes us.
    const std::uint64_t generation = db_->Generation(name_);
    STEREOSPOT_ASSIGN_OR_RETURN(auto messages, ReceiveNow(options));
    if (!messages.empty()) return messages;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return messages;
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    db_->WaitForChange(
        name_, generation,
        std::min(remaining + std::chrono::milliseconds(1), db_->options().poll_interval));
  }
}

Status PgWorkQueue::Delete(std::string_view receipt) {
  STEREOSPOT_RETURN_IF_ERROR(CheckReceipt(receipt));
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows, db_->Execute("DELETE FROM queue_messages WHERE receipt = $1::text AND "
                                "queue = $2::text AND NOT dead",
                                {std::string(receipt), name_}));
  return rows.affected() == 1 ? Status::OK() : StaleReceipt();
}

Status PgWorkQueue::ChangeVisibility(std::string_view receipt,
                                     std::chrono::milliseconds visibility) {
  STEREOSPOT_RETURN_IF_ERROR(CheckReceipt(receipt));
  if (visibility.count() < 0 || visibility.count() > kMaxVisibilityMs) {
    return Status::InvalidArgument("visibility must be in [0, 12 h]");
  }
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows,
      db_->Execute("UPDATE queue_messages SET visible_at = " + kNow +
                       " + $3::bigint WHERE receipt = $1::text AND queue = $2::text AND NOT dead",
                   {std::string(receipt), name_, std::int64_t{visibility.count()}}));
  if (rows.affected() != 1) return StaleReceipt();
  if (visibility.count() == 0) Wake();
  return Status::OK();
}

Status PgWorkQueue::MoveToDeadLetter(std::string_view receipt, std::string_view reason) {
  STEREOSPOT_RETURN_IF_ERROR(CheckReceipt(receipt));
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows,
      db_->Execute("UPDATE queue_messages SET dead = true, receipt = NULL, dead_at = " + kNow +
                       ", dead_reason = $3::text WHERE receipt = $1::text AND queue = $2::text "
                       "AND NOT dead",
                   {std::string(receipt), name_, std::string(reason)}));
  return rows.affected() == 1 ? Status::OK() : StaleReceipt();
}

Result<QueueDepth> PgWorkQueue::Depth() {
  STEREOSPOT_ASSIGN_OR_RETURN(PgRows rows,
                              db_->Execute("SELECT "
                                           "count(*) FILTER (WHERE NOT dead AND visible_at <= " +
                                               kNow +
                                               "), "
                                               "count(*) FILTER (WHERE NOT dead AND visible_at > " +
                                               kNow +
                                               " AND receive_count > 0), "
                                               "count(*) FILTER (WHERE NOT dead AND visible_at > " +
                                               kNow +
                                               " AND receive_count = 0), "
                                               "count(*) FILTER (WHERE dead) "
                                               "FROM queue_messages WHERE queue = $1::text",
                                           {name_}));
  QueueDepth depth;
  depth.visible = rows.Int(0, 0);
  depth.in_flight = rows.Int(0, 1);
  depth.delayed = rows.Int(0, 2);
  depth.dead_letter = rows.Int(0, 3);
  return depth;
}

Result<std::vector<QueueMessage>> PgWorkQueue::ListDeadLetters(int limit) {
  if (limit < 1 || limit > 1000) return Status::InvalidArgument("limit must be in [1, 1000]");
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows,
      db_->Execute("SELECT message_id, body, receive_count, sent_at, dead_reason FROM "
                   "queue_messages WHERE queue = $1::text AND dead ORDER BY dead_at, id "
                   "LIMIT $2::bigint",
                   {name_, std::int64_t{limit}}));
  std::vector<QueueMessage> out;
  for (int r = 0; r < rows.size(); ++r) {
    QueueMessage m;
    m.message_id = rows.Text(r, 0);
    m.body = rows.Text(r, 1);
    m.receive_count = static_cast<int>(rows.Int(r, 2));
    m.sent_at = rows.Int(r, 3);
    m.dead_letter_reason = rows.Text(r, 4);
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::int64_t> PgWorkQueue::ReplayDeadLetters(std::string_view message_id) {
  std::string sql =
      "UPDATE queue_messages SET dead = false, receive_count = 0, receipt = NULL, "
      "dead_reason = NULL, dead_at = NULL, visible_at = " +
      kNow + " WHERE queue = $1::text AND dead";
  std::vector<PgParam> params = {name_};
  if (!message_id.empty()) {
    sql += " AND message_id = $2::text";
    params.emplace_back(std::string(message_id));
  }
  STEREOSPOT_ASSIGN_OR_RETURN(PgRows rows, db_->Execute(sql, params));
  const std::int64_t moved = rows.affected();
  if (!message_id.empty() && moved == 0) {
    return Status::NotFound("no message " + std::string(message_id) + " in the DLQ of " + name_);
  }
  if (moved > 0) Wake();
  return moved;
}

Result<std::int64_t> PgWorkQueue::PurgeDeadLetters(std::string_view message_id) {
  std::string sql = "DELETE FROM queue_messages WHERE queue = $1::text AND dead";
  std::vector<PgParam> params = {name_};
  if (!message_id.empty()) {
    sql += " AND message_id = $2::text";
    params.emplace_back(std::string(message_id));
  }
  STEREOSPOT_ASSIGN_OR_RETURN(PgRows rows, db_->Execute(sql, params));
  const std::int64_t purged = rows.affected();
  if (!message_id.empty() && purged == 0) {
    return Status::NotFound("no message " + std::string(message_id) + " in the DLQ of " + name_);
  }
  return purged;
}

}  // namespace stereospot::postgres
