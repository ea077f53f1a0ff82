// The shared ObjectStore contract on the S3 adapter, against s3rver behind the SigV4-checking
// proxy: once with S3's 5 MiB parts (every object of the suite goes up in one PUT) and once with
// 1 MiB parts and 3 parallel uploads (the suite's multi-MB objects go up as multipart uploads).
#include "tests/contract/contract_suites.h"
#include "tests/s3/test_server.h"

namespace stereospot::contract {
namespace {

class S3Backend final : public ContractBackend {
 public:
  // A backend on a new bucket, or null (and a test failure saying why) without a server.
  static std::unique_ptr<ContractBackend> Make(s3::S3Options options) {
    if (s3::testing::NewStoreOnFreshBucket(options) == nullptr) return nullptr;
    return std::make_unique<S3Backend>(std::move(options));
  }
  explicit S3Backend(s3::S3Options options) : options_(std::move(options)) {}
  std::unique_ptr<WorkQueue> NewQueue(const std::string&, int) override { return nullptr; }
  std::unique_ptr<JobStore> NewJobStore() override { return nullptr; }
  // Every handle of one backend shares the bucket, as two processes would.
  std::unique_ptr<ObjectStore> NewObjectStore() override {
    auto store = s3::S3ObjectStore::Open(options_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

 private:
  s3::S3Options options_;
};

s3::S3Options SmallParts() {
  s3::S3Options options = s3::testing::TestOptions();
  options.min_part_size = 1u << 20;
  options.part_size = 1u << 20;
  options.parallel_parts = 3;
  return options;
}

const BackendParam kSinglePut{"S3rverSinglePut",
                              [] { return S3Backend::Make(s3::testing::TestOptions()); }};
const BackendParam kMultipart{"S3rverMultipart", [] { return S3Backend::Make(SmallParts()); }};

INSTANTIATE_TEST_SUITE_P(S3, ObjectStoreContract, ::testing::Values(kSinglePut, kMultipart),
                         BackendName);

}  // namespace
}  // namespace stereospot::contract
