#include "build_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

extern char** environ;

namespace hms::hub {

namespace {

// The hub's environment with the service's variables over it, as
// "KEY=value" strings (xtend(process.env, service.env) in the reference).
std::vector<std::string> build_environment(const std::vector<std::pair<std::string, std::string>>& over) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view kv(*e);
    const std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    vars[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  for (const auto& [k, v] : over)
    if (!k.empty() && k.find('=') == std::string::npos && k.find('\0') == std::string::npos) vars[k] = v;
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (auto& [k, v] : vars) {
    std::string kv = k;
    kv += '=';
    kv += v;
    out.push_back(std::move(kv));
  }
  return out;
}

struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

void describe_end(BuildOutcome& out, int status) {
  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
    if (out.exit_code != 0) out.error = "the build exited with code " + std::to_string(out.exit_code);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
    out.error = std::string("the build was ended by signal ") + std::to_string(out.signal) + " (" +
                strsignal(out.signal) + ")";
  }
}

}  // namespace

BuildOutcome BuildProcess::run(const BuildSpec& spec, const Sink& sink) {
  BuildOutcome out;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    out.error = std::string("cannot make a pipe for the build: ") + std::strerror(errno);
    return out;
  }
  Fd read_end{fds[0]}, write_end{fds[1]};

  // stdout and stderr share one pipe: their bytes reach the client in the
  // order the build wrote them.
  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, write_end.fd, 1);
  posix_spawn_file_actions_adddup2(&setup.actions, write_end.fd, 2);
  posix_spawn_file_actions_addchdir_np(&setup.actions, spec.folder.c_str());
  sigset_t none, defaults;
  sigemptyset(&none);
  sigfillset(&defaults);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  const std::string script = spec.folder + "/build.sh";  // $0, as the reference's path.join(cwd, 'build.sh')
  std::vector<std::string> args{"/bin/sh", "-c", spec.command, script, spec.id};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = build_environment(spec.env);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/bin/sh", &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0) {
    out.error = std::string("cannot start the build: ") + std::strerror(rc);
    return out;
  }
  out.started = true;
  group_.store(pid);
  if (killed_.load()) ::kill(-pid, SIGKILL);
  write_end.reset();

  const auto deadline = std::chrono::steady_clock::now() + spec.timeout;
  char buf[64 * 1024];
  bool reading = true;
  int status = 0;
  bool exited = false;
  while (!exited) {
    if (std::chrono::steady_clock::now() >= deadline && !out.timed_out) {
      out.timed_out = true;
      kill();
    }
    if (reading) {
      pollfd p{read_end.fd, POLLIN, 0};
      const int n = ::poll(&p, 1, 200);
      if (n > 0) {
        const ssize_t r = ::read(read_end.fd, buf, sizeof buf);
        if (r > 0) {
          if (!sink(std::string_view(buf, static_cast<std::size_t>(r)))) {
            reading = false;
            kill();
          }
          continue;
        }
        if (r == 0 || (errno != EINTR && errno != EAGAIN)) reading = false;
        continue;
      }
    }
    // Nothing to read for a while (or the pipe is closed): has it exited?
    // A build that leaves a process behind holding the pipe ends here too.
    const pid_t w = ::waitpid(pid, &status, reading ? WNOHANG : 0);
    if (w == pid) exited = true;
    else if (w < 0 && errno != EINTR) break;
  }
  // Whatever is still in the pipe after the shell exited.
  if (reading) {
    ::fcntl(read_end.fd, F_SETFL, O_NONBLOCK);
    for (ssize_t r; (r = ::read(read_end.fd, buf, sizeof buf)) > 0;)
      if (!sink(std::string_view(buf, static_cast<std::size_t>(r)))) break;
  }
  group_.store(0);
  if (!exited) {
    out.error = std::string("lost track of the build: ") + std::strerror(errno);
    return out;
  }
  describe_end(out, status);
  if (out.timed_out) {
    out.error = "the build did not finish within " + std::to_string(spec.timeout.count()) + " s and was killed";
  } else if (killed_.load() && out.error.empty()) {
    out.error = "the build was stopped";
  }
  return out;
}

void BuildProcess::kill() {
  killed_.store(true);
  const pid_t g = group_.load();
  if (g > 0) ::kill(-g, SIGKILL);
}

}  // namespace hms::hub
