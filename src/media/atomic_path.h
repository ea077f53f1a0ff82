// AtomicPath: write a file under a temporary name and publish it whole with rename.
//
// A reader of `final_path` sees the previous file or the complete new one, never a partial
// write. Commit() renames; if it never ran, the destructor removes the temporary file.
// Threading: one owner thread.
#pragma once

#include <filesystem>
#include <string>

#include "core/status.h"

namespace stereospot::media {

class AtomicPath {
 public:
  explicit AtomicPath(std::filesystem::path final_path);
  ~AtomicPath();
  AtomicPath(const AtomicPath&) = delete;
  AtomicPath& operator=(const AtomicPath&) = delete;

  // Where to write: a unique name in the same directory as the final path.
  const std::string& temp_path() const { return temp_; }
  // Renames the temporary file onto the final path. kIoError when rename fails.
  Status Commit();

 private:
  std::filesystem::path final_;
  std::string temp_;
  bool committed_ = false;
};

}  // namespace stereospot::media
