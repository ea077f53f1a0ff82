// The JobStore on PostgreSQL (see ports/job_store.h for the contract).
//
// Every method is one SQL statement, so each is atomic without a client-side transaction:
// conditional writes are an UPDATE ... WHERE status = expected whose CTE also reports whether
// the job exists, and create-once writes are INSERT ... ON CONFLICT DO NOTHING, which
// PostgreSQL makes race-free across connections. Lease times come from the database clock.
#pragma once

#include <memory>

#include "adapters/postgres/pg_database.h"
#include "ports/job_store.h"

namespace stereospot::postgres {

class PgJobStore final : public JobStore {
 public:
  explicit PgJobStore(std::shared_ptr<PgDatabase> db) : db_(std::move(db)) {}

  Status Create(const Job& job) override;
  Result<Job> Get(std::string_view job_id) override;
  Status TransitionStatus(std::string_view job_id, JobStatus expected, JobStatus next,
                          const JobUpdate& update) override;
  Status UpdateFields(std::string_view job_id, const JobUpdate& update,
                      std::optional<JobStatus> expected) override;
  Result<JobPage> List(const JobListQuery& query) override;
  Status PutCompletion(const SegmentCompletion& completion) override;
  Result<int> CountCompletions(std::string_view job_id) override;
  Result<std::map<JobStatus, std::int64_t>> CountByStatus() override;
  Result<std::vector<SegmentCompletion>> ListCompletions(std::string_view job_id) override;
  Result<bool> CreateTriggerOnce(std::string_view job_id) override;
  Result<ReassemblyTrigger> GetTrigger(std::string_view job_id) override;
  Result<bool> AcquireLease(std::string_view job_id, std::string_view owner,
                            std::chrono::milliseconds ttl) override;
  Status RenewLease(std::string_view job_id, std::string_view owner,
                    std::chrono::milliseconds ttl) override;
  Status ReleaseLease(std::string_view job_id, std::string_view owner) override;
  Status ResetProgress(std::string_view job_id) override;

 private:
  Status ApplyUpdate(std::string_view job_id, std::optional<JobStatus> expected,
                     std::optional<JobStatus> next, const JobUpdate& update);

  std::shared_ptr<PgDatabase> db_;
};

}  // namespace stereospot::postgres
