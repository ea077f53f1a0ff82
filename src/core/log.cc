#include "core/log.h"

#include <atomic>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/job.h"

namespace stereospot {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kPlain};

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') return true;
  }
  return false;
}

// The sink is created on first use and lives for the process: spdlog's stderr_sink_mt takes a
// mutex per line, so lines from many threads never interleave.
spdlog::logger& Sink() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("stereospot",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

}  // namespace

void ConfigureLogging(LogLevel level, LogFormat format) {
  g_level = level;
  g_format = format;
}

LogLevel ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

std::string FormatLogLine(std::int64_t unix_ms, LogLevel level, std::string_view component,
                          std::string_view message, const std::vector<LogField>& fields,
                          LogFormat format) {
  if (format == LogFormat::kJson) {
    nlohmann::json line = {{"ts", FormatTimestamp(unix_ms)},
                           {"level", LevelName(level)},
                           {"component", component},
                           {"msg", message}};
    for (const auto& f : fields) {
      if (f.numeric) {
        line[f.key] = nlohmann::json::parse(f.value, nullptr, false);
      } else {
        line[f.key] = f.value;
      }
    }
    // Replace invalid UTF-8 rather than throw: log lines may carry bytes from user files.
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out = FormatTimestamp(unix_ms);
  out += " [";
  out += LevelName(level);
  out += "] ";
  out += component;
  out += ": ";
  out += message;
  for (const auto& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    if (NeedsQuotes(f.value)) {
      out += nlohmann::json(f.value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      out += f.value;
    }
  }
  return out;
}

void Logger::Log(LogLevel level, std::string_view message,
                 const std::vector<LogField>& fields) const {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  try {
    Sink().info(FormatLogLine(NowMillis(), level, component_, message, fields, g_format.load()));
  } catch (...) {
    // Logging must never take the process down; a line lost to a failing stderr is acceptable.
  }
}

}  // namespace stereospot
