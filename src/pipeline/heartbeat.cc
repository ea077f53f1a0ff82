#include "pipeline/heartbeat.h"

#include <utility>

namespace stereospot::pipeline {
namespace {

KeepAliveOptions ToKeepAlive(const HeartbeatOptions& options) {
  KeepAliveOptions out;
  out.window = options.visibility;
  out.interval = options.interval;
  out.component = "stereospot.heartbeat";
  out.what = "visibility";
  out.log_fields = options.log_fields;
  return out;
}

}  // namespace

Heartbeat::Heartbeat(WorkQueue& queue, std::string receipt, HeartbeatOptions options)
    : keep_alive_(
          [&queue, receipt = std::move(receipt), visibility = options.visibility] {
            return queue.ChangeVisibility(receipt, visibility);
          },
          ToKeepAlive(options)) {}

}  // namespace stereospot::pipeline
