#include "dock/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace hms::dock {

namespace {

std::string find_program(const std::string& name, const std::vector<std::string>& env, const std::string& cwd) {
  if (name.find('/') != std::string::npos) return name;
  std::string_view path = "/usr/local/bin:/usr/bin:/bin";
  if (const char* p = std::getenv("PATH")) path = p;
  for (const auto& e : env)
    if (e.compare(0, 5, "PATH=") == 0) path = std::string_view(e).substr(5);
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = path.find(':', start);
    const std::string_view dir =
        path.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    // An empty entry means the current folder. A relative entry is
    // relative to the child's cwd, where exec will look after the chdir.
    std::string candidate;
    candidate.append(dir.empty() ? std::string_view(".") : dir).append("/").append(name);
    std::string probe;
    if (candidate[0] != '/' && !cwd.empty()) probe.append(cwd).append("/");
    probe.append(candidate);
    if (::access(probe.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return {};
}

}  // namespace

Spawned spawn_process(const std::vector<std::string>& argv, const std::string& cwd,
                      const std::vector<std::string>& env, int stdin_fd) {
  Spawned r;
  if (argv.empty()) {
    r.error = EINVAL;
    r.what = "empty command";
    return r;
  }
  const std::string program = find_program(argv[0], env, cwd);
  if (program.empty()) {
    r.error = ENOENT;
    r.what = "spawn " + argv[0];
    return r;
  }
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    r.error = errno;
    r.what = "pipe";
    return r;
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    r.error = errno;
    r.what = "pipe";
    ::close(out[0]);
    ::close(out[1]);
    return r;
  }

  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  cenv.reserve(env.size() + 1);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  // dup2 clears O_CLOEXEC on the copies; every other descriptor of the
  // dock is O_CLOEXEC and does not reach the service.
  posix_spawn_file_actions_adddup2(&fa, stdin_fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());

  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setpgroup(&at, 0);  // a group of its own, led by the child
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &fa, &at, cargv.data(), cenv.data());
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    r.error = rc;
    r.what = "spawn " + argv[0];
    return r;
  }
  r.pid = pid;
  r.out = out[0];
  r.err = err[0];
  return r;
}

}  // namespace hms::dock
