// Processes a previous run of the dock left behind. Service processes live
// in process groups of their own, so a dock that is killed outright (kill
// -9, a crash) leaves them running; started again, it would run every
// service twice. The store records each running child (pid and start
// time); at boot, those still alive with the same start time (the same
// process, not a reused pid) get SIGTERM on their group, SIGKILL after the
// grace period, before any service starts again.
#pragma once

#include <chrono>
#include <vector>

#include "dock/store.hpp"

namespace hms::dock {

// Blocks until they are gone (at most grace + 1 s). Returns how many were
// still running.
std::size_t stop_leftovers(const std::vector<Store::Child>& children, std::chrono::milliseconds grace);

}  // namespace hms::dock
