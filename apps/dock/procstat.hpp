// What /proc says about one process, for `ps`: resident memory and CPU
// time. Cheap (one read of /proc/<pid>/stat); a process that is gone or
// unreadable gives nothing rather than an error.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace hms::dock {

struct ProcSample {
  std::uint64_t rss_bytes = 0;
  double cpu_seconds = 0;  // user + system, of the process itself
};

std::optional<ProcSample> sample_process(pid_t pid);

// When the process started, in clock ticks after boot (/proc/<pid>/stat
// field 22): with the pid, it names one process for good (a pid is reused,
// a pid and its start time are not). nullopt when there is no such process.
std::optional<std::uint64_t> start_ticks(pid_t pid);

}  // namespace hms::dock
