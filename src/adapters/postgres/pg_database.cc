#include "adapters/postgres/pg_database.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "adapters/postgres/pg_handles.h"
#include "adapters/postgres/pg_migrations.h"

namespace stereospot::postgres {

// One libpq connection and the statements prepared on it (name by SQL text).
class PgConnection {
 public:
  explicit PgConnection(PgConnHandle conn) : conn_(std::move(conn)) {}

  PGconn* get() const { return conn_.get(); }
  // `*sent` becomes true once the statement itself went to the server (before that, a failure
  // changed nothing and the call may be repeated on another connection).
  Result<PgRows> Execute(std::string_view sql, const std::vector<PgParam>& params,
                         bool* sent = nullptr);
  // Runs parameterless SQL, possibly several statements (DDL, LISTEN, BEGIN).
  Status Run(const std::string& sql, std::string_view context);
  // True when the connection can take the next statement: open, outside a transaction, and
  // with no error or EOF waiting on its socket (a server restart or pg_terminate_backend leaves
  // a FATAL message and EOF on an idle connection; finding it here saves a failed call).
  bool Healthy();

 private:
  PgConnHandle conn_;
  std::unordered_map<std::string, std::string> prepared_;
};

namespace {

// True for a connection failure no retry can mend: the server refused these credentials, or the
// role or database does not exist. libpq gives no SQLSTATE for a failed connection, only the
// server's FATAL message, so this matches its text (PostgreSQL 15, untranslated: the test
// cluster and Debian's default run with lc_messages C); anything else stays retryable.
bool IsConfigurationFailure(std::string_view message) {
  static constexpr std::string_view kMarkers[] = {
      "password authentication failed",
      "authentication failed for user",
      "no pg_hba.conf entry",
      "does not exist",
      "password is missing",
      "fe_sendauth: no password supplied",
  };
  for (std::string_view marker : kMarkers) {
    if (message.find(marker) != std::string_view::npos) return true;
  }
  return false;
}

// Tables are found through the search_path, so the SQL of the adapters names no schema.
std::string SearchPathSql(const std::string& schema) {
  return "SET search_path TO " + QuoteIdentifier(schema);
}

// FNV-1a: stable across processes and builds, unlike std::hash.
std::uint64_t StableHash(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string ChannelFor(const std::string& schema) {
  std::string channel = "stereospot_" + schema;
  // Channel names are identifiers: at most 63 bytes.
  if (channel.size() > 63) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(StableHash(schema)));
    channel = std::string("stereospot_") + hex;
  }
  return channel;
}

Result<std::unique_ptr<PgConnection>> OpenConnection(const PostgresOptions& options,
                                                     bool set_search_path) {
  // Defaults come before dbname, so a value in the expanded conninfo overrides them. TCP
  // keepalives every 10 s after 30 s idle notice a server that vanished without closing the
  // connection (a partition, a dead machine) in about a minute instead of the kernel's 2 h.
  std::string timeout = std::to_string(options.connect_timeout_seconds);
  const char* keys[] = {"connect_timeout",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "dbname",
                        "fallback_application_name",
                        nullptr};
  const char* values[] = {timeout.c_str(),          "30",         "10",   "3",
                          options.conninfo.c_str(), "stereospot", nullptr};
  PgConnHandle conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (conn == nullptr) return Status::Unavailable("connect to PostgreSQL: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    if (IsConfigurationFailure(message)) {
      return Status::Permanent("connect to PostgreSQL: " + message +
                               " (fix postgres.conninfo or the server's roles and pg_hba.conf)");
    }
    // Refused, unreachable, too many connections, starting up: all may pass.
    return Status::Unavailable("connect to PostgreSQL: " + message);
  }
  // Notices (DROP ... CASCADE details, a FATAL before a disconnect) would go to stderr; the
  // failures that matter reach the caller as Status.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  auto out = std::make_unique<PgConnection>(std::move(conn));
  if (set_search_path) {
    STEREOSPOT_RETURN_IF_ERROR(out->Run(SearchPathSql(options.schema), "set search_path"));
  }
  return out;
}

std::string FormatParam(const PgParam& p) {
  if (const auto* n = std::get_if<std::int64_t>(&p)) return std::to_string(*n);
  if (const auto* d = std::get_if<double>(&p)) {
    char buf[64];
    // Shortest text that reads back as the same double.
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *d);
    return ec == std::errc() ? std::string(buf, end) : std::string("0");
  }
  return std::get<std::string>(p);
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Errors

Status StatusFromSqlState(std::string_view state, std::string message) {
  if (state.empty()) return Status::Unavailable(std::move(message));
  std::string_view cls = state.substr(0, 2);
  if (cls == "08" || cls == "53" || state == "40001" || state == "40P01" || state == "55P03" ||
      state == "57014" || state.substr(0, 4) == "57P0") {
    return Status::Unavailable(std::move(message));
  }
  if (cls == "23") return Status::Conflict(std::move(message));
  if (cls == "22") return Status::InvalidArgument(std::move(message));
  if (state == "XX001" || state == "XX002") return Status::DataLoss(std::move(message));
  if (cls == "42") return Status::Internal(std::move(message));
  return Status::IoError(std::move(message));
}

Status PgError(pg_conn* conn, pg_result* result, std::string_view context) {
  std::string text;
  if (result != nullptr) text = PQresultErrorMessage(result);
  if (text.empty() && conn != nullptr) text = PQerrorMessage(conn);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::string message = std::string(context) + ": " + text;
  // A lost connection is transient whatever the result says.
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return Status::Unavailable(message);
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  return StatusFromSqlState(state != nullptr ? state : "", std::move(message));
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// ---------------------------------------------------------------------------------------------
// PgRows

void PgRows::Clearer::operator()(pg_result* result) const { PQclear(result); }

int PgRows::size() const { return PQntuples(result_.get()); }

bool PgRows::IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }

std::string_view PgRows::Text(int row, int col) const {
  return std::string_view(PQgetvalue(result_.get(), row, col),
                          static_cast<std::size_t>(PQgetlength(result_.get(), row, col)));
}

std::int64_t PgRows::Int(int row, int col) const {
  std::string_view text = Text(row, col);
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

double PgRows::Double(int row, int col) const {
  std::string text(Text(row, col));
  return text.empty() ? 0 : std::strtod(text.c_str(), nullptr);
}

bool PgRows::Bool(int row, int col) const { return Text(row, col) == "t"; }

std::int64_t PgRows::affected() const {
  std::string_view text = PQcmdTuples(result_.get());
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// ---------------------------------------------------------------------------------------------
// PgConnection

Result<PgRows> PgConnection::Execute(std::string_view sql, const std::vector<PgParam>& params,
                                     bool* sent) {
  std::string key(sql);
  auto it = prepared_.find(key);
  if (it == prepared_.end()) {
    std::string name = "stereospot_" + std::to_string(prepared_.size());
    PgResultHandle res(PQprepare(conn_.get(), name.c_str(), key.c_str(),
                                 static_cast<int>(params.size()), nullptr));
    if (res == nullptr || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return PgError(conn_.get(), res.get(), "prepare");
    }
    it = prepared_.emplace(std::move(key), std::move(name)).first;
  }
  std::vector<std::string> text(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (std::holds_alternative<std::nullptr_t>(params[i])) continue;
    text[i] = FormatParam(params[i]);
    // Text-format parameters are C strings: an embedded NUL would silently cut the value.
    if (text[i].find('\0') != std::string::npos) {
      return Status::InvalidArgument("PostgreSQL text cannot hold a NUL byte");
    }
    values[i] = text[i].c_str();
  }
  if (sent != nullptr) *sent = true;
  // Adopted before it is checked, so every path clears it.
  PgRows rows(PQexecPrepared(conn_.get(), it->second.c_str(), static_cast<int>(params.size()),
                             values.data(), nullptr, nullptr, 0));
  PGresult* raw = rows.handle();
  ExecStatusType st = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return PgError(conn_.get(), raw, "query");
  return rows;
}

Status PgConnection::Run(const std::string& sql, std::string_view context) {
  PgResultHandle res(PQexec(conn_.get(), sql.c_str()));
  if (res == nullptr) return PgError(conn_.get(), nullptr, context);
  ExecStatusType st = PQresultStatus(res.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    return PgError(conn_.get(), res.get(), context);
  return Status::OK();
}

bool PgConnection::Healthy() {
  PGconn* c = conn_.get();
  if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) return false;
  // A terminated session leaves an error message and then EOF; one read may see only the
  // message, so read while the socket stays readable (bounded: a chatty server is not dead).
  for (int i = 0; i < 4; ++i) {
    pollfd p{PQsocket(c), POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
    if (PQconsumeInput(c) == 0) return false;
    while (PgNotifyHandle(PQnotifies(c)) != nullptr) {
    }
  }
  return PQstatus(c) == CONNECTION_OK;
}

// ---------------------------------------------------------------------------------------------
// PgListener: one connection that LISTENs on the schema's channel, and the thread that turns its
// notifications into NotifyLocal calls. While it is disconnected, waiters fall back to the poll
// interval; after a reconnect every waiter is woken, because notifications may have been missed.

class PgListener {
 public:
  explicit PgListener(PgDatabase& db) : db_(db), wake_(eventfd(0, EFD_CLOEXEC)) {}
  ~PgListener() {
    stop_ = true;
    std::uint64_t one = 1;
    if (write(wake_.get(), &one, sizeof one) < 0) {
      // The thread then notices stop_ at its next periodic check.
    }
    if (thread_.joinable()) thread_.join();
  }
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  // Connects and LISTENs before returning, so no Send after Connect() is missed, then starts
  // the thread.
  Status Start() {
    if (wake_.get() < 0) return Status::IoError("eventfd for the queue listener failed");
    STEREOSPOT_RETURN_IF_ERROR(ConnectAndListen());
    thread_ = std::thread([this] { Run(); });
    return Status::OK();
  }

 private:
  Status ConnectAndListen() {
    STEREOSPOT_ASSIGN_OR_RETURN(conn_, OpenConnection(db_.options(), false));
    Status s = conn_->Run("LISTEN " + QuoteIdentifier(db_.channel()), "listen");
    if (!s.ok()) conn_.reset();
    return s;
  }

  // Waits until `timeout` passes or Stop is signalled; true when stopping.
  bool Sleep(std::chrono::milliseconds timeout) {
    pollfd p{wake_.get(), POLLIN, 0};
    poll(&p, 1, static_cast<int>(timeout.count()));
    return stop_.load();
  }

  void Run() {
    // A silent network can hide a dead server from the socket for hours; a query every
    // kCheck proves the connection.
    constexpr int kCheckMs = 30000;
    auto backoff = std::clamp(db_.options().poll_interval, std::chrono::milliseconds(100),
                              std::chrono::milliseconds(5000));
    while (!stop_) {
      if (conn_ == nullptr) {
        if (!ConnectAndListen().ok()) {
          if (Sleep(backoff)) return;
          continue;
        }
        db_.NotifyAll();
      }
      PGconn* c = conn_->get();
      pollfd fds[2] = {{PQsocket(c), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      int r = poll(fds, 2, kCheckMs);
      if (stop_) return;
      if (r < 0) {
        if (errno != EINTR) conn_.reset();
        continue;
      }
      if (r == 0) {
        if (!conn_->Run("SELECT 1", "listener check").ok()) conn_.reset();
      } else if (PQconsumeInput(c) == 0) {
        conn_.reset();
        continue;
      }
      if (conn_ == nullptr) continue;
      for (PgNotifyHandle n(PQnotifies(c)); n != nullptr; n.reset(PQnotifies(c))) {
        db_.NotifyLocal(n->extra);
      }
      if (PQstatus(c) != CONNECTION_OK) conn_.reset();
    }
  }

  PgDatabase& db_;
  Fd wake_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<PgConnection> conn_;  // used by the thread only, once started
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// PgDatabase

// A connection taken from the pool; gives it back (or drops it when broken) on destruction.
struct PgDatabase::PoolLease {
  PgDatabase* db = nullptr;
  std::unique_ptr<PgConnection> conn;

  PoolLease(PgDatabase* d, std::unique_ptr<PgConnection> c) : db(d), conn(std::move(c)) {}
  PoolLease(PoolLease&& other) noexcept = default;
  PoolLease& operator=(PoolLease&&) = delete;
  ~PoolLease() {
    if (conn != nullptr) db->Release(std::move(conn));
  }
};

PgDatabase::PgDatabase(Key, const PostgresOptions& options)
    : options_(options), channel_(ChannelFor(options.schema)) {}

PgDatabase::~PgDatabase() { listener_.reset(); }

int PgDatabase::LatestSchemaVersion() { return static_cast<int>(PgMigrations().size()); }

Result<std::shared_ptr<PgDatabase>> PgDatabase::Connect(const PostgresOptions& options) {
  if (options.schema.empty() || options.schema.size() > 63 ||
      options.schema.find('\0') != std::string::npos) {
    return Status::InvalidArgument("postgres schema name must be 1 to 63 bytes");
  }
  if (options.pool_size < 1 || options.pool_size > 1000) {
    return Status::InvalidArgument("postgres pool_size must be in [1, 1000]");
  }
  if (options.poll_interval.count() < 1 || options.acquire_timeout.count() < 0) {
    return Status::InvalidArgument("postgres poll_interval must be positive, acquire_timeout >= 0");
  }
  // A conninfo with settings is checked here, so a typo is a clear invalid argument rather
  // than a connection failure that looks worth retrying. (A bare word is a database name.)
  const std::string& conninfo = options.conninfo;
  if (conninfo.find('=') != std::string::npos || conninfo.rfind("postgres://", 0) == 0 ||
      conninfo.rfind("postgresql://", 0) == 0) {
    char* raw_error = nullptr;
    PgConninfoHandle parsed(PQconninfoParse(conninfo.c_str(), &raw_error));
    PgMemHandle error(raw_error);
    if (parsed == nullptr) {
      return Status::InvalidArgument("postgres conninfo: " +
                                     std::string(error ? error.get() : "out of memory"));
    }
  }
  auto self = std::make_shared<PgDatabase>(Key(), options);
  STEREOSPOT_RETURN_IF_ERROR(self->Migrate());
  self->listener_ = std::make_unique<PgListener>(*self);
  STEREOSPOT_RETURN_IF_ERROR(self->listener_->Start());
  return self;
}

Status PgDatabase::Migrate() {
  STEREOSPOT_ASSIGN_OR_RETURN(auto conn, OpenConnection(options_, false));
  // Closing the connection on any error rolls the transaction back.
  STEREOSPOT_RETURN_IF_ERROR(conn->Run("BEGIN", "begin migration"));
  // Two processes starting on an empty database would race on CREATE SCHEMA and the tables; the
  // lock, held to COMMIT, makes the second wait and then find the schema current.
  std::int64_t lock_key = static_cast<std::int64_t>(StableHash("stereospot:" + options_.schema));
  STEREOSPOT_RETURN_IF_ERROR(
      conn->Execute("SELECT pg_advisory_xact_lock($1::bigint)", {lock_key}).status());
  const std::string schema = QuoteIdentifier(options_.schema);
  STEREOSPOT_RETURN_IF_ERROR(conn->Run("CREATE SCHEMA IF NOT EXISTS " + schema + "; " +
                                           "SET LOCAL search_path TO " + schema + "; " +
                                           "CREATE TABLE IF NOT EXISTS stereospot_schema_version ("
                                           "version INTEGER PRIMARY KEY, "
                                           "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                                       "create schema " + options_.schema));
  STEREOSPOT_ASSIGN_OR_RETURN(
      PgRows rows,
      conn->Execute("SELECT COALESCE(MAX(version), 0) FROM stereospot_schema_version", {}));
  const std::int64_t version = rows.Int(0, 0);
  const std::int64_t latest = LatestSchemaVersion();
  if (version > latest) {
    return Status::Permanent("schema " + options_.schema + " is at version " +
                             std::to_string(version) + ", newer than this program knows (" +
                             std::to_string(latest) + "); upgrade stereospot");
  }
  for (std::int64_t v = version; v < latest; ++v) {
    const std::string context = "migration to schema version " + std::to_string(v + 1);
    STEREOSPOT_RETURN_IF_ERROR(conn->Run(PgMigrations()[static_cast<std::size_t>(v)], context));
    STEREOSPOT_RETURN_IF_ERROR(
        conn->Execute("INSERT INTO stereospot_schema_version (version) VALUES ($1)", {v + 1})
            .status());
  }
  return conn->Run("COMMIT", "commit migration");
}

Result<PgDatabase::PoolLease> PgDatabase::Acquire() {
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  std::unique_lock lock(pool_mutex_);
  while (true) {
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (conn->Healthy()) return PoolLease(this, std::move(conn));
      conn.reset();  // finished outside the lock
      lock.lock();
      --open_;
      continue;
    }
    if (open_ < options_.pool_size) {
      ++open_;
      lock.unlock();
      auto conn = OpenConnection(options_, true);
      if (conn.ok()) return PoolLease(this, std::move(*conn));
      lock.lock();
      --open_;
      pool_cv_.notify_one();
      return conn.status();
    }
    if (pool_cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      return Status::Unavailable("all " + std::to_string(options_.pool_size) +
                                 " PostgreSQL connections stayed busy for " +
                                 std::to_string(options_.acquire_timeout.count()) + " ms");
    }
  }
}

void PgDatabase::Release(std::unique_ptr<PgConnection> conn) {
  // A connection that broke, or was left inside a transaction, is not given to the next caller.
  const bool reusable =
      PQstatus(conn->get()) == CONNECTION_OK && PQtransactionStatus(conn->get()) == PQTRANS_IDLE;
  if (!reusable) conn.reset();
  {
    std::lock_guard lock(pool_mutex_);
    if (reusable) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  pool_cv_.notify_one();
}

Result<PgRows> PgDatabase::Execute(std::string_view sql, const std::vector<PgParam>& params) {
  for (int attempt = 0;; ++attempt) {
    STEREOSPOT_ASSIGN_OR_RETURN(PoolLease lease, Acquire());
    bool sent = false;
    auto rows = lease.conn->Execute(sql, params, &sent);
    // A connection that died before the statement was sent (typically while preparing it) is
    // replaced once; after sending, the outcome is unknown and the caller decides.
    if (rows.ok() || sent || attempt > 0 || PQstatus(lease.conn->get()) == CONNECTION_OK) {
      return rows;
    }
  }
}

std::uint64_t PgDatabase::Generation(const std::string& queue) {
  std::lock_guard lock(notify_mutex_);
  return generations_[queue];
}

void PgDatabase::NotifyLocal(const std::string& queue) {
  {
    std::lock_guard lock(notify_mutex_);
    ++generations_[queue];
  }
  notify_cv_.notify_all();
}

void PgDatabase::NotifyAll() {
  {
    std::lock_guard lock(notify_mutex_);
    for (auto& [queue, generation] : generations_) ++generation;
  }
  notify_cv_.notify_all();
}

void PgDatabase::WaitForChange(const std::string& queue, std::uint64_t seen,
                               std::chrono::milliseconds timeout) {
  std::unique_lock lock(notify_mutex_);
  notify_cv_.wait_for(lock, timeout, [&] { return generations_[queue] != seen; });
}

}  // namespace stereospot::postgres
