// The processes of the dock's services: one at a time per service, each in
// its own process group, restarted by the policy in restart_policy.hpp.
// Modelled on the reference's respawn-group 0.6.2 (reference.md 3.6): a
// service has a *current* monitor (its latest command, cwd and env) and the
// monitor that was last started, which keeps running after the command
// changes until the next start, stop or restart.
//
// Status of a monitor: stopped, running, sleeping (waiting to respawn),
// stopping, crashed (gave up; see restart_policy.hpp).
//
// ### Where we part from the reference (bugs that hurt users)
// - stop sends SIGTERM to the whole process group, then SIGKILL after the
//   grace period; the reference waited for ever on a child that ignores
//   SIGTERM.
// - restart waits for the old process to exit before starting the new
//   one; the reference started the new one at once (two servers on one
//   port, the new one crashing).
// - a stop of a service that is already stopping waits for it too.
// - a monitor replaced while it sleeps before a respawn does not spawn a
//   second process later.
//
// ### Reaping
// reap() runs when SIGCHLD arrives (the dock reads a signalfd on its
// reactor): every exited child of ours is collected with waitpid, never a
// child of anyone else in the process.
//
// ### Threads
// Reactor thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dock/restart_policy.hpp"
#include "dock/shell_words.hpp"
#include "dock/spawner.hpp"
#include "hms/reactor.hpp"

namespace hms::dock {

enum class Status : std::uint8_t { stopped, running, sleeping, stopping, crashed };
const char* to_string(Status s) noexcept;

// What a service runs.
struct ProcessSpec {
  std::vector<std::string> command;  // argv; the start text itself when it cannot run
  std::string cwd;
  EnvList env;                       // SERVICE_NAME + the service's env (what ps shows)
  std::string error;                 // why the start text cannot run, or ""
  bool operator==(const ProcessSpec&) const = default;
};

// One service as ps shows it.
struct ProcessView {
  std::string id;
  Status status = Status::stopped;
  std::optional<std::chrono::system_clock::time_point> started;
  pid_t pid = 0;
  const ProcessSpec* spec = nullptr;  // valid until the next call that changes the supervisor
  std::optional<std::string> revision, deployed;
  std::uint32_t restarts = 0;  // respawns since the last start command
};

class Supervisor {
 public:
  struct Hooks {
    // A process started: its stdout/stderr read ends (to adopt).
    std::function<void(const std::string& id, pid_t pid, int out, int err)> spawned;
    // A process could not be started (no such program, a bad start text).
    std::function<void(const std::string& id, const std::string& why)> spawn_failed;
    // A process ended: its exit code, or nullopt when a signal ended it.
    std::function<void(const std::string& id, pid_t pid, std::optional<int> code)> exited;
    // A stop's grace period ran out: SIGKILL was sent.
    std::function<void(const std::string& id)> killed;
    // No monitor of the service uses `cwd` any more (an older build).
    std::function<void(const std::string& id, const std::string& cwd)> retired;
  };

  // Children are started through `spawner` (spawner.hpp); `base_env`
  // ("K=V") is the dock's environment, which the service's env extends.
  Supervisor(Reactor& reactor, Hooks hooks, std::chrono::milliseconds grace, Spawner& spawner,
             std::vector<std::string> base_env);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // The service's current spec (respawn-group add). Returns false when it
  // equals the current one (nothing changes).
  bool define(const std::string& id, ProcessSpec spec, std::optional<std::string> revision,
              std::optional<std::string> deployed);
  bool defined(const std::string& id) const;

  void start(const std::string& id);
  void restart(const std::string& id);
  // `done` runs once the service's process is gone (at once if none).
  void stop(const std::string& id, std::function<void()> done);
  // Forgets the service (ps no longer shows it) and stops it; `done` as stop.
  void remove(const std::string& id, std::function<void()> done);
  // Stops everything and refuses later starts; `done` when all are gone.
  void shutdown(std::function<void()> done);
  // Grace over for everyone now (a second SIGTERM during shutdown).
  void kill_all();

  void reap();

  std::vector<ProcessView> list() const;  // every service, in definition order
  std::size_t live_children() const noexcept { return children_.size(); }

 private:
  struct Monitor;
  struct Slot {
    std::shared_ptr<Monitor> current;  // null once removed
    std::shared_ptr<Monitor> running;  // last started
    bool start_pending = false;        // start when the running child is gone
  };

  Slot* find(const std::string& id);
  const Slot* find(const std::string& id) const;
  void begin(const std::shared_ptr<Monitor>& m);  // a fresh start: full budget, spawn now
  void spawn_now(const std::shared_ptr<Monitor>& m);
  void on_exit(pid_t pid, int status);
  void stopped(Monitor& m);
  void finalize(const std::shared_ptr<Monitor>& m);
  void forget_if_done(const std::string& id);
  void signal(Monitor& m, int sig);
  std::vector<std::string> environment(const Monitor& m) const;

  Reactor& reactor_;
  Hooks hooks_;
  std::chrono::milliseconds grace_;
  Spawner& spawner_;
  std::vector<std::string> base_env_;
  std::unordered_map<std::string, Slot> slots_;
  std::vector<std::string> order_;     // ids with a current monitor, in definition order
  std::unordered_map<pid_t, std::shared_ptr<Monitor>> children_;
  bool shutting_down_ = false;
};

}  // namespace hms::dock
