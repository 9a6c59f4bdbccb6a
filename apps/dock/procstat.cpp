#include "dock/procstat.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hms::dock {

namespace {

// Fields 14 (utime), 15 (stime), 22 (starttime) and 24 (rss) of
// /proc/<pid>/stat.
struct Stat {
  unsigned long long utime = 0, stime = 0, starttime = 0;
  long long rss = 0;
};

std::optional<Stat> read_stat(pid_t pid) {
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
  Stat st;
  int field = 2;
  while (*p && field < 24) {
    while (*p == ' ') ++p;
    ++field;
    char* end = nullptr;
    if (field == 14) st.utime = std::strtoull(p, &end, 10);
    else if (field == 15) st.stime = std::strtoull(p, &end, 10);
    else if (field == 22) st.starttime = std::strtoull(p, &end, 10);
    else if (field == 24) st.rss = std::strtoll(p, &end, 10);
    while (*p && *p != ' ') ++p;
  }
  if (field < 24) return std::nullopt;
  return st;
}

}  // namespace

std::optional<std::uint64_t> start_ticks(pid_t pid) {
  auto st = read_stat(pid);
  if (!st) return std::nullopt;
  return st->starttime;
}

std::optional<ProcSample> sample_process(pid_t pid) {
  auto stat = read_stat(pid);
  if (!stat) return std::nullopt;
  const unsigned long long utime = stat->utime, stime = stat->stime;
  const long long rss = stat->rss;
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  static const long page = ::sysconf(_SC_PAGESIZE);
  ProcSample s;
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
  s.rss_bytes = rss > 0 ? static_cast<std::uint64_t>(rss) * static_cast<std::uint64_t>(page) : 0;
  return s;
}

}  // namespace hms::dock
