// Test support: running programs (our hms, the Node reference) with their
// output captured, on pipes or on a pseudo-terminal, every wait with a
// deadline, every child in its own process group and killed by that group
// (never by name) when it is done or the test ends.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hms::clitest {

using namespace std::chrono_literals;

struct RunOptions {
  std::string cwd;                               // "" = inherit
  std::map<std::string, std::string> env;        // set on top of ours
  std::vector<std::string> unset;                // removed from the env
  std::optional<std::string> stdin_data;         // else /dev/null
  bool tty = false;                              // stdout+stderr on a pty
  std::chrono::milliseconds timeout = 20s;       // killed after this
};

struct RunResult {
  std::string out, err;  // on a pty, err is empty and out has both
  int code = -1;         // exit code, or 128 + signal
  bool timed_out = false;
};

// Runs argv to completion (or the timeout).
RunResult run(const std::vector<std::string>& argv, const RunOptions& o = {});

// A program left running (a hub, a dock, a tail): its stdout and stderr are
// collected by a thread; stop() kills its process group.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const RunOptions& o = {});
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  // Waits until `pred(stdout so far)` holds; false at the deadline or when
  // the program exits first.
  bool wait_out(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds d = 15s);
  bool wait_out_has(const std::string& text, std::chrono::milliseconds d = 15s) {
    return wait_out([&](const std::string& s) { return s.find(text) != std::string::npos; }, d);
  }
  // Waits for the exit; its code (128 + signal), or nullopt at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds d = 15s);
  // SIGTERM to the group, SIGKILL after 3 s; returns the exit code.
  int stop(int sig = 15);
  std::string out();
  std::string err();
  pid_t pid() const { return pid_; }

 private:
  struct Shared;
  pid_t pid_ = -1;
  Shared* sh_;
};

// A private directory under /tmp, removed at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string mkdir(const std::string& name) const;
  void write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

// A TCP port nothing listens on right now (bound and released).
int free_port();
// A port p with p and p + 1 both free on every address: a hub and the dock
// beside it (`--dock` takes the port above the hub's).
int free_port_pair();

}  // namespace hms::clitest
