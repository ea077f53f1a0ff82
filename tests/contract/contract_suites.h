// The shared contract suites. A backend's test file instantiates them with its factory:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, WorkQueueContract, ::testing::Values(param), BackendName);
// The suites' sources (tests/contract/*_contract.cc) are compiled into that test executable.
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "tests/contract/backend.h"

namespace stereospot::contract {

class BackendTest : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    ASSERT_NE(backend_, nullptr) << "backend " << GetParam().name << " could not be set up";
  }
  std::unique_ptr<ContractBackend> backend_;
};

class WorkQueueContract : public BackendTest {};
class JobStoreContract : public BackendTest {};
class ObjectStoreContract : public BackendTest {};

}  // namespace stereospot::contract
