// hms/log.hpp: levelled logging to stderr for the engine and the apps.
//
// The level comes from set_log_level() or, at first use, from HMS_LOG
// (error, warn, info, debug). Lines are written with one write(2) each so
// lines from different reactor threads do not interleave.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hms {

enum class LogLevel : std::uint8_t { error = 0, warn = 1, info = 2, debug = 3 };

void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
bool parse_log_level(const char* text, LogLevel* out) noexcept;
inline bool log_enabled(LogLevel level) noexcept { return level <= log_level(); }

void log(LogLevel level, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));

// A string from a peer (an id, a header) made safe to put in a log line:
// printable ASCII stays, every other byte (a newline, an escape code,
// UTF-8) becomes \xNN, a backslash \\, and past `max` bytes of input the
// rest is cut with "...". A peer cannot forge or colour a log line.
std::string printable(std::string_view text, std::size_t max = 128);

}  // namespace hms

#define HMS_LOG(level, ...)                                        \
  do {                                                             \
    if (::hms::log_enabled(::hms::LogLevel::level))                \
      ::hms::log(::hms::LogLevel::level, __VA_ARGS__);             \
  } while (0)
