#include "dock/say.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace hms::dock {

namespace {

void write_line(const std::string& line) noexcept {
  std::size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stdout gone (EPIPE is ignored, not fatal): nothing to do
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

void say(std::string_view text) noexcept {
  try {
    std::string line;
    line.reserve(8 + text.size());
    line.append("[dock] ").append(text).push_back('\n');
    write_line(line);
  } catch (...) {
    // Out of memory for a log line: the line is lost, the dock goes on.
  }
}

void say(std::string_view service, std::string_view text) noexcept {
  try {
    std::string line;
    line.reserve(12 + service.size() + text.size());
    line.append("[dock] [").append(service).append("] ").append(text).push_back('\n');
    write_line(line);
  } catch (...) {
  }
}

}  // namespace hms::dock
