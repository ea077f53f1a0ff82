// The ObjectStore contract (ports/object_store.h, DESIGN.md section 3), run on every backend.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/ids.h"
#include "tests/contract/contract_suites.h"

namespace stereospot::contract {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string Pattern(std::size_t size, char seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    s[i] = static_cast<char>(seed + static_cast<char>(i % 251));
  return s;
}

class TempDir {
 public:
  TempDir() : path_(fs::path(::testing::TempDir()) / ("objstore-" + RandomHex(6))) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary) << data;
}

ByteSource SourceOf(const std::string& data, std::size_t step = 100'000) {
  auto offset = std::make_shared<std::size_t>(0);
  return [&data, offset, step](std::span<char> buf) -> Result<std::size_t> {
    std::size_t n = std::min({buf.size(), step, data.size() - *offset});
    std::copy_n(data.data() + *offset, n, buf.data());
    *offset += n;
    return n;
  };
}

std::string GetAll(ObjectStore& store, std::string_view key) {
  std::string out;
  Status s = store.GetStream(key, [&](std::string_view chunk) {
    out.append(chunk);
    return Status::OK();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST_P(ObjectStoreContract, PutFileGetFileRoundTrip) {
  auto store = backend_->NewObjectStore();
  TempDir dir;
  std::string data = Pattern(3'000'000, 'a');
  WriteFile(dir.path() / "in.bin", data);
  ASSERT_TRUE(store->PutFile("jobs/a/final.mp4", dir.path() / "in.bin").ok());
  ASSERT_TRUE(store->GetFile("jobs/a/final.mp4", dir.path() / "out.bin").ok());
  EXPECT_EQ(ReadFile(dir.path() / "out.bin"), data);
  auto head = store->Head("jobs/a/final.mp4");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, data.size());
  EXPECT_EQ(head->key, "jobs/a/final.mp4");
  EXPECT_GT(head->modified_at, 0);
}

TEST_P(ObjectStoreContract, PutStreamGetStreamRoundTripAndOverwrite) {
  auto store = backend_->NewObjectStore();
  std::string first = Pattern(2'500'000, 'x');
  ASSERT_TRUE(store->PutStream("input/j/source.mp4", SourceOf(first)).ok());
  EXPECT_EQ(GetAll(*store, "input/j/source.mp4"), first);
  std::string second = "short";
  ASSERT_TRUE(store->PutStream("input/j/source.mp4", SourceOf(second)).ok());
  EXPECT_EQ(GetAll(*store, "input/j/source.mp4"), second) << "put replaces";
  std::string empty;
  ASSERT_TRUE(store->PutStream("empty/object", SourceOf(empty)).ok());
  EXPECT_EQ(store->Head("empty/object")->size, 0u);
}

TEST_P(ObjectStoreContract, FailedStreamStoresNothing) {
  auto store = backend_->NewObjectStore();
  int calls = 0;
  ByteSource failing = [&](std::span<char> buf) -> Result<std::size_t> {
    if (++calls > 3) return Status::IoError("client went away");
    std::fill_n(buf.data(), 1000, 'z');
    return std::size_t{1000};
  };
  Status s = store->PutStream("input/j/source.mp4", failing);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_TRUE(store->Head("input/j/source.mp4").status().IsNotFound());
  // And an existing object survives a failed replacement whole.
  std::string original = "original";
  ASSERT_TRUE(store->PutStream("k/v", SourceOf(original)).ok());
  calls = 0;
  EXPECT_FALSE(store->PutStream("k/v", failing).ok());
  EXPECT_EQ(GetAll(*store, "k/v"), original);
}

TEST_P(ObjectStoreContract, MissingObjects) {
  auto store = backend_->NewObjectStore();
  TempDir dir;
  WriteFile(dir.path() / "keep", "untouched");
  EXPECT_TRUE(store->GetFile("no/such", dir.path() / "keep").IsNotFound());
  EXPECT_EQ(ReadFile(dir.path() / "keep"), "untouched");
  EXPECT_TRUE(store->Head("no/such").status().IsNotFound());
  EXPECT_TRUE(store->ReadRange("no/such", 0, 10).status().IsNotFound());
  EXPECT_TRUE(
      store->GetStream("no/such", [](std::string_view) { return Status::OK(); }).IsNotFound());
}

TEST_P(ObjectStoreContract, RangedReads) {
  auto store = backend_->NewObjectStore();
  std::string data = Pattern(10'000, 'r');
  ASSERT_TRUE(store->PutStream("r/obj", SourceOf(data)).ok());
  auto mid = store->ReadRange("r/obj", 100, 50);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(*mid, data.substr(100, 50));
  auto tail = store->ReadRange("r/obj", 9'990, 100);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, data.substr(9'990)) << "clipped at the end";
  EXPECT_TRUE(store->ReadRange("r/obj", 10'000, 1).status().IsInvalidArgument());
}

TEST_P(ObjectStoreContract, ListPaginatesInLexicalOrderByPrefix) {
  auto store = backend_->NewObjectStore();
  std::string data = "d";
  for (int i = 24; i >= 0; --i) {
    char name[32];
    std::snprintf(name, sizeof(name), "segments/job/%05d.mp4", i);
    ASSERT_TRUE(store->PutStream(name, SourceOf(data)).ok());
  }
  ASSERT_TRUE(store->PutStream("segments/other/00000.mp4", SourceOf(data)).ok());
  ASSERT_TRUE(store->PutStream("segmentsX", SourceOf(data)).ok());
  std::vector<std::string> keys;
  std::string token;
  int pages = 0;
  do {
    auto page = store->List("segments/job/", token, 10);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ++pages;
    for (const auto& o : page->objects) keys.push_back(o.key);
    token = page->next_page_token;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(keys.size(), 25u);
  for (int i = 0; i < 25; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "segments/job/%05d.mp4", i);
    EXPECT_EQ(keys[static_cast<std::size_t>(i)], name);
  }
  auto partial = store->List("segments/j", "", 100);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->objects.size(), 25u) << "a prefix need not end at a '/'";
  auto none = store->List("nothing/here/", "", 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->objects.empty());
  EXPECT_TRUE(store->List("", "", 0).status().IsInvalidArgument());
}

TEST_P(ObjectStoreContract, ListIsStableUnderInserts) {
  auto store = backend_->NewObjectStore();
  std::string data = "d";
  std::set<std::string> original;
  for (int i = 0; i < 20; ++i) {
    std::string key = "p/" + std::to_string(100 + i * 2);
    original.insert(key);
    ASSERT_TRUE(store->PutStream(key, SourceOf(data)).ok());
  }
  std::multiset<std::string> seen;
  std::string token;
  int inserted = 0;
  do {
    auto page = store->List("p/", token, 6);
    ASSERT_TRUE(page.ok());
    for (const auto& o : page->objects) seen.insert(o.key);
    token = page->next_page_token;
    ASSERT_TRUE(store->PutStream("p/" + std::to_string(101 + inserted * 8), SourceOf(data)).ok());
    ASSERT_TRUE(store->PutStream("p/0" + std::to_string(inserted), SourceOf(data)).ok());
    ++inserted;
  } while (!token.empty());
  for (const auto& k : original) EXPECT_EQ(seen.count(k), 1u) << k;
  for (const auto& k : seen) EXPECT_EQ(seen.count(k), 1u) << "repeated " << k;
}

TEST_P(ObjectStoreContract, DeleteAndDeletePrefix) {
  auto store = backend_->NewObjectStore();
  std::string data = "d";
  for (const char* key : {"jobs/a/segments/00000.mp4", "jobs/a/segments/00001.mp4",
                          "jobs/a/final.mp4", "jobs/ab/final.mp4"}) {
    ASSERT_TRUE(store->PutStream(key, SourceOf(data)).ok());
  }
  ASSERT_TRUE(store->Delete("jobs/a/final.mp4").ok());
  ASSERT_TRUE(store->Delete("jobs/a/final.mp4").ok()) << "idempotent";
  EXPECT_TRUE(store->Head("jobs/a/final.mp4").status().IsNotFound());
  auto removed = store->DeletePrefix("jobs/a/");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2u);
  EXPECT_TRUE(store->Head("jobs/ab/final.mp4").ok()) << "a sibling prefix is untouched";
  EXPECT_EQ(*store->DeletePrefix("jobs/a/"), 0u);
  EXPECT_TRUE(store->DeletePrefix("jobs").status().IsInvalidArgument());
  EXPECT_TRUE(store->DeletePrefix("").status().IsInvalidArgument());
}

TEST_P(ObjectStoreContract, RejectsKeysWithPathTricks) {
  auto store = backend_->NewObjectStore();
  std::string data = "evil";
  for (const char* key :
       {"../outside", "/etc/passwd", "a/../../b", "a//b", "", "./a", "a/", "a\\..\\b"}) {
    EXPECT_TRUE(store->PutStream(key, SourceOf(data)).IsInvalidArgument()) << key;
    EXPECT_TRUE(store->Head(key).status().IsInvalidArgument()) << key;
    EXPECT_TRUE(store->Delete(key).IsInvalidArgument()) << key;
  }
  EXPECT_TRUE(store->List("../", "", 10).status().IsInvalidArgument());
}

TEST_P(ObjectStoreContract, SignedUrls) {
  auto store = backend_->NewObjectStore();
  auto get = store->SignedUrl("jobs/a/final.mp4", SignedUrlMethod::kGet, 300s);
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_NE(get->find("final.mp4"), std::string::npos);
  auto put = store->SignedUrl("input/a/source.mp4", SignedUrlMethod::kPut, 300s);
  ASSERT_TRUE(put.ok());
  EXPECT_NE(*get, *put);
  EXPECT_TRUE(store->SignedUrl("k", SignedUrlMethod::kGet, 0s).status().IsInvalidArgument());
  EXPECT_TRUE(store->SignedUrl("k", SignedUrlMethod::kGet, std::chrono::hours(24 * 8))
                  .status()
                  .IsInvalidArgument());
  EXPECT_TRUE(store->SignedUrl("../k", SignedUrlMethod::kGet, 60s).status().IsInvalidArgument());
  EXPECT_TRUE(
      store->SignedUrl("jobs/a/final.mp4", SignedUrlMethod::kGet, 60s, "clip_3d-sbs.mp4").ok());
  EXPECT_TRUE(store->SignedUrl("jobs/a/final.mp4", SignedUrlMethod::kGet, 60s, "a\"\r\nX: 1")
                  .status()
                  .IsInvalidArgument());
}

TEST_P(ObjectStoreContract, ReadersSeeWholeObjectsDuringConcurrentPuts) {
  auto store = backend_->NewObjectStore();
  const std::string a = Pattern(400'000, 'a');
  const std::string b = Pattern(400'000, 'b');
  ASSERT_TRUE(store->PutStream("race/obj", SourceOf(a)).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    auto my_store = backend_->NewObjectStore();
    while (!stop) {
      std::string got;
      Status s = my_store->GetStream("race/obj", [&](std::string_view c) {
        got.append(c);
        return Status::OK();
      });
      if (s.ok() && got != a && got != b) ++torn;
    }
  });
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store->PutStream("race/obj", SourceOf(i % 2 ? a : b)).ok());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
}

}  // namespace
}  // namespace stereospot::contract
