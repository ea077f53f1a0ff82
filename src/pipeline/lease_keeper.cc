#include "pipeline/lease_keeper.h"

namespace stereospot::pipeline {
namespace {

KeepAliveOptions ToKeepAlive(const LeaseOptions& options, const std::string& job_id,
                             const std::string& owner) {
  KeepAliveOptions out;
  out.window = options.ttl;
  out.interval = options.interval;
  out.component = "stereospot.lease";
  out.what = "reassembly lease";
  out.log_fields = {{"job_id", job_id}, {"owner", owner}};
  return out;
}

}  // namespace

Result<std::unique_ptr<LeaseKeeper>> LeaseKeeper::Acquire(JobStore& jobs, std::string_view job_id,
                                                          std::string_view owner,
                                                          LeaseOptions options) {
  if (options.ttl.count() <= 0) return Status::InvalidArgument("lease ttl must be > 0");
  STEREOSPOT_ASSIGN_OR_RETURN(bool acquired, jobs.AcquireLease(job_id, owner, options.ttl));
  if (!acquired) {
    return Status::Conflict("the reassembly lease of job " + std::string(job_id) +
                            " is held by another worker");
  }
  return std::unique_ptr<LeaseKeeper>(
      new LeaseKeeper(jobs, std::string(job_id), std::string(owner), options));
}

LeaseKeeper::LeaseKeeper(JobStore& jobs, std::string job_id, std::string owner,
                         LeaseOptions options)
    : jobs_(jobs),
      job_id_(std::move(job_id)),
      owner_(std::move(owner)),
      keep_alive_([this, ttl = options.ttl] { return jobs_.RenewLease(job_id_, owner_, ttl); },
                  ToKeepAlive(options, job_id_, owner_)) {}

LeaseKeeper::~LeaseKeeper() { (void)Release(); }

Status LeaseKeeper::Release() {
  keep_alive_.Stop();
  if (released_) return Status::OK();
  released_ = true;
  // A lost lease belongs to someone else now; ReleaseLease would not touch it anyway, but there
  // is nothing to free.
  if (keep_alive_.lost()) return Status::OK();
  return jobs_.ReleaseLease(job_id_, owner_);
}

}  // namespace stereospot::pipeline
