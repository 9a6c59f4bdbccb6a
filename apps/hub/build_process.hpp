// A service's build: `/bin/sh -c <build> <folder>/build.sh <id>` in the new
// build's folder, as the reference terminal runs it, with the hub's
// environment plus the service's. Its stdout and stderr are read together,
// in the order they come, and handed to a sink as they arrive.
//
// ### Threads and lifetime
// Blocking: run() is called on a deploy's worker thread and returns when
// the build has exited (or was killed). kill() may be called from any
// thread; it ends the whole process group (the build and whatever it
// started). stdin is /dev/null (the reference leaves an open pipe nobody
// writes; a build that reads stdin would wait for ever there).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hms::hub {

struct BuildSpec {
  std::string command;  // the service's `build`
  std::string folder;   // where it runs (the unpacked upload)
  std::string id;       // the service id, $1 of the script
  std::vector<std::pair<std::string, std::string>> env;  // over the hub's own
  std::chrono::seconds timeout{3600};
};

struct BuildOutcome {
  bool started = false;
  int exit_code = -1;   // when it exited
  int signal = 0;       // when a signal ended it
  bool timed_out = false;
  std::string error;    // why it did not start, or how it ended, for the client
  bool ok() const { return started && exit_code == 0 && signal == 0 && !timed_out; }
};

class BuildProcess {
 public:
  // Output as it comes; returning false stops reading (the build is then
  // killed: nobody wants its output and its pipe would fill).
  using Sink = std::function<bool(std::string_view bytes)>;

  BuildOutcome run(const BuildSpec& spec, const Sink& sink);
  // Ends the build's process group (SIGKILL); safe from any thread.
  void kill();

 private:
  std::atomic<pid_t> group_{0};
  std::atomic<bool> killed_{false};
};

}  // namespace hms::hub
