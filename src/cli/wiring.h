// Wiring: builds the adapters the configuration names. The only place that knows concrete
// adapter types; everything above sees ports.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/result.h"
#include "ports/job_store.h"
#include "ports/object_store.h"
#include "ports/work_queue.h"

namespace stereospot::cli {

struct Backend {
  std::unique_ptr<JobStore> jobs;
  std::unique_ptr<ObjectStore> objects;
  std::map<std::string, std::unique_ptr<WorkQueue>, std::less<>> queues;  // by name
  std::string description;           // where the data lives, for people
  std::shared_ptr<void> keep_alive;  // shared connection state of the adapters

  // The named queue, or kNotFound listing the known names.
  Result<WorkQueue*> Queue(std::string_view name) const;
};

enum class OpenMode {
  // Embedded: create the data directory and database when missing (serve, worker).
  kCreate,
  // Embedded: operator commands; a missing data directory is kNotFound and nothing is made.
  // Distributed: the same as kCreate. The database and bucket are provisioned by their
  // operator, and connecting to PostgreSQL always applies the schema migrations (creating the
  // schema in an empty database), so any process, operator commands included, may be first.
  kMustExist,
};

// Opens the backend config.backend names: "embedded" (SQLite and a local directory) or
// "distributed" (PostgreSQL and an S3-compatible bucket). Distributed errors name the server:
// "cannot connect to PostgreSQL at HOST:PORT: <reason>" (kUnavailable), a bad setting
// (kInvalidArgument), or kInvalidArgument saying so when this build has no distributed
// adapters. Opening does not contact the bucket; CheckBackend does.
Result<Backend> OpenBackend(const Config& config, OpenMode mode);

// What `config check` found, one line per check, and whether all passed.
struct BackendCheck {
  bool ok = true;
  std::vector<std::string> lines;  // "ok: ..." or "error: ..."
};

// Tests that the configured backend is usable, creating nothing on the embedded backend:
// embedded: the data directory's database opens (a missing one is a note: serve creates it);
// distributed: PostgreSQL is reachable and its schema migrated (reporting the version), and
// the bucket is reachable and writable (a probe object is written, read and deleted). Every
// check runs even after one fails, so one run reports everything that is wrong.
BackendCheck CheckBackend(const Config& config);

}  // namespace stereospot::cli
