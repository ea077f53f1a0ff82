// What a backend provides to the shared contract suites: fresh, empty stores and queues.
//
// Each test makes one ContractBackend (a new temp directory, database or schema) and may ask it
// for several handles; handles from one backend share the same underlying data, as two processes
// on one database would.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "ports/job_store.h"
#include "ports/object_store.h"
#include "ports/work_queue.h"

namespace stereospot::contract {

class ContractBackend {
 public:
  virtual ~ContractBackend() = default;
  // A handle on the queue `name` whose messages go to the DLQ after `max_receives` deliveries.
  virtual std::unique_ptr<WorkQueue> NewQueue(const std::string& name, int max_receives) = 0;
  virtual std::unique_ptr<JobStore> NewJobStore() = 0;
  virtual std::unique_ptr<ObjectStore> NewObjectStore() = 0;
};

struct BackendParam {
  std::string name;
  std::function<std::unique_ptr<ContractBackend>()> make;
};

inline std::ostream& operator<<(std::ostream& out, const BackendParam& p) { return out << p.name; }

// For INSTANTIATE_TEST_SUITE_P's name generator.
inline std::string BackendName(const ::testing::TestParamInfo<BackendParam>& info) {
  return info.param.name;
}

}  // namespace stereospot::contract
