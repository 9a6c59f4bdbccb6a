#include "dock/leftovers.hpp"

#include <signal.h>

#include <thread>

#include "dock/procstat.hpp"
#include "dock/say.hpp"

namespace hms::dock {

namespace {

bool still_there(const Store::Child& c) {
  auto t = start_ticks(c.pid);
  return t && *t == c.start_ticks;
}

}  // namespace

std::size_t stop_leftovers(const std::vector<Store::Child>& children, std::chrono::milliseconds grace) {
  std::vector<Store::Child> alive;
  for (const auto& c : children) {
    if (c.pid <= 1 || !still_there(c)) continue;
    say(c.service, "stopping process " + std::to_string(c.pid) + " left running by the previous run");
    ::kill(-c.pid, SIGTERM);
    alive.push_back(c);
  }
  // They are not our children (init adopted them): watch /proc.
  auto wait_gone = [&alive](std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      std::erase_if(alive, [](const Store::Child& c) { return !still_there(c); });
      if (alive.empty() || std::chrono::steady_clock::now() >= until) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  const std::size_t found = alive.size();
  wait_gone(grace);
  for (const auto& c : alive) {
    say(c.service, "process " + std::to_string(c.pid) + " did not stop: killed");
    ::kill(-c.pid, SIGKILL);
  }
  wait_gone(std::chrono::seconds(1));
  return found;
}

}  // namespace hms::dock
