// Wiring: builds the adapters the configuration names. The only place that knows concrete
// adapter types; everything above sees ports.
#pragma once

#include <map>
#include <memory>
#include <string>

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
  kCreate,     // create the data directory and database when missing (serve, worker)
  kMustExist,  // operator commands: a missing data directory is an error, nothing is made
};

Result<Backend> OpenBackend(const Config& config, OpenMode mode);

}  // namespace stereospot::cli
