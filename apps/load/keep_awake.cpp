#include "keep_awake.hpp"

#include <pthread.h>
#include <sched.h>

#include <cstdio>
#include <cstring>

#include "procstat.hpp"

namespace hms::load {
namespace {

// Pins the calling thread to `cpu` at SCHED_IDLE; false (said on stderr)
// when either is refused.
bool become_idle_spinner(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (int e = pthread_setaffinity_np(pthread_self(), sizeof set, &set)) {
    std::fprintf(stderr, "hms-load: keep-awake on cpu %d: %s\n", cpu, std::strerror(e));
    return false;
  }
  sched_param none{};
  if (int e = pthread_setschedparam(pthread_self(), SCHED_IDLE, &none)) {
    std::fprintf(stderr, "hms-load: keep-awake on cpu %d: SCHED_IDLE: %s\n", cpu, std::strerror(e));
    return false;
  }
  return true;
}

}  // namespace

KeepAwake::KeepAwake(const std::vector<int>& cpus) {
  for (int cpu : cpus) {
    spinners_.emplace_back([this, cpu] {
      if (!become_idle_spinner(cpu)) return;
      // A plain loop, no pause instruction: a hypervisor may take a
      // pause loop for a waiting lock and deschedule the vCPU, the very
      // thing this is here to prevent.
      while (!stop_.load(std::memory_order_relaxed)) {
      }
    });
  }
}

KeepAwake::~KeepAwake() {
  stop_.store(true, std::memory_order_relaxed);
  for (auto& t : spinners_) t.join();
}

double KeepAwake::cpu_seconds() const {
  double total = 0;
  // A spinner that already returned has no clock any more: it spun for 0.
  for (const auto& t : spinners_) total += thread_cpu_seconds(t).value_or(0);
  return total;
}

}  // namespace hms::load
