#include "procstat.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

namespace hms::load {

std::optional<ProcMemory> read_memory(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return std::nullopt;
  ProcMemory m;
  bool rss = false;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long kb = 0;
    if (std::sscanf(line, "VmRSS: %llu kB", &kb) == 1) {
      m.rss_kb = kb;
      rss = true;
    } else if (std::sscanf(line, "VmHWM: %llu kB", &kb) == 1) {
      m.hwm_kb = kb;
    }
  }
  std::fclose(f);
  // A zombie has no VmRSS line: it holds no memory worth reporting.
  if (!rss) return std::nullopt;
  return m;
}

std::optional<double> thread_cpu_seconds(const std::thread& t) {
  if (!t.joinable()) return std::nullopt;
  clockid_t clock;
  timespec ts;
  if (pthread_getcpuclockid(const_cast<std::thread&>(t).native_handle(), &clock) != 0 ||
      clock_gettime(clock, &ts) != 0)
    return std::nullopt;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::optional<double> read_cpu_seconds(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return std::nullopt;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name (field 2) may hold spaces and parentheses: the fields
  // that follow start after its last ')'. utime and stime are fields 14, 15.
  const char* p = std::strrchr(buf, ')');
  if (!p) return std::nullopt;
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return std::nullopt;
  const long hz = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(hz > 0 ? hz : 100);
}

std::vector<CpuTimes> read_cpu_times() {
  std::vector<CpuTimes> out;
  std::FILE* f = std::fopen("/proc/stat", "re");
  if (!f) return out;
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    unsigned cpu = 0;
    unsigned long long v[8] = {};
    // "cpuN user nice system idle iowait irq softirq steal". The first line,
    // "cpu  ..." (all CPUs), must be skipped by hand: %u would skip the
    // blanks and take its first count for a CPU number.
    if (std::strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9') continue;
    if (std::sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2], &v[3],
                    &v[4], &v[5], &v[6], &v[7]) != 9)
      continue;
    if (cpu >= out.size()) out.resize(cpu + 1);
    std::uint64_t total = 0;
    for (unsigned long long x : v) total += x;
    out[cpu].total = total;
    out[cpu].busy = total - v[3] - v[4];
  }
  std::fclose(f);
  return out;
}

}  // namespace hms::load
