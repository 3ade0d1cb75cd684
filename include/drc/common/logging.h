// Logging: leveled, formatted messages to stderr (spdlog underneath, kept out of this header).
//
//   drc::log::Info("rank {} joined {} peers", rank, size);
//
// The level comes from DRC_LOG_LEVEL (trace, debug, info, warn, error, off; default warn) and
// can be changed with SetLevel. Thread-safe.
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace drc::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };

void SetLevel(Level level);
Level GetLevel();
bool Enabled(Level level);
// Writes one already formatted line.
void Write(Level level, std::string_view message);

template <typename... Args>
void Log(Level level, fmt::format_string<Args...> format, Args&&... args) {
  if (Enabled(level)) Write(level, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void Debug(fmt::format_string<Args...> f, Args&&... a) {
  Log(Level::kDebug, f, std::forward<Args>(a)...);
}
template <typename... Args>
void Info(fmt::format_string<Args...> f, Args&&... a) {
  Log(Level::kInfo, f, std::forward<Args>(a)...);
}
template <typename... Args>
void Warn(fmt::format_string<Args...> f, Args&&... a) {
  Log(Level::kWarn, f, std::forward<Args>(a)...);
}
template <typename... Args>
void Error(fmt::format_string<Args...> f, Args&&... a) {
  Log(Level::kError, f, std::forward<Args>(a)...);
}

}  // namespace drc::log
