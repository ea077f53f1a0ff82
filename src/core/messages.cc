#include "core/messages.h"

#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "core/object_keys.h"

namespace stereospot {
namespace {

Result<nlohmann::json> ParseObject(std::string_view body) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Status::InvalidArgument("message body is not valid JSON");
  if (!json.is_object()) return Status::InvalidArgument("message body is not a JSON object");
  return json;
}

Result<std::string> ReadJobId(const nlohmann::json& json) {
  auto it = json.find("job_id");
  if (it == json.end() || !it->is_string()) {
    return Status::InvalidArgument("message has no string field 'job_id'");
  }
  std::string id = it->get<std::string>();
  if (!IsValidJobId(id)) return Status::InvalidArgument("message job_id is not a UUIDv4");
  return id;
}

Result<int> ReadIndex(const nlohmann::json& json, const char* field) {
  auto it = json.find(field);
  if (it == json.end() || !it->is_number_integer()) {
    return Status::InvalidArgument(std::string("message has no integer field '") + field + "'");
  }
  auto value = it->get<std::int64_t>();
  if (value < 0 || value > kMaxSegments) {
    return Status::InvalidArgument(std::string("message field '") + field + "' is out of range");
  }
  return static_cast<int>(value);
}

}  // namespace

std::string EncodeJobMessage(const JobMessage& message) {
  return nlohmann::json{{"job_id", message.job_id}}.dump();
}

Result<JobMessage> DecodeJobMessage(std::string_view body) {
  STEREOSPOT_ASSIGN_OR_RETURN(nlohmann::json json, ParseObject(body));
  STEREOSPOT_ASSIGN_OR_RETURN(std::string id, ReadJobId(json));
  return JobMessage{std::move(id)};
}

std::string EncodeSegmentMessage(const SegmentMessage& m) {
  return nlohmann::json{{"job_id", m.job_id},
                        {"segment_index", m.segment_index},
                        {"total_segments", m.total_segments},
                        {"segment_key", m.segment_key},
                        {"mode", LayoutName(m.mode)}}
      .dump();
}

Result<SegmentMessage> DecodeSegmentMessage(std::string_view body) {
  STEREOSPOT_ASSIGN_OR_RETURN(nlohmann::json json, ParseObject(body));
  SegmentMessage m;
  STEREOSPOT_ASSIGN_OR_RETURN(m.job_id, ReadJobId(json));
  STEREOSPOT_ASSIGN_OR_RETURN(m.segment_index, ReadIndex(json, "segment_index"));
  STEREOSPOT_ASSIGN_OR_RETURN(m.total_segments, ReadIndex(json, "total_segments"));
  auto key = json.find("segment_key");
  auto mode = json.find("mode");
  if (key == json.end() || !key->is_string() || mode == json.end() || !mode->is_string()) {
    return Status::InvalidArgument("message needs string fields 'segment_key' and 'mode'");
  }
  m.segment_key = key->get<std::string>();
  auto layout = ParseLayout(mode->get<std::string>());
  if (!layout) return Status::InvalidArgument("message mode is not a known layout");
  m.mode = *layout;
  auto parsed = ParseSegmentKey(m.segment_key);
  if (!parsed) return Status::InvalidArgument("message segment_key is not a segment key");
  if (parsed->job_id != m.job_id || parsed->segment_index != m.segment_index ||
      parsed->total_segments != m.total_segments || parsed->mode != m.mode) {
    return Status::InvalidArgument("message fields disagree with its segment_key");
  }
  return m;
}

std::string JobIdForLog(std::string_view body) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object()) {
    auto it = json.find("job_id");
    if (it != json.end() && it->is_string() && IsValidJobId(it->get<std::string>())) {
      return it->get<std::string>();
    }
  }
  return "?";
}

}  // namespace stereospot
