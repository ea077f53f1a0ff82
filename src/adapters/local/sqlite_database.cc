#include "adapters/local/sqlite_database.h"

#include <unordered_map>

#include "adapters/local/sqlite_handles.h"

namespace stereospot::local {

struct SqliteDatabase::Owners {
  SqliteHandle db;
  // Declared after `db`, so destroyed first: statements are finalised before the close.
  std::unordered_map<std::string, SqliteStatementHandle> statements;
};

namespace {

// Schema versions, applied in order; each runs once inside one transaction. Append only: a
// released version is never edited, a change is a new version.
const char* const kMigrations[] = {
    // Version 1: jobs, completions, triggers, queues.
    R"sql(
CREATE TABLE jobs (
  job_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  params TEXT NOT NULL,
  title TEXT NOT NULL,
  source_key TEXT NOT NULL,
  source_bytes INTEGER NOT NULL,
  total_segments INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  uploaded_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  completed_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  error_stage TEXT,
  error_message TEXT,
  attempts INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX jobs_by_created ON jobs (created_at, job_id);
CREATE INDEX jobs_by_status_created ON jobs (status, created_at, job_id);
CREATE INDEX jobs_by_completed ON jobs (completed_at, job_id);
CREATE TABLE segment_completions (
  job_id TEXT NOT NULL,
  segment_index INTEGER NOT NULL,
  output_key TEXT NOT NULL,
  frames INTEGER NOT NULL,
  duration_seconds REAL NOT NULL,
  completed_at INTEGER NOT NULL,
  worker_id TEXT NOT NULL,
  conversion_seconds REAL NOT NULL,
  PRIMARY KEY (job_id, segment_index)
) WITHOUT ROWID;
CREATE TABLE reassembly_triggers (
  job_id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_expires_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE queue_messages (
  id INTEGER PRIMARY KEY,
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL UNIQUE,
  body TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  receive_count INTEGER NOT NULL DEFAULT 0,
  receipt TEXT,
  dead INTEGER NOT NULL DEFAULT 0,
  dead_reason TEXT,
  dead_at INTEGER
);
CREATE INDEX queue_ready ON queue_messages (queue, dead, visible_at, id);
CREATE UNIQUE INDEX queue_receipts ON queue_messages (receipt) WHERE receipt IS NOT NULL;
)sql",
};

Status BindAll(sqlite3* db, sqlite3_stmt* stmt, const std::vector<SqlValue>& params) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  for (std::size_t i = 0; i < params.size(); ++i) {
    int index = static_cast<int>(i + 1);
    int rc = SQLITE_OK;
    const SqlValue& p = params[i];
    if (std::holds_alternative<std::nullptr_t>(p)) {
      rc = sqlite3_bind_null(stmt, index);
    } else if (const auto* n = std::get_if<std::int64_t>(&p)) {
      rc = sqlite3_bind_int64(stmt, index, *n);
    } else if (const auto* d = std::get_if<double>(&p)) {
      rc = sqlite3_bind_double(stmt, index, *d);
    } else {
      const auto& s = std::get<std::string>(p);
      rc = sqlite3_bind_text(stmt, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) return SqliteError(db, rc, "bind");
  }
  return Status::OK();
}

SqlValue ReadColumn(sqlite3_stmt* stmt, int col) {
  switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_INTEGER:
      return static_cast<std::int64_t>(sqlite3_column_int64(stmt, col));
    case SQLITE_FLOAT:
      return sqlite3_column_double(stmt, col);
    case SQLITE_NULL:
      return nullptr;
    default: {
      const auto* text = sqlite3_column_text(stmt, col);
      int size = sqlite3_column_bytes(stmt, col);
      return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
    }
  }
}

}  // namespace

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  std::string msg = std::string(context) + ": " + sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_errcode(db) == rc)
    msg += std::string(" (") + sqlite3_errmsg(db) + ")";
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::DataLoss(msg);
    case SQLITE_CONSTRAINT:
      return Status::Conflict(msg);
    default:
      return Status::IoError(msg);
  }
}

std::int64_t AsInt(const SqlValue& v) {
  if (const auto* n = std::get_if<std::int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<std::int64_t>(*d);
  return 0;
}
double AsDouble(const SqlValue& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return static_cast<double>(*n);
  return 0;
}
std::string AsText(const SqlValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return "";
}

Result<std::vector<SqlRow>> SqlStatement::Query(const std::vector<SqlValue>& params) {
  sqlite3* db = sqlite3_db_handle(stmt_);
  STEREOSPOT_RETURN_IF_ERROR(BindAll(db, stmt_, params));
  std::vector<SqlRow> rows;
  int columns = sqlite3_column_count(stmt_);
  while (true) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      Status s = SqliteError(db, rc, "step");
      sqlite3_reset(stmt_);
      return s;
    }
    SqlRow row;
    row.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) row.push_back(ReadColumn(stmt_, c));
    rows.push_back(std::move(row));
  }
  sqlite3_reset(stmt_);
  return rows;
}

Result<std::int64_t> SqlStatement::Exec(const std::vector<SqlValue>& params) {
  STEREOSPOT_ASSIGN_OR_RETURN(auto rows, Query(params));
  (void)rows;
  return static_cast<std::int64_t>(sqlite3_changes64(sqlite3_db_handle(stmt_)));
}

Result<std::vector<SqlRow>> SqlTransaction::Query(std::string_view sql,
                                                  const std::vector<SqlValue>& params) {
  STEREOSPOT_ASSIGN_OR_RETURN(SqlStatement stmt, db_.Prepare(sql));
  return stmt.Query(params);
}

Result<std::int64_t> SqlTransaction::Exec(std::string_view sql,
                                          const std::vector<SqlValue>& params) {
  STEREOSPOT_ASSIGN_OR_RETURN(SqlStatement stmt, db_.Prepare(sql));
  return stmt.Exec(params);
}

Result<std::shared_ptr<SqliteDatabase>> SqliteDatabase::Open(const std::filesystem::path& path,
                                                             const SqliteOptions& options) {
  std::shared_ptr<SqliteDatabase> self(new SqliteDatabase());
  self->path_ = path;
  self->owners_ = std::make_unique<Owners>();
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  // SQLite allocates a handle even when the open fails: adopt it before checking rc.
  self->owners_->db.reset(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "open " + path.string());
  sqlite3_busy_timeout(raw, static_cast<int>(options.busy_timeout.count()));
  sqlite3_extended_result_codes(raw, 1);

  // auto_vacuum must be off before the first table exists: Debian builds SQLite with FULL
  // auto-vacuum as default, which truncates the file on commits that free pages and made a
  // queue delete cost ~1 ms.
  std::string pragmas =
      "PRAGMA auto_vacuum=NONE; PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
      // A checkpoint fsyncs even at synchronous=NORMAL; every 1000 pages (the default) it cost
      // a queue round trip ~40%. 8000 pages bounds the WAL at ~32 MB between checkpoints.
      "PRAGMA wal_autocheckpoint=8000; "
      // Debian also builds with SECURE_DELETE, which zeroes freed pages at extra I/O on every
      // delete; FAST zeroes only what costs no extra write. Nothing stored here is secret.
      "PRAGMA secure_delete=FAST; "
      "PRAGMA synchronous=";
  pragmas += options.synchronous_full ? "FULL;" : "NORMAL;";
  char* err = nullptr;
  rc = sqlite3_exec(raw, pragmas.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "configure " + path.string());
  STEREOSPOT_RETURN_IF_ERROR(self->Migrate());
  return self;
}

SqliteDatabase::~SqliteDatabase() = default;

Status SqliteDatabase::Migrate() {
  std::lock_guard lock(mutex_);
  sqlite3* db = owners_->db.get();
  auto exec = [db](const std::string& sql, std::string_view context) -> Status {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    return rc == SQLITE_OK ? Status::OK() : SqliteError(db, rc, context);
  };
  // BEGIN IMMEDIATE makes two processes opening a new file at once migrate one after the other;
  // the second then reads the new version and does nothing.
  STEREOSPOT_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE", "begin migration"));
  std::int64_t version = 0;
  {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &raw, nullptr);
    SqliteStatementHandle stmt(raw);
    if (rc == SQLITE_OK && sqlite3_step(stmt.get()) == SQLITE_ROW) {
      version = sqlite3_column_int64(stmt.get(), 0);
    }
  }
  constexpr std::int64_t kLatest = sizeof(kMigrations) / sizeof(kMigrations[0]);
  Status status;
  if (version > kLatest) {
    status = Status::Permanent("database schema version " + std::to_string(version) +
                               " is newer than this program knows (" + std::to_string(kLatest) +
                               "); upgrade stereospot");
  }
  for (std::int64_t v = version; status.ok() && v < kLatest; ++v) {
    std::string sql = kMigrations[v];
    sql += "PRAGMA user_version = " + std::to_string(v + 1) + ";";
    status = exec(sql, "migration to schema version " + std::to_string(v + 1));
  }
  if (status.ok()) status = exec("COMMIT", "commit migration");
  if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return status;
}

Result<SqlStatement> SqliteDatabase::Prepare(std::string_view sql) {
  auto& cache = owners_->statements;
  auto it = cache.find(std::string(sql));
  if (it == cache.end()) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(owners_->db.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    SqliteStatementHandle owned(raw);
    if (rc != SQLITE_OK) return SqliteError(owners_->db.get(), rc, "prepare");
    it = cache.emplace(std::string(sql), std::move(owned)).first;
  }
  return SqlStatement(it->second.get());
}

Status SqliteDatabase::RunTransaction(const char* begin,
                                      const std::function<Status(SqlTransaction&)>& body) {
  std::lock_guard lock(mutex_);
  sqlite3* db = owners_->db.get();
  char* err = nullptr;
  int rc = sqlite3_exec(db, begin, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return SqliteError(db, rc, begin);
  SqlTransaction tx(*this);
  Status status = body(tx);
  if (status.ok()) {
    rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc == SQLITE_OK) return Status::OK();
    status = SqliteError(db, rc, "commit");
  }
  // A failed COMMIT leaves the transaction open; roll it back so the connection stays usable.
  if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return status;
}

Status SqliteDatabase::Write(const std::function<Status(SqlTransaction&)>& body) {
  return RunTransaction("BEGIN IMMEDIATE", body);
}

Status SqliteDatabase::Read(const std::function<Status(SqlTransaction&)>& body) {
  return RunTransaction("BEGIN DEFERRED", body);
}

std::uint64_t SqliteDatabase::Generation(const std::string& queue) {
  std::lock_guard lock(notify_mutex_);
  return generations_[queue];
}

void SqliteDatabase::Notify(const std::string& queue) {
  {
    std::lock_guard lock(notify_mutex_);
    ++generations_[queue];
  }
  notify_cv_.notify_all();
}

void SqliteDatabase::WaitForChange(const std::string& queue, std::uint64_t seen,
                                   std::chrono::milliseconds timeout) {
  std::unique_lock lock(notify_mutex_);
  notify_cv_.wait_for(lock, timeout, [&] { return generations_[queue] != seen; });
}

}  // namespace stereospot::local
