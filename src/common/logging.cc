#include "drc/common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace drc::log {
namespace {

Level LevelFromEnv() {
  const char* env = std::getenv("DRC_LOG_LEVEL");
  if (env == nullptr) return Level::kWarn;
  const std::string v(env);
  if (v == "trace") return Level::kTrace;
  if (v == "debug") return Level::kDebug;
  if (v == "info") return Level::kInfo;
  if (v == "error") return Level::kError;
  if (v == "off") return Level::kOff;
  return Level::kWarn;
}

std::atomic<Level>& CurrentLevel() {
  static std::atomic<Level> level{LevelFromEnv()};
  return level;
}

spdlog::logger& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_color_mt("drc");
    l->set_pattern("[%H:%M:%S.%e] [%^%l%$] [pid %P] %v");
    l->set_level(spdlog::level::trace);  // Filtering happens in Enabled().
    return l;
  }();
  return *logger;
}

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kTrace: return spdlog::level::trace;
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

void SetLevel(Level level) { CurrentLevel().store(level); }
Level GetLevel() { return CurrentLevel().load(); }
bool Enabled(Level level) { return level != Level::kOff && level >= GetLevel(); }
void Write(Level level, std::string_view message) { Logger().log(ToSpd(level), message); }

}  // namespace drc::log
