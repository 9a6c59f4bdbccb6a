// Starting one service process: posix_spawn (glibc uses vfork, so a dock
// with a large heap still starts a thousand children quickly) into a new
// process group of its own, so that stop can signal the service and
// everything it started, and nothing else.
//
// The child gets: stdin = `stdin_fd` (the dock passes the read end of a
// pipe it never writes, as the reference leaves stdin an open pipe: a
// service that reads stdin waits, it does not see end of file); stdout and
// stderr = two fresh pipes whose read ends are returned; cwd = `cwd`; an
// empty signal mask and default dispositions (the dock blocks SIGCHLD,
// SIGTERM and SIGINT for its signalfd and ignores SIGPIPE; neither must
// leak into services); environment = `env` (KEY=VALUE strings).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hms::dock {

struct Spawned {
  pid_t pid = -1;     // > 0 on success; also the process group id
  int out = -1;       // read end of the child's stdout (O_CLOEXEC)
  int err = -1;       // read end of the child's stderr (O_CLOEXEC)
  int error = 0;      // errno when pid < 0 (ENOENT: no such program, ...)
  std::string what;   // what failed, for the log
};

// argv[0] without a '/' is looked up in the PATH of `env` (as Node's spawn
// does with an env of its own), or the dock's PATH when `env` has none.
Spawned spawn_process(const std::vector<std::string>& argv, const std::string& cwd,
                      const std::vector<std::string>& env, int stdin_fd);

}  // namespace hms::dock
