// RAII owners for SQLite handles. Statements must be destroyed before their database, which
// the owners' declaration order in SqliteDatabase guarantees.
#pragma once

#include <memory>

#include <sqlite3.h>

namespace stereospot::local {

struct SqliteCloser {
  // sqlite3_close_v2 defers the close until the last statement is finalised, so a wrong
  // destruction order leaks nothing and never fails with SQLITE_BUSY.
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStatementHandle = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

}  // namespace stereospot::local
