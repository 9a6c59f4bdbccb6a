// Keeping cores out of their idle state while latency is measured.
//
// In a virtual machine an idle vCPU halts and the host may run something
// else on its core; waking it for the next frame can take milliseconds, and
// that wait would count as the hub's latency. On this project's 2-vCPU VM,
// docks_10k measured a p99 of 5-6 ms with idle cores and 0.2 ms with the
// cores kept busy, for the same hub. A KeepAwake runs one spinning thread
// per given CPU at SCHED_IDLE: it only ever gets a core that nothing else
// wants, so it takes no time from the hub or hms-load, but the core never
// halts. Its CPU time is reported apart, not as hms-load's or as others'.
//
// Lifetime: the threads run from the constructor to the destructor.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

namespace hms::load {

class KeepAwake {
 public:
  // One spinner per CPU number in `cpus` (none: nothing runs). Throws
  // std::system_error when a thread cannot be started; a CPU outside the
  // machine or a refused SCHED_IDLE is reported on stderr and that spinner
  // does not run.
  explicit KeepAwake(const std::vector<int>& cpus);
  ~KeepAwake();
  KeepAwake(const KeepAwake&) = delete;
  KeepAwake& operator=(const KeepAwake&) = delete;

  // CPU seconds all spinners used so far.
  double cpu_seconds() const;

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> spinners_;
};

}  // namespace hms::load
