// Where service processes are started from: a thread of the dock with a
// file-descriptor table of its own, nearly empty.
//
// Why: a child starts with a copy of its parent's descriptor table and
// closes the close-on-exec ones at exec, one by one. A dock with a thousand
// services holds two pipes for each, so every start would copy and close
// two thousand descriptors: measured, that made starting a thousand
// services half again as slow. This thread unshares its table at birth
// (unshare(CLONE_FILES)), when the dock holds only a handful, creates each
// child's pipes there and spawns from there; the pipes' read ends are then
// handed to the reactor's table over a socket pair (SCM_RIGHTS) and closed
// here. The children are still the dock's (threads share their children):
// SIGCHLD and waitpid work as before.
//
// spawn() is synchronous (the caller waits, as it would for posix_spawn
// itself) and is called from one thread at a time (the reactor's).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dock/spawn.hpp"

namespace hms::dock {

class Spawner {
 public:
  // Starts the thread; call early, before the dock opens many
  // descriptors. `stdin_fd` is every child's stdin (see spawn.hpp).
  explicit Spawner(int stdin_fd);
  ~Spawner();
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;

  // As spawn_process(), the read ends in the caller's table (O_CLOEXEC).
  Spawned spawn(const std::vector<std::string>& argv, const std::string& cwd, const std::vector<std::string>& env);

 private:
  struct Request {
    const std::vector<std::string>* argv;
    const std::string* cwd;
    const std::vector<std::string>* env;
    Spawned result;
    bool handed = false;  // the read ends were sent over the socket
    bool done = false;
  };
  void loop();

  int stdin_fd_;
  int sock_[2] = {-1, -1};  // [0] the caller's end, [1] the thread's
  std::mutex mu_;
  std::condition_variable cv_;
  Request* request_ = nullptr;  // guarded by mu_
  bool stop_ = false;           // guarded by mu_
  bool ready_ = false;          // guarded by mu_: the table is unshared
  bool unshared_ = false;       // the thread has its own table (else spawns inline)
  std::thread thread_;
};

}  // namespace hms::dock
