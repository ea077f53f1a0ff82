#include "core/job_status.h"

#include <set>
#include <utility>

#include <gtest/gtest.h>

namespace stereospot {
namespace {

using S = JobStatus;

// Written out independently of the implementation's table, from DESIGN.md section 4.
const std::set<std::pair<S, S>> kExpectedAllowed = {
    {S::kCreated, S::kChunkingInProgress},
    {S::kChunkingInProgress, S::kChunkingComplete},
    {S::kChunkingComplete, S::kReassembling},
    {S::kReassembling, S::kCompleted},
    {S::kCreated, S::kFailed},
    {S::kChunkingInProgress, S::kFailed},
    {S::kChunkingComplete, S::kFailed},
    {S::kReassembling, S::kFailed},
    {S::kCreated, S::kCancelled},
    {S::kChunkingInProgress, S::kCancelled},
    {S::kChunkingComplete, S::kCancelled},
    {S::kReassembling, S::kCancelled},
    {S::kCompleted, S::kDeleted},
    {S::kFailed, S::kDeleted},
    {S::kCancelled, S::kDeleted},
    {S::kFailed, S::kCreated},
    {S::kCancelled, S::kCreated},
};

// Checks all 64 ordered pairs: each allowed one is allowed, every other one is forbidden.
TEST(JobStatusTest, EveryPairMatchesTheDesignTable) {
  int allowed = 0;
  for (S from : kAllJobStatuses) {
    for (S to : kAllJobStatuses) {
      bool expected = kExpectedAllowed.count({from, to}) > 0;
      EXPECT_EQ(IsAllowedTransition(from, to), expected)
          << JobStatusName(from) << " -> " << JobStatusName(to);
      allowed += expected ? 1 : 0;
    }
  }
  EXPECT_EQ(allowed, 17);
}

TEST(JobStatusTest, NoStatusMovesBackwardsOnTheForwardPath) {
  const S path[] = {S::kCreated, S::kChunkingInProgress, S::kChunkingComplete, S::kReassembling,
                    S::kCompleted};
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j <= i; ++j) {
      EXPECT_FALSE(IsAllowedTransition(path[i], path[j]))
          << JobStatusName(path[i]) << " -> " << JobStatusName(path[j]);
    }
  }
}

TEST(JobStatusTest, DeletedIsFinal) {
  for (S to : kAllJobStatuses) EXPECT_FALSE(IsAllowedTransition(S::kDeleted, to));
}

TEST(JobStatusTest, NamesRoundTrip) {
  for (S s : kAllJobStatuses) {
    auto parsed = ParseJobStatus(JobStatusName(s));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_FALSE(ParseJobStatus("").has_value());
  EXPECT_FALSE(ParseJobStatus("Created").has_value());
  EXPECT_FALSE(ParseJobStatus("created ").has_value());
}

TEST(JobStatusTest, TerminalStatuses) {
  EXPECT_TRUE(IsTerminal(S::kCompleted));
  EXPECT_TRUE(IsTerminal(S::kFailed));
  EXPECT_TRUE(IsTerminal(S::kCancelled));
  EXPECT_TRUE(IsTerminal(S::kDeleted));
  EXPECT_FALSE(IsTerminal(S::kCreated));
  EXPECT_FALSE(IsTerminal(S::kReassembling));
}

}  // namespace
}  // namespace stereospot
