#include "dock/procstat.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hms::dock {

std::optional<ProcSample> sample_process(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  // The command name (field 2) may hold spaces and ')': fields after it
  // are counted from its last ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p) return std::nullopt;
  ++p;
  // Fields 3.. : state(3) ... utime(14) stime(15) ... rss(24).
  unsigned long long utime = 0, stime = 0;
  long long rss = 0;
  int field = 2;
  while (*p && field < 24) {
    while (*p == ' ') ++p;
    ++field;
    char* end = nullptr;
    if (field == 14) utime = std::strtoull(p, &end, 10);
    else if (field == 15) stime = std::strtoull(p, &end, 10);
    else if (field == 24) rss = std::strtoll(p, &end, 10);
    while (*p && *p != ' ') ++p;
  }
  if (field < 24) return std::nullopt;
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  static const long page = ::sysconf(_SC_PAGESIZE);
  ProcSample s;
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
  s.rss_bytes = rss > 0 ? static_cast<std::uint64_t>(rss) * static_cast<std::uint64_t>(page) : 0;
  return s;
}

}  // namespace hms::dock
