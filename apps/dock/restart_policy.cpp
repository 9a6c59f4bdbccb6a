#include "dock/restart_policy.hpp"

namespace hms::dock {

AfterExit after_exit(RestartBudget& b, std::chrono::milliseconds runtime) noexcept {
  b.clock -= runtime;
  if (b.clock <= std::chrono::milliseconds::zero()) {
    b.clock = kRestartWindow;
    b.restarts = 0;
  }
  return ++b.restarts > kMaxRestarts ? AfterExit::crash : AfterExit::respawn;
}

}  // namespace hms::dock
