// LeaseKeeper: holds a job's reassembly lease (DESIGN.md section 4) while a reassembler works.
//
// Acquire takes the lease through JobStore::AcquireLease and then renews it every third of its
// ttl on a background thread (a KeepAlive), so a live reassembler never loses it and a crashed
// one frees it within one ttl for the janitor to hand on. A renewal answered with kConflict means
// the lease expired and was taken over: lost() becomes true and the holder must stop and write
// nothing (no final object, no status change). kUnavailable is retried while the lease is still
// covered.
//
// Release() (or the destructor, best effort) stops renewing and frees the lease.
//
// Threading: lost() may be called from any thread; Release() from the owner's. The store must
// outlive the keeper.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "pipeline/keep_alive.h"
#include "ports/job_store.h"

namespace stereospot::pipeline {

struct LeaseOptions {
  // Lease duration; each renewal extends it to now + ttl. Default: 60 s.
  std::chrono::milliseconds ttl{std::chrono::seconds(60)};
  // Time between renewals; 0 means ttl / 3. Default: 0.
  std::chrono::milliseconds interval{0};
};

class LeaseKeeper {
 public:
  // Takes the lease of `job_id` for `owner`. kConflict when another owner holds an unexpired
  // lease; kNotFound when the job has no reassembly trigger; store errors otherwise.
  static Result<std::unique_ptr<LeaseKeeper>> Acquire(JobStore& jobs, std::string_view job_id,
                                                      std::string_view owner,
                                                      LeaseOptions options = {});
  // Stops renewing and releases the lease unless Release() ran; errors are ignored (an unreleased
  // lease expires by itself).
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // True once the lease may belong to someone else. Never goes back to false.
  bool lost() const { return keep_alive_.lost(); }
  Status loss_reason() const { return keep_alive_.loss_reason(); }

  // Stops renewing and frees the lease (no-op on the store when it was lost). Idempotent.
  Status Release();

 private:
  LeaseKeeper(JobStore& jobs, std::string job_id, std::string owner, LeaseOptions options);

  JobStore& jobs_;
  const std::string job_id_;
  const std::string owner_;
  bool released_ = false;
  KeepAlive keep_alive_;  // last member: its thread uses the members above
};

}  // namespace stereospot::pipeline
