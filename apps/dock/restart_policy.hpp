// What happens when a service's process exits without being asked to: the
// reference's respawn policy (npm respawn 0.4.2, reference.md 3.6), all its
// numbers in one place.
//
// Every such exit, code 0 included, schedules a new process after
// kRespawnDelay (status `sleeping`). A budget guards against crash loops: a
// clock of kRestartWindow is debited with the *run time* of each process
// that exits (the time slept between runs does not count, as in respawn);
// when it runs out it is refilled and the count of restarts starts over.
// The exit that would be restart number kMaxRestarts + 1 within one window
// leaves the service `crashed`: one start plus ten restarts, then it stays
// down until the next start or restart command.
#pragma once

#include <chrono>

namespace hms::dock {

inline constexpr std::chrono::milliseconds kRespawnDelay{1000};
inline constexpr std::chrono::milliseconds kRestartWindow{60000};
inline constexpr int kMaxRestarts = 10;

// Per start command; a fresh start (or restart) begins with a full budget.
struct RestartBudget {
  int restarts = 0;
  std::chrono::milliseconds clock = kRestartWindow;
};

enum class AfterExit { respawn, crash };

// Decides after an unexpected exit of a process that ran for `runtime`.
AfterExit after_exit(RestartBudget& budget, std::chrono::milliseconds runtime) noexcept;

}  // namespace hms::dock
