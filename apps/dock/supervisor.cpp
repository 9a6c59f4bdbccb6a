#include "dock/supervisor.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "hms/log.hpp"

namespace hms::dock {

const char* to_string(Status s) noexcept {
  switch (s) {
    case Status::stopped: return "stopped";
    case Status::running: return "running";
    case Status::sleeping: return "sleeping";
    case Status::stopping: return "stopping";
    case Status::crashed: return "crashed";
  }
  return "?";
}

struct Supervisor::Monitor {
  std::string id;
  ProcessSpec spec;
  std::optional<std::string> revision, deployed;
  Status status = Status::stopped;
  pid_t pid = 0;  // the live child (its process group too), 0: none
  std::optional<std::chrono::system_clock::time_point> started;
  std::chrono::steady_clock::time_point started_at{};
  RestartBudget budget;
  std::uint32_t restarts = 0;
  TimerId sleep_timer = 0;
  TimerId kill_timer = 0;
  std::vector<std::function<void()>> waiters;  // stop callbacks
};

Supervisor::Supervisor(Reactor& reactor, Hooks hooks, std::chrono::milliseconds grace, Spawner& spawner,
                       std::vector<std::string> base_env)
    : reactor_(reactor), hooks_(std::move(hooks)), grace_(grace), spawner_(spawner),
      base_env_(std::move(base_env)) {}

Supervisor::~Supervisor() = default;

Supervisor::Slot* Supervisor::find(const std::string& id) {
  auto it = slots_.find(id);
  return it == slots_.end() ? nullptr : &it->second;
}
const Supervisor::Slot* Supervisor::find(const std::string& id) const {
  auto it = slots_.find(id);
  return it == slots_.end() ? nullptr : &it->second;
}

bool Supervisor::defined(const std::string& id) const {
  const Slot* s = find(id);
  return s && s->current;
}

bool Supervisor::define(const std::string& id, ProcessSpec spec, std::optional<std::string> revision,
                        std::optional<std::string> deployed) {
  Slot& s = slots_[id];
  if (s.current && s.current->spec == spec) return false;
  if (!s.current) order_.push_back(id);
  auto old = std::move(s.current);
  s.current = std::make_shared<Monitor>();
  s.current->id = id;
  s.current->spec = std::move(spec);
  s.current->revision = std::move(revision);
  s.current->deployed = std::move(deployed);
  finalize(old);
  return true;
}

// ---------------------------------------------------------------- start

void Supervisor::start(const std::string& id) {
  Slot* s = find(id);
  if (!s || !s->current || shutting_down_) return;
  std::shared_ptr<Monitor> old = s->running;
  const Status st = old ? old->status : Status::stopped;
  if (st == Status::running) return;  // as respawn-group: already up
  if (old && st == Status::stopping && old->pid) {
    // Ours: the new process starts once the old one is gone.
    s->start_pending = true;
    return;
  }
  if (old && old != s->current && old->sleep_timer) {
    // Replaced while waiting to respawn: it must not spawn later.
    reactor_.cancel_timer(old->sleep_timer);
    old->sleep_timer = 0;
    stopped(*old);
  }
  s->running = s->current;
  if (old != s->running) finalize(old);
  begin(s->running);
}

void Supervisor::begin(const std::shared_ptr<Monitor>& m) {
  if (m->sleep_timer) {
    reactor_.cancel_timer(m->sleep_timer);
    m->sleep_timer = 0;
  }
  m->budget = RestartBudget{};
  m->restarts = 0;
  spawn_now(m);
}

std::vector<std::string> Supervisor::environment(const Monitor& m) const {
  std::vector<std::string> env = base_env_;
  for (const auto& [k, v] : m.spec.env) {
    const std::string prefix = k + "=";
    auto it = std::find_if(env.begin(), env.end(), [&](const std::string& e) { return e.compare(0, prefix.size(), prefix) == 0; });
    if (it != env.end()) *it = prefix + v;
    else env.push_back(prefix + v);
  }
  return env;
}

void Supervisor::spawn_now(const std::shared_ptr<Monitor>& mp) {
  Monitor& m = *mp;
  m.sleep_timer = 0;
  m.started = std::chrono::system_clock::now();
  m.started_at = std::chrono::steady_clock::now();
  std::string why = m.spec.error;
  std::error_code ec;
  if (why.empty() && !m.spec.cwd.empty() && !std::filesystem::is_directory(m.spec.cwd, ec))
    why = "its build folder " + m.spec.cwd + " is missing";
  Spawned sp;
  if (why.empty()) {
    sp = spawner_.spawn(m.spec.command, m.spec.cwd, environment(m));
    if (sp.pid < 0) why = sp.what + ": " + std::strerror(sp.error);
  }
  if (!why.empty()) {
    // As respawn on a child 'error': crashed at once, no respawn.
    m.status = Status::crashed;
    m.started.reset();
    m.pid = 0;
    if (hooks_.spawn_failed) hooks_.spawn_failed(m.id, why);
    return;
  }
  m.status = Status::running;
  m.pid = sp.pid;
  children_[sp.pid] = mp;
  if (hooks_.spawned) hooks_.spawned(m.id, sp.pid, sp.out, sp.err);
}

// ---------------------------------------------------------------- stop

void Supervisor::signal(Monitor& m, int sig) {
  if (m.pid <= 0) return;
  // The child leads its own group (posix_spawn SETPGROUP 0); it is not
  // reaped yet, so the group id cannot have been reused.
  if (::kill(-m.pid, sig) != 0) ::kill(m.pid, sig);
}

void Supervisor::stop(const std::string& id, std::function<void()> done) {
  Slot* s = find(id);
  std::shared_ptr<Monitor> m = s ? s->running : nullptr;
  if (s) s->start_pending = false;
  if (!m) {
    if (done) done();
    return;
  }
  switch (m->status) {
    case Status::stopped:
      break;
    case Status::crashed:
      m->status = Status::stopped;
      break;
    case Status::sleeping:
      if (m->sleep_timer) reactor_.cancel_timer(m->sleep_timer);
      m->sleep_timer = 0;
      stopped(*m);
      finalize(m);
      break;
    case Status::stopping:
      if (done) m->waiters.push_back(std::move(done));
      return;
    case Status::running: {
      m->status = Status::stopping;
      if (done) m->waiters.push_back(std::move(done));
      signal(*m, SIGTERM);
      std::weak_ptr<Monitor> w = m;
      const pid_t pid = m->pid;
      m->kill_timer = reactor_.add_timer(grace_, [this, w, pid] {
        auto mm = w.lock();
        if (!mm || mm->pid != pid) return;
        mm->kill_timer = 0;
        signal(*mm, SIGKILL);
        if (hooks_.killed) hooks_.killed(mm->id);
      });
      return;
    }
  }
  if (done) done();
}

void Supervisor::restart(const std::string& id) {
  stop(id, {});
  start(id);
}

void Supervisor::remove(const std::string& id, std::function<void()> done) {
  Slot* s = find(id);
  if (!s) {
    if (done) done();
    return;
  }
  if (s->current) {
    std::erase(order_, id);
    auto cur = std::move(s->current);
    finalize(cur);
  }
  stop(id, [this, id, done = std::move(done)] {
    forget_if_done(id);
    if (done) done();
  });
}

void Supervisor::forget_if_done(const std::string& id) {
  Slot* s = find(id);
  if (s && !s->current && (!s->running || !s->running->pid)) slots_.erase(id);
}

void Supervisor::shutdown(std::function<void()> done) {
  shutting_down_ = true;
  auto left = std::make_shared<std::size_t>(1);
  auto one_done = [left, done = std::move(done)] {
    if (--*left == 0 && done) done();
  };
  std::vector<std::string> ids;
  for (const auto& [id, s] : slots_) ids.push_back(id);
  for (const auto& id : ids) {
    ++*left;
    stop(id, one_done);
  }
  one_done();
}

void Supervisor::kill_all() {
  for (auto& [pid, m] : children_) signal(*m, SIGKILL);
}

void Supervisor::stopped(Monitor& m) {
  if (m.status != Status::crashed) m.status = Status::stopped;
  m.started.reset();
}

void Supervisor::finalize(const std::shared_ptr<Monitor>& m) {
  if (!m || (m->status != Status::stopped && m->status != Status::crashed) || m->pid) return;
  const Slot* s = find(m->id);
  if (s && (s->current == m || s->running == m)) return;
  // Still in use by the service's other monitor: not retired.
  if (s && ((s->current && s->current->spec.cwd == m->spec.cwd) ||
            (s->running && s->running->spec.cwd == m->spec.cwd)))
    return;
  if (hooks_.retired && !m->spec.cwd.empty()) hooks_.retired(m->id, m->spec.cwd);
}

// ---------------------------------------------------------------- exits

void Supervisor::reap() {
  for (;;) {
    // Peek first: only our own children are collected (the process may
    // have others, e.g. when the dock runs inside a larger program).
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
    if (!children_.count(info.si_pid)) break;
    int status = 0;
    if (::waitpid(info.si_pid, &status, WNOHANG) == info.si_pid) on_exit(info.si_pid, status);
  }
  // Someone else's child is waiting to be collected and hides ours from
  // the peek: ask for each of ours by pid.
  std::vector<pid_t> ours;
  for (const auto& [pid, m] : children_) ours.push_back(pid);
  for (pid_t pid : ours) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) on_exit(pid, status);
  }
}

void Supervisor::on_exit(pid_t pid, int wstatus) {
  auto it = children_.find(pid);
  if (it == children_.end()) return;
  std::shared_ptr<Monitor> m = std::move(it->second);
  children_.erase(it);
  if (m->kill_timer) {
    reactor_.cancel_timer(m->kill_timer);
    m->kill_timer = 0;
  }
  m->pid = 0;
  const std::optional<int> code = WIFEXITED(wstatus) ? std::optional<int>(WEXITSTATUS(wstatus)) : std::nullopt;
  if (hooks_.exited) hooks_.exited(m->id, pid, code);

  if (m->status == Status::stopping) {
    stopped(*m);
    auto waiters = std::move(m->waiters);
    m->waiters.clear();
    Slot* s = find(m->id);
    const bool again = s && s->start_pending;
    if (s) s->start_pending = false;
    for (auto& w : waiters) w();
    if (again) start(m->id);
    finalize(m);
    return;
  }
  if (m->status != Status::running) return;
  const auto ran = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - m->started_at);
  if (after_exit(m->budget, ran) == AfterExit::crash) {
    m->status = Status::crashed;
    m->started.reset();
    finalize(m);
    return;
  }
  m->status = Status::sleeping;
  std::weak_ptr<Monitor> w = m;
  m->sleep_timer = reactor_.add_timer(kRespawnDelay, [this, w] {
    auto mm = w.lock();
    if (!mm || mm->status != Status::sleeping) return;
    ++mm->restarts;
    spawn_now(mm);
  });
}

// ---------------------------------------------------------------- ps

std::vector<ProcessView> Supervisor::list() const {
  std::vector<ProcessView> out;
  out.reserve(order_.size());
  for (const auto& id : order_) {
    const Slot* s = find(id);
    if (!s || !s->current) continue;
    const Monitor& m = s->running ? *s->running : *s->current;
    ProcessView v;
    v.id = id;
    v.status = m.status;
    v.started = m.started;
    v.pid = m.pid;
    v.spec = &m.spec;
    v.revision = m.revision;
    v.deployed = m.deployed;
    v.restarts = m.restarts;
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace hms::dock
