// What hms-load reads about another process (the hub, given --hub-pid) and
// about itself from /proc: resident memory and CPU time. Linux only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

namespace hms::load {

struct ProcMemory {
  std::uint64_t rss_kb = 0;  // VmRSS: resident now
  std::uint64_t hwm_kb = 0;  // VmHWM: the kernel's own resident peak
};

// nullopt when the process is gone or /proc cannot be read.
std::optional<ProcMemory> read_memory(pid_t pid);
// User + system CPU time of the whole process (all threads), in seconds.
std::optional<double> read_cpu_seconds(pid_t pid);
// CPU time of one running thread of this process, in seconds; nullopt when
// it was never started or has ended (its clock is gone).
std::optional<double> thread_cpu_seconds(const std::thread& t);

// Jiffies each CPU spent busy (everything but idle and iowait) and in
// total since boot, from /proc/stat, indexed by CPU number. Empty on error.
struct CpuTimes {
  std::uint64_t busy = 0, total = 0;
};
std::vector<CpuTimes> read_cpu_times();

}  // namespace hms::load
