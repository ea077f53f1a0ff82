#include "media/atomic_path.h"

#include <atomic>
#include <system_error>

#include <unistd.h>

namespace stereospot::media {

namespace {
std::atomic<unsigned> temp_counter{0};
}  // namespace

AtomicPath::AtomicPath(std::filesystem::path final_path) : final_(std::move(final_path)) {
  // Same directory as the target so rename never crosses a filesystem; pid + counter keeps
  // concurrent writers (threads or processes) apart.
  temp_ = final_.string() + ".tmp." + std::to_string(::getpid()) + "." +
          std::to_string(temp_counter.fetch_add(1));
}

AtomicPath::~AtomicPath() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

Status AtomicPath::Commit() {
  std::error_code ec;
  std::filesystem::rename(temp_, final_, ec);
  if (ec)
    return Status::IoError("renaming " + temp_ + " to " + final_.string() + ": " + ec.message());
  committed_ = true;
  return Status::OK();
}

}  // namespace stereospot::media
