// Shared basics of the attack suite: time, the hub's deadlines as this suite
// configures them, and what a sanitized build changes.
//
// Every wait in the suite is bounded: a hub that never answers makes a test
// fail, never hang ctest.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace hms::attack {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// The hub's deadlines in this suite, in seconds (flags of hms-hub). Short,
// so that the attacks that wait for a deadline stay fast. The ping timeout
// is 2 s, not 1: the reference pair is Node, and a loaded CI box (ASan hub,
// two tests at once on two cores) must not make it miss a pong.
struct Deadlines {
  int ping_interval = 1;
  int ping_timeout = 2;
  int handshake = 1;
  int read = 2;
  int dock = 1;
};
inline constexpr Deadlines kDeadline{};

// How much later than its deadline the hub may act before a test calls the
// deadline missed: timers have a granularity, and a sanitized or contended
// hub is slower.
inline Ms slack() { return kSanitized ? 6000ms : 2500ms; }
inline Ms seconds(int s) { return Ms(s * 1000); }

// Bounded wait for a condition that something else makes true.
template <class Pred>
bool eventually(Pred&& pred, Ms limit, Ms step = 20ms) {
  const auto end = Clock::now() + limit;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(step);
  }
}

inline double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A printable sample of bytes for messages (control bytes as \xNN).
std::string printable(std::string_view s, std::size_t max = 120);

}  // namespace hms::attack
