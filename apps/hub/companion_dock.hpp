// `--dock`: a dock for this machine beside the hub, as the reference
// terminal's --dock runs one in its process. Ours is a child process (the
// dock and the hub each keep their own signals, threads and descriptor
// limits), started once the hub listens, told the hub's port, and stopped
// with the hub: SIGTERM, so it stops its services cleanly, then SIGKILL if
// it has not exited within its grace. It also dies with the hub
// (PR_SET_PDEATHSIG), whatever ends the hub.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace hms::hub {

struct CompanionSpec {
  // The dock's program and leading arguments: {".../hms-dock"} or
  // {".../hms", "dock"}.
  std::vector<std::string> command;
  std::vector<std::string> tags;
  std::chrono::seconds grace{15};  // after SIGTERM, before SIGKILL
};

class CompanionDock {
 public:
  // Starts `hub_port`'s dock: default, the given tags, its client port one
  // above the hub's (as the reference's). Throws std::runtime_error.
  CompanionDock(const CompanionSpec& spec, std::uint16_t hub_port);
  ~CompanionDock();  // stop()
  CompanionDock(const CompanionDock&) = delete;
  CompanionDock& operator=(const CompanionDock&) = delete;
  void stop();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::chrono::seconds grace_;
};

// The program beside this executable named `name` (for hms-hub: hms-dock),
// or "" when there is none.
std::string sibling_program(const std::string& name);
// This executable's own path.
std::string self_program();

}  // namespace hms::hub
