// RAII owners for libpq handles. Include only from .cc files of this adapter: it pulls in
// libpq-fe.h, which no header outside adapters/postgres may see (STYLE.md section 4).
#pragma once

#include <memory>

#include <libpq-fe.h>

namespace stereospot::postgres {

struct PgConnFinisher {
  // PQconnectdb returns a handle even when the connection failed; it must be finished anyway.
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};

struct PgNotifyFreer {
  void operator()(PGnotify* notify) const { PQfreemem(notify); }
};

struct PgConninfoFreer {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
struct PgMemFreer {
  void operator()(char* text) const { PQfreemem(text); }
};

using PgConnHandle = std::unique_ptr<PGconn, PgConnFinisher>;
using PgResultHandle = std::unique_ptr<PGresult, PgResultClearer>;
using PgNotifyHandle = std::unique_ptr<PGnotify, PgNotifyFreer>;
using PgConninfoHandle = std::unique_ptr<PQconninfoOption, PgConninfoFreer>;
using PgMemHandle = std::unique_ptr<char, PgMemFreer>;

}  // namespace stereospot::postgres
