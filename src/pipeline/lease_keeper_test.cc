#include "pipeline/lease_keeper.h"

#include <thread>

#include <gtest/gtest.h>

#include "pipeline/test_backend.h"

namespace stereospot::pipeline {
namespace {

using std::chrono::milliseconds;
using testing::TestBackend;

constexpr milliseconds kTtl{250};

std::string JobWithTrigger(TestBackend& backend) {
  const std::string id = backend.MakeJob(JobStatus::kReassembling, 1);
  EXPECT_TRUE(*backend.jobs().CreateTriggerOnce(id));
  return id;
}

TEST(LeaseKeeperTest, KeepsTheLeasePastItsTtlAndReleasesIt) {
  TestBackend backend;
  const std::string id = JobWithTrigger(backend);
  auto keeper = LeaseKeeper::Acquire(backend.jobs(), id, "worker-1", {kTtl, milliseconds(0)});
  ASSERT_TRUE(keeper.ok()) << keeper.status().ToString();
  std::this_thread::sleep_for(kTtl * 3);
  EXPECT_FALSE((*keeper)->lost());
  auto other = backend.jobs().AcquireLease(id, "worker-2", kTtl);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(*other) << "a renewed lease must not be taken over";
  EXPECT_TRUE((*keeper)->Release().ok());
  auto trigger = backend.jobs().GetTrigger(id);
  ASSERT_TRUE(trigger.ok());
  EXPECT_TRUE(trigger->lease_owner.empty());
}

TEST(LeaseKeeperTest, SecondOwnerGetsConflict) {
  TestBackend backend;
  const std::string id = JobWithTrigger(backend);
  auto first = LeaseKeeper::Acquire(backend.jobs(), id, "worker-1", {kTtl, milliseconds(0)});
  ASSERT_TRUE(first.ok());
  auto second = LeaseKeeper::Acquire(backend.jobs(), id, "worker-2", {kTtl, milliseconds(0)});
  EXPECT_TRUE(second.status().IsConflict()) << second.status().ToString();
}

TEST(LeaseKeeperTest, TakenOverLeaseIsLost) {
  TestBackend backend;
  const std::string id = JobWithTrigger(backend);
  // Renewals far apart: the lease expires between them and another worker takes it.
  auto keeper =
      LeaseKeeper::Acquire(backend.jobs(), id, "worker-1", {milliseconds(50), milliseconds(200)});
  ASSERT_TRUE(keeper.ok());
  std::this_thread::sleep_for(milliseconds(80));
  auto other = backend.jobs().AcquireLease(id, "worker-2", std::chrono::seconds(10));
  ASSERT_TRUE(other.ok() && *other);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!(*keeper)->lost() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_TRUE((*keeper)->lost());
  EXPECT_TRUE((*keeper)->loss_reason().IsConflict()) << (*keeper)->loss_reason().ToString();
  keeper->reset();
  auto trigger = backend.jobs().GetTrigger(id);
  ASSERT_TRUE(trigger.ok());
  EXPECT_EQ(trigger->lease_owner, "worker-2") << "the loser must not free the new owner's lease";
}

TEST(LeaseKeeperTest, JobWithoutTriggerIsNotFound) {
  TestBackend backend;
  const std::string id = backend.MakeJob(JobStatus::kReassembling, 1);
  EXPECT_TRUE(LeaseKeeper::Acquire(backend.jobs(), id, "worker-1").status().IsNotFound());
}

}  // namespace
}  // namespace stereospot::pipeline
