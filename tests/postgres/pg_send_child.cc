// A separate process for pg_database_test: sends one message and exits.
// Usage: pg_send_child CONNINFO SCHEMA QUEUE BODY   (exit status 0 when the send succeeded)
#include <cstdio>

#include "adapters/postgres/pg_work_queue.h"

int main(int argc, char** argv) {
  using namespace stereospot::postgres;
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s CONNINFO SCHEMA QUEUE BODY\n", argv[0]);
    return 2;
  }
  PostgresOptions options;
  options.conninfo = argv[1];
  options.schema = argv[2];
  auto db = PgDatabase::Connect(options);
  if (!db.ok()) {
    std::fprintf(stderr, "pg_send_child: %s\n", db.status().ToString().c_str());
    return 1;
  }
  PgWorkQueue queue(*db, argv[3]);
  auto id = queue.Send(argv[4], std::chrono::milliseconds(0));
  if (!id.ok()) {
    std::fprintf(stderr, "pg_send_child: %s\n", id.status().ToString().c_str());
    return 1;
  }
  return 0;
}
