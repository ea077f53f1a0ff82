// SqliteDatabase: one SQLite connection (WAL, busy timeout, schema migrations) shared by the
// embedded JobStore and WorkQueues of a process, plus the wake-up notifier of its queues.
//
// Several processes on one machine may open the same file: WAL lets readers run beside the one
// writer, every write runs in BEGIN IMMEDIATE (so lock waits happen up front, under the busy
// timeout, never as a deadlock mid-transaction), and schema changes are versioned with
// PRAGMA user_version inside a transaction. Crash safety: a transaction is either wholly in the
// file or not at all after a process crash; with synchronous=full also after power loss.
//
// Thread safety: safe for concurrent use; calls are serialised on the connection's mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace stereospot::local {

struct SqliteOptions {
  // How long a write waits for another process's lock before failing with kUnavailable.
  std::chrono::milliseconds busy_timeout{10000};
  // true: synchronous=FULL (power-loss safe); false: NORMAL (process-crash safe, faster).
  bool synchronous_full = false;
};

// A value bound to or read from a statement.
using SqlValue = std::variant<std::nullptr_t, std::int64_t, double, std::string>;
using SqlRow = std::vector<SqlValue>;

// A prepared statement, cached by the database; valid only inside the callback that got it.
class SqlStatement {
 public:
  explicit SqlStatement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  // Binds `params` in order, runs the statement to completion and returns every row.
  Result<std::vector<SqlRow>> Query(const std::vector<SqlValue>& params);
  // Binds, runs, and returns the number of rows changed.
  Result<std::int64_t> Exec(const std::vector<SqlValue>& params);

 private:
  sqlite3_stmt* stmt_;  // owned by the database's statement cache
};

class SqliteDatabase;

// What a transaction callback may do. Not thread-safe; lives only during the callback.
class SqlTransaction {
 public:
  explicit SqlTransaction(SqliteDatabase& db) : db_(db) {}
  Result<std::vector<SqlRow>> Query(std::string_view sql, const std::vector<SqlValue>& params = {});
  Result<std::int64_t> Exec(std::string_view sql, const std::vector<SqlValue>& params = {});

 private:
  SqliteDatabase& db_;
};

class SqliteDatabase {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" for a private in-memory one)
  // and brings its schema to the current version.
  static Result<std::shared_ptr<SqliteDatabase>> Open(const std::filesystem::path& path,
                                                      const SqliteOptions& options = {});
  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  // Runs `body` in one write transaction (BEGIN IMMEDIATE). Commits when it returns OK, rolls
  // back otherwise (and on a failed commit) and returns its Status. A busy database after the
  // busy timeout is kUnavailable. `body` must not call back into this database.
  Status Write(const std::function<Status(SqlTransaction&)>& body);
  // Runs `body` in a read transaction (a consistent snapshot).
  Status Read(const std::function<Status(SqlTransaction&)>& body);

  // Queue wake-ups within this process. Notify bumps the queue's generation; WaitForChange
  // returns when it differs from `seen` or when `timeout` has passed.
  std::uint64_t Generation(const std::string& queue);
  void Notify(const std::string& queue);
  void WaitForChange(const std::string& queue, std::uint64_t seen,
                     std::chrono::milliseconds timeout);

  const std::filesystem::path& path() const { return path_; }

 private:
  friend class SqlTransaction;
  SqliteDatabase() = default;
  Status Migrate();
  Status RunTransaction(const char* begin, const std::function<Status(SqlTransaction&)>& body);
  Result<SqlStatement> Prepare(std::string_view sql);

  struct Owners;
  std::unique_ptr<Owners> owners_;  // the sqlite3 handle and its statement cache
  std::filesystem::path path_;
  std::mutex mutex_;  // serialises use of the connection

  std::mutex notify_mutex_;
  std::condition_variable notify_cv_;
  std::map<std::string, std::uint64_t> generations_;
};

// Maps a SQLite result code to a Status: BUSY and LOCKED become kUnavailable, CORRUPT and
// NOTADB kDataLoss, CONSTRAINT kConflict, others kIoError; the message carries `context` and
// SQLite's own text.
Status SqliteError(sqlite3* db, int rc, std::string_view context);

// Readers for SqlValue columns; a NULL reads as 0 / "".
std::int64_t AsInt(const SqlValue& v);
double AsDouble(const SqlValue& v);
std::string AsText(const SqlValue& v);

}  // namespace stereospot::local
