// Multipart upload for the S3 adapter (internal): initiate, upload parts in parallel, complete;
// abort on any failure so no part is ever visible as an object.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/s3/s3_http.h"
#include "adapters/s3/s3_url.h"
#include "ports/object_store.h"

namespace stereospot::s3 {

// One bucket as the adapter addresses it. Borrowed pointers: valid while the store lives.
struct BucketRef {
  HttpClient* http = nullptr;
  const Endpoint* endpoint = nullptr;
  std::string_view bucket;
  bool path_style = true;

  RequestTarget Target(std::string_view key,
                       std::vector<std::pair<std::string, std::string>> query = {}) const {
    return BuildTarget(*endpoint, bucket, path_style, key, std::move(query));
  }
};

// Fills `buffer` from `source` until it is full or the source ends; the bytes read. The
// source's error is returned as it gave it.
Result<std::size_t> ReadFull(const ByteSource& source, std::string& buffer);

// Uploads `first_parts` (already read from `source`, each `part_size` bytes) and then whatever
// `source` still yields, in parts of `part_size`, `parallel` at a time, as object `key`.
// REQUIRES: first_parts is non-empty, key is valid, 1 <= parallel.
Status MultipartUpload(const BucketRef& bucket, std::string_view key,
                       std::vector<std::string> first_parts, const ByteSource& source,
                       std::uint64_t part_size, int parallel);

}  // namespace stereospot::s3
