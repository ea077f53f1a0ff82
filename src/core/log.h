// Logging in the format of DESIGN.md section 9:
//   2026-11-23T10:15:02.123Z [INFO] stereospot.video_worker: message job_id=<id> segment_index=3
// or, in JSON mode, one object per line with ts, level, component, msg and the fields.
//
// Every line about a job carries job_id (and segment_index where relevant) as fields. Values with
// spaces, quotes or '=' are quoted in plain mode so lines stay machine-splittable. Logging is
// thread-safe and never throws; output goes to stderr through spdlog's synchronised sink.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace stereospot {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };
enum class LogFormat { kPlain, kJson };

struct LogField {
  template <typename T>
  LogField(std::string k, const T& v) : key(std::move(k)) {
    if constexpr (std::is_same_v<T, bool>) {
      value = v ? "true" : "false";
    } else if constexpr (std::is_arithmetic_v<T>) {
      value = std::to_string(v);
      numeric = true;
    } else {
      value = std::string(v);
    }
  }
  std::string key;
  std::string value;
  bool numeric = false;
};

// Sets the process-wide level and format (from the configuration, once at start-up).
void ConfigureLogging(LogLevel level, LogFormat format);
// "info" -> kInfo; unknown names give kInfo.
LogLevel ParseLogLevel(std::string_view name);

// One formatted line without the trailing newline. Pure; exposed for tests.
std::string FormatLogLine(std::int64_t unix_ms, LogLevel level, std::string_view component,
                          std::string_view message, const std::vector<LogField>& fields,
                          LogFormat format);

// A named component's logger ("stereospot.video_worker"). Cheap to copy.
class Logger {
 public:
  explicit Logger(std::string component) : component_(std::move(component)) {}

  void Debug(std::string_view message, const std::vector<LogField>& fields = {}) const {
    Log(LogLevel::kDebug, message, fields);
  }
  void Info(std::string_view message, const std::vector<LogField>& fields = {}) const {
    Log(LogLevel::kInfo, message, fields);
  }
  void Warn(std::string_view message, const std::vector<LogField>& fields = {}) const {
    Log(LogLevel::kWarn, message, fields);
  }
  void Error(std::string_view message, const std::vector<LogField>& fields = {}) const {
    Log(LogLevel::kError, message, fields);
  }
  void Log(LogLevel level, std::string_view message, const std::vector<LogField>& fields) const;

 private:
  std::string component_;
};

}  // namespace stereospot
