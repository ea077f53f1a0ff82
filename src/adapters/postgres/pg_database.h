// PgDatabase: the PostgreSQL backend's shared state for one process: a bounded pool of libpq
// connections, the schema migrations, and one listening connection that turns LISTEN/NOTIFY
// into queue wake-ups (DESIGN.md section 7). PgJobStore and PgWorkQueue are thin layers of SQL
// over it.
//
// Every table lives in one schema (PostgresOptions::schema), so several deployments, or every
// test, can share one database without seeing each other. Connect() creates the schema if
// needed and applies the missing migrations under a transaction-scoped advisory lock, so any
// number of processes may start at once: the first migrates, the others wait and find the
// schema current.
//
// Every statement the adapters run is a single statement in autocommit mode (conditional
// updates and queue moves are one UPDATE/DELETE with CTEs), so there is no client-side
// transaction to lose half of. Errors are mapped by PgError / StatusFromSqlState below.
//
// Thread safety: safe for concurrent use. Each call takes a connection from the pool for the
// duration of one statement.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

struct pg_conn;
struct pg_result;

namespace stereospot::postgres {

struct PostgresOptions {
  // libpq connection string ("host=db.internal port=5432 dbname=stereospot user=stereospot") or
  // URI ("postgresql://stereospot@db.internal/stereospot"). Passwords are best kept out of it:
  // libpq reads PGPASSWORD and ~/.pgpass. Default: "" (libpq's defaults and PG* variables).
  std::string conninfo;
  // The schema holding every table; created when missing. Default: "stereospot".
  std::string schema = "stereospot";
  // Most connections the pool opens (the listener's connection comes on top). Default: 8.
  int pool_size = 8;
  // How long a call waits for a free pooled connection before failing with kUnavailable.
  // Default: 10 s.
  std::chrono::milliseconds acquire_timeout{10000};
  // Long-poll re-check interval when no notification arrives (listener down, delayed messages
  // becoming visible, visibility timeouts ending). Sends from any process wake waiters through
  // NOTIFY within milliseconds regardless. Default: 1 s.
  std::chrono::milliseconds poll_interval{1000};
  // libpq connect_timeout in seconds unless the conninfo sets one. Default: 10.
  int connect_timeout_seconds = 10;
};

// The database clock in Unix milliseconds, as an SQL expression. Queue visibility and leases are
// timed by the server's clock, so machines with skewed clocks still agree on what expired.
inline constexpr const char* kPgNowMillis = "(floor(extract(epoch FROM now()) * 1000))::bigint";

// A statement parameter, sent as text. nullptr is SQL NULL.
using PgParam = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

// The rows of one statement's result. Owns the libpq result; movable, not copyable.
class PgRows {
 public:
  struct Clearer {
    void operator()(pg_result* result) const;
  };
  explicit PgRows(pg_result* result) : result_(result) {}

  int size() const;
  bool empty() const { return size() == 0; }
  bool IsNull(int row, int col) const;
  // A column as text; "" for NULL. Valid while this object lives.
  std::string_view Text(int row, int col) const;
  // Parses the column; 0 / false for NULL or a value that does not parse.
  std::int64_t Int(int row, int col) const;
  double Double(int row, int col) const;
  bool Bool(int row, int col) const;
  // Rows changed by an INSERT/UPDATE/DELETE without RETURNING.
  std::int64_t affected() const;
  // The libpq result, for error details; owned by this object.
  pg_result* handle() const { return result_.get(); }

 private:
  std::unique_ptr<pg_result, Clearer> result_;
};

class PgConnection;  // one libpq connection and its prepared statements (pg_database.cc)
class PgListener;    // the LISTEN connection and its thread (pg_database.cc)

class PgDatabase {
  struct Key {
    explicit Key() = default;
  };

 public:
  // Connects once to check the server, creates options.schema if missing, applies the schema
  // migrations, and starts listening for queue notifications. kInvalidArgument for bad options,
  // kUnavailable when the server cannot be reached (worth retrying), kPermanent when the
  // schema is newer than this program.
  static Result<std::shared_ptr<PgDatabase>> Connect(const PostgresOptions& options);
  // Only Connect can make the key; public so that std::make_shared can construct.
  PgDatabase(Key, const PostgresOptions& options);
  ~PgDatabase();
  PgDatabase(const PgDatabase&) = delete;
  PgDatabase& operator=(const PgDatabase&) = delete;

  // Runs one statement with $1.. parameters on a pooled connection (prepared once per
  // connection and reused). In autocommit mode, so the statement is its own transaction.
  Result<PgRows> Execute(std::string_view sql, const std::vector<PgParam>& params = {});

  // Queue wake-ups. NotifyLocal bumps the queue's generation (a Send through this object, or a
  // notification from the server); WaitForChange returns when it differs from `seen` or when
  // `timeout` has passed.
  std::uint64_t Generation(const std::string& queue);
  void NotifyLocal(const std::string& queue);
  void WaitForChange(const std::string& queue, std::uint64_t seen,
                     std::chrono::milliseconds timeout);
  // Wakes every waiter (the listener reconnected and may have missed notifications).
  void NotifyAll();

  // The NOTIFY channel of this schema's queues; the payload is the queue name.
  const std::string& channel() const { return channel_; }
  const PostgresOptions& options() const { return options_; }

  // The schema version this program creates and understands.
  static int LatestSchemaVersion();

 private:
  friend class PgListener;
  struct PoolLease;
  Result<PoolLease> Acquire();
  void Release(std::unique_ptr<PgConnection> conn);
  Status Migrate();

  PostgresOptions options_;
  std::string channel_;

  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_ = 0;  // connections out of the pool plus idle ones

  std::mutex notify_mutex_;
  std::condition_variable notify_cv_;
  std::map<std::string, std::uint64_t> generations_;

  std::unique_ptr<PgListener> listener_;  // declared last: stopped first
};

// Maps a SQLSTATE (five characters; empty when the server sent none) to a Status code:
// connection exceptions (08), serialization failures (40001), deadlocks (40P01), lock timeouts
// (55P03), cancels and statement timeouts (57014), shutdowns (57P0x) and resource shortages (53)
// are kUnavailable; integrity violations (23) kConflict; data exceptions (22) kInvalidArgument;
// corruption (XX001, XX002) kDataLoss; syntax and undefined objects (42) kInternal; an empty
// state kUnavailable (no reply from the server); anything else kIoError.
Status StatusFromSqlState(std::string_view sqlstate, std::string message);

// A libpq failure as a Status: the result's SQLSTATE when there is one, kUnavailable when the
// connection is gone; the message carries `context` and the server's text.
Status PgError(pg_conn* conn, pg_result* result, std::string_view context);

// `name` quoted as an SQL identifier ("a""b"), for schema names in DDL.
std::string QuoteIdentifier(std::string_view name);

}  // namespace stereospot::postgres
