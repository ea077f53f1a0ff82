// Queue message bodies of DESIGN.md section 5, as JSON:
//   chunking, reassembly, deletion:  {"job_id": "..."}
//   segments:  {"job_id", "segment_index", "total_segments", "segment_key", "mode"}
//
// Decoders validate everything (types, job id form, ranges, and that segment_key parses to the
// same job, index, total and mode) and return kInvalidArgument for a body that fails, without
// throwing: such a message is poison and goes to the DLQ. Unknown fields are ignored so that a
// newer sender can add fields during a rolling upgrade.
#pragma once

#include <string>
#include <string_view>

#include "core/conversion_params.h"
#include "core/result.h"

namespace stereospot {

struct JobMessage {
  std::string job_id;
};

struct SegmentMessage {
  std::string job_id;
  int segment_index = 0;
  int total_segments = 0;
  std::string segment_key;
  Layout mode = Layout::kSbs;
};

std::string EncodeJobMessage(const JobMessage& message);
Result<JobMessage> DecodeJobMessage(std::string_view body);

std::string EncodeSegmentMessage(const SegmentMessage& message);
Result<SegmentMessage> DecodeSegmentMessage(std::string_view body);

// The job id of any message body when it can be found, else "?" (for log lines about bodies
// that fail to decode: every line about a job carries job_id).
std::string JobIdForLog(std::string_view body);

}  // namespace stereospot
