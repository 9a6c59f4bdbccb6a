// hms/log.hpp: levelled logging to stderr for the engine and the apps.
//
// The level comes from set_log_level() or, at first use, from HMS_LOG
// (error, warn, info, debug). Lines are written with one write(2) each so
// lines from different reactor threads do not interleave.
#pragma once

#include <chrono>
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

// One log line per period at most for something that comes in floods (a
// refused connection, a missed deadline): note() counts occurrences and
// says when to write a line, and for how many. Occurrences after the last
// line are told with the next one. Not thread-safe: one per thread.
class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::steady_clock::duration period = std::chrono::seconds(1)) noexcept
      : period_(period) {}
  // Counts n occurrences at `now`. Returns 0 when no line is due, else how
  // many occurred since the last line, these n included.
  std::uint64_t note(std::chrono::steady_clock::time_point now, std::uint64_t n = 1) noexcept {
    quiet_ += n;
    if (quiet_ == 0 || (logged_ && now - last_ < period_)) return 0;
    const std::uint64_t told = quiet_;
    quiet_ = 0;
    last_ = now;
    logged_ = true;
    return told;
  }

 private:
  std::chrono::steady_clock::duration period_;
  std::chrono::steady_clock::time_point last_{};
  bool logged_ = false;
  std::uint64_t quiet_ = 0;  // occurrences not told yet
};

}  // namespace hms

#define HMS_LOG(level, ...)                                        \
  do {                                                             \
    if (::hms::log_enabled(::hms::LogLevel::level))                \
      ::hms::log(::hms::LogLevel::level, __VA_ARGS__);             \
  } while (0)
