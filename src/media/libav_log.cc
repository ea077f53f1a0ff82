#include "media/libav_log.h"

#include <atomic>
#include <cstdio>
#include <string>

extern "C" {
#include <libavutil/log.h>
}

namespace stereospot::media {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kWarn)};

LogLevel LevelOf(int av_level) {
  if (av_level <= AV_LOG_ERROR) return LogLevel::kError;
  if (av_level <= AV_LOG_WARNING) return LogLevel::kWarn;
  if (av_level <= AV_LOG_INFO) return LogLevel::kInfo;
  return LogLevel::kDebug;
}

void OnLibavLog(void* avcl, int av_level, const char* format, va_list args) {
  if (av_level > AV_LOG_DEBUG) return;  // trace output is never wanted
  const LogLevel level = LevelOf(av_level);
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  char line[1024];
  int print_prefix = 1;
  av_log_format_line2(avcl, av_level, format, args, line, sizeof(line), &print_prefix);
  std::string message(line);
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.pop_back();
  }
  if (message.empty()) return;
  static const Logger logger("stereospot.libav");
  logger.Log(level, message, {});
}

}  // namespace

void RouteLibavLogs(LogLevel min_level) {
  g_min_level.store(static_cast<int>(min_level), std::memory_order_relaxed);
  av_log_set_callback(&OnLibavLog);
}

}  // namespace stereospot::media
