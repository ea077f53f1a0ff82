// Upload and download throughput of the S3 adapter beside the curl command line doing the same
// transfers in the same run: `curl --aws-sigv4` with the body's SHA-256 computed by sha256sum
// (the adapter hashes every body too, for x-amz-content-sha256), one PUT of the whole file and
// one GET to a file. The adapter uses its defaults: one PUT up to the 8 MiB part size, parallel
// multipart above it (4 parts at a time); GetFile writes a temp file and renames it.
//
// Against s3rver directly, not through the SigV4 proxy, whose whole-body buffering in Python
// would dominate the timings. Each case runs `reps` times; the median is printed.
//
// Usage: s3_bench [REPS]   (default 5; starts and stops its own server with scripts/test-s3.sh)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "adapters/s3/s3_object_store.h"
#include "core/ids.h"

using namespace stereospot;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> ReadState(const fs::path& file) {
  std::map<std::string, std::string> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

template <typename F>
double MedianSeconds(int reps, F&& run) {
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    auto start = Clock::now();
    if (!run()) return -1;
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

bool Shell(const std::string& command) {
  int rc = std::system(command.c_str());
  if (rc != 0) std::fprintf(stderr, "failed (%d): %s\n", rc, command.c_str());
  return rc == 0;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  if (reps < 1) reps = 1;
  fs::path dir = fs::temp_directory_path() / ("s3-bench-" + RandomHex(4));
  fs::create_directories(dir);
  fs::path state = dir / "server.env";
  std::string script = std::string(STEREOSPOT_SOURCE_DIR) + "/scripts/test-s3.sh";
  if (!Shell(script + " start " + state.string() + " >/dev/null")) return 1;
  auto env = ReadState(state);

  s3::S3Options options;
  options.endpoint = env["S3_TEST_DIRECT_ENDPOINT"];
  options.region = env["S3_TEST_REGION"];
  options.access_key_id = env["S3_TEST_ACCESS_KEY"];
  options.secret_access_key = env["S3_TEST_SECRET_KEY"];
  options.bucket = "bench" + RandomHex(4);
  auto store = s3::S3ObjectStore::Open(options);
  // The same store with parts larger than any object here: every upload is one PUT, which
  // separates the adapter's own cost from s3rver's (it copies parts into place on completion).
  s3::S3Options one_put = options;
  one_put.part_size = 64u << 20;
  auto single = s3::S3ObjectStore::Open(one_put);
  Status created = store.ok() ? (*store)->CreateBucket() : store.status();
  if (!created.ok()) {
    std::fprintf(stderr, "%s\n", created.ToString().c_str());
    Shell(script + " stop " + state.string());
    return 1;
  }
  std::string base = options.endpoint + "/" + options.bucket + "/";
  std::string curl = "curl -sSf -o /dev/null --aws-sigv4 aws:amz:" + options.region +
                     ":s3 --user " + options.access_key_id + ":" + options.secret_access_key;
  std::printf("S3 adapter vs curl CLI, s3rver direct at %s, median of %d\n",
              options.endpoint.c_str(), reps);
  std::printf("%-10s %-9s %12s %12s %8s\n", "size", "transfer", "adapter MB/s", "curl MB/s",
              "ratio");
  for (std::size_t mib : {1, 32}) {
    std::size_t size = mib << 20;
    fs::path in = dir / "in.bin";
    {
      std::string data(size, '\0');
      std::uint32_t x = 12345;
      for (auto& c : data) c = static_cast<char>((x = x * 1664525u + 1013904223u) >> 24);
      std::ofstream(in, std::ios::binary) << data;
    }
    std::string key = "bench/" + std::to_string(mib) + "mib.bin";
    double up = MedianSeconds(reps, [&] { return (*store)->PutFile(key, in).ok(); });
    double up_single =
        MedianSeconds(reps, [&] { return (*single)->PutFile(key + "-single", in).ok(); });
    std::string up_cmd = curl + " -H \"x-amz-content-sha256: $(sha256sum " + in.string() +
                         " | cut -c1-64)\" -T " + in.string() + " " + base + key + "-curl";
    double up_curl = MedianSeconds(reps, [&] { return Shell(up_cmd); });
    double down = MedianSeconds(reps, [&] { return (*store)->GetFile(key, dir / "out.bin").ok(); });
    std::string down_cmd = curl +
                           " -H \"x-amz-content-sha256: $(printf '' | sha256sum | cut -c1-64)\"" +
                           " -o " + (dir / "out-curl.bin").string() + " " + base + key + "-curl";
    double down_curl = MedianSeconds(reps, [&] { return Shell(down_cmd); });
    if (up < 0 || up_single < 0 || up_curl < 0 || down < 0 || down_curl < 0) {
      std::fprintf(stderr, "a transfer failed\n");
      Shell(script + " stop " + state.string());
      return 1;
    }
    double mb = static_cast<double>(size) / 1e6;
    std::printf("%4zu MiB   %-9s %12.1f %12.1f %7.2fx\n", mib, "upload", mb / up, mb / up_curl,
                up_curl / up);
    if (size > options.part_size) {
      std::printf("%4zu MiB   %-9s %12.1f %12.1f %7.2fx\n", mib, "upload*", mb / up_single,
                  mb / up_curl, up_curl / up_single);
    }
    std::printf("%4zu MiB   %-9s %12.1f %12.1f %7.2fx\n", mib, "download", mb / down,
                mb / down_curl, down_curl / down);
  }
  std::printf(
      "ratio = curl time / adapter time (above 1: the adapter is faster); upload* = the\n"
      "adapter with a 64 MiB part size, so one PUT instead of a 4-way multipart upload\n");
  Shell(script + " stop " + state.string() + " >/dev/null");
  fs::remove_all(dir);
  return 0;
}
