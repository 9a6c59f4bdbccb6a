#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace hms::clitest {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> make_env(const RunOptions& o) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& u : o.unset) env.erase(u);
  for (const auto& [k, v] : o.env) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

struct Spawned {
  pid_t pid = -1;
  int out = -1, err = -1, in = -1;  // our ends (err = -1 on a pty)
};

Spawned spawn(const std::vector<std::string>& argv, const RunOptions& o) {
  int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
  int master = -1, slave = -1;
  if (o.tty) {
    winsize ws{};
    ws.ws_row = 40;
    ws.ws_col = 120;
    if (openpty(&master, &slave, nullptr, nullptr, &ws) != 0) throw std::runtime_error("openpty failed");
    fcntl(master, F_SETFD, FD_CLOEXEC);
    fcntl(slave, F_SETFD, FD_CLOEXEC);
  } else {
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe failed");
  }
  if (o.stdin_data && pipe2(in, O_CLOEXEC)) throw std::runtime_error("pipe failed");

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (o.stdin_data) posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  else posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (o.tty) {
    posix_spawn_file_actions_adddup2(&fa, slave, 1);
    posix_spawn_file_actions_adddup2(&fa, slave, 2);
  } else {
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  }
  if (!o.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, o.cwd.c_str());
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  posix_spawnattr_setpgroup(&at, 0);  // its own group: killed as one
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&at, &none);
  sigset_t deflt;
  sigemptyset(&deflt);
  sigaddset(&deflt, SIGPIPE);
  sigaddset(&deflt, SIGINT);
  sigaddset(&deflt, SIGTERM);
  posix_spawnattr_setsigdefault(&at, &deflt);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> envs = make_env(o);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  Spawned s;
  const int rc = posix_spawnp(&s.pid, cargv[0], &fa, &at, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  if (o.tty) {
    ::close(slave);
    s.out = master;
  } else {
    ::close(out[1]);
    ::close(err[1]);
    s.out = out[0];
    s.err = err[0];
  }
  if (o.stdin_data) {
    ::close(in[0]);
    s.in = in[1];
  }
  return s;
}

int decode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

// Kills the group: SIGTERM (or `sig`), then SIGKILL after `grace`; reaps.
int kill_group(pid_t pid, int sig, std::chrono::milliseconds grace) {
  ::kill(-pid, sig);
  const auto deadline = Clock::now() + grace;
  int st = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (r < 0) return -1;
    if (Clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  ::kill(-pid, SIGKILL);  // anything the child left in its group
  return decode_status(st);
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, const RunOptions& o) {
  Spawned s = spawn(argv, o);
  if (s.in >= 0) {
    // Small inputs only (tests): written before reading, then closed.
    const std::string& d = *o.stdin_data;
    for (std::size_t off = 0; off < d.size();) {
      const ssize_t w = ::write(s.in, d.data() + off, d.size() - off);
      if (w <= 0) break;
      off += static_cast<std::size_t>(w);
    }
    ::close(s.in);
  }
  RunResult r;
  const auto deadline = Clock::now() + o.timeout;
  std::vector<pollfd> fds;
  fds.push_back({s.out, POLLIN, 0});
  if (s.err >= 0) fds.push_back({s.err, POLLIN, 0});
  int open = static_cast<int>(fds.size());
  while (open > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    if (::poll(fds.data(), fds.size(), static_cast<int>(left)) < 0 && errno != EINTR) break;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {  // EIO on a pty once the child is gone
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  if (r.timed_out) {
    r.code = kill_group(s.pid, SIGKILL, 3s);
  } else {
    int st = 0;
    // The pipes closed; the exit follows (bounded anyway).
    const auto d2 = Clock::now() + o.timeout;
    while (::waitpid(s.pid, &st, WNOHANG) == 0) {
      if (Clock::now() >= d2) {
        r.timed_out = true;
        r.code = kill_group(s.pid, SIGKILL, 3s);
        return r;
      }
      std::this_thread::sleep_for(1ms);
    }
    r.code = decode_status(st);
    ::kill(-s.pid, SIGKILL);  // nothing of it outlives the run
  }
  return r;
}

// ---------------------------------------------------------------- Background

struct Background::Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::string out, err;
  bool eof = false;
  std::thread reader;
  int out_fd = -1, err_fd = -1;
  std::optional<int> code;
};

Background::Background(const std::vector<std::string>& argv, const RunOptions& o) : sh_(new Shared) {
  Spawned s = spawn(argv, o);
  pid_ = s.pid;
  if (s.in >= 0) {
    const std::string& d = *o.stdin_data;
    (void)!::write(s.in, d.data(), d.size());
    ::close(s.in);
  }
  sh_->out_fd = s.out;
  sh_->err_fd = s.err;
  Shared* sh = sh_;
  sh->reader = std::thread([sh] {
    std::vector<pollfd> fds{{sh->out_fd, POLLIN, 0}};
    if (sh->err_fd >= 0) fds.push_back({sh->err_fd, POLLIN, 0});
    int open = static_cast<int>(fds.size());
    while (open > 0) {
      if (::poll(fds.data(), fds.size(), 200) < 0 && errno != EINTR) break;
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[65536];
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n > 0) {
          std::lock_guard l(sh->mu);
          (i == 0 ? sh->out : sh->err).append(buf, static_cast<std::size_t>(n));
          sh->cv.notify_all();
        } else if (n == 0 || errno != EINTR) {
          fds[i].fd = -1;
          --open;
        }
      }
    }
    std::lock_guard l(sh->mu);
    sh->eof = true;
    sh->cv.notify_all();
  });
}

Background::~Background() {
  stop();
  delete sh_;
}

bool Background::wait_out(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds d) {
  std::unique_lock l(sh_->mu);
  return sh_->cv.wait_for(l, d, [&] { return pred(sh_->out) || sh_->eof; }) && pred(sh_->out);
}

std::optional<int> Background::wait_exit(std::chrono::milliseconds d) {
  if (sh_->code) return sh_->code;
  const auto deadline = Clock::now() + d;
  int st = 0;
  while (Clock::now() < deadline) {
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      sh_->code = decode_status(st);
      {
        std::unique_lock l(sh_->mu);
        sh_->cv.wait_for(l, 5s, [&] { return sh_->eof; });
      }
      return sh_->code;
    }
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}

int Background::stop(int sig) {
  if (!sh_->code) sh_->code = kill_group(pid_, sig, 3s);
  else ::kill(-pid_, SIGKILL);
  if (sh_->reader.joinable()) sh_->reader.join();
  if (sh_->out_fd >= 0) ::close(sh_->out_fd), sh_->out_fd = -1;
  if (sh_->err_fd >= 0) ::close(sh_->err_fd), sh_->err_fd = -1;
  return *sh_->code;
}

std::string Background::out() {
  std::lock_guard l(sh_->mu);
  return sh_->out;
}

std::string Background::err() {
  std::lock_guard l(sh_->mu);
  return sh_->err;
}

// ---------------------------------------------------------------- files

TempDir::TempDir() {
  char tmpl[] = "/tmp/hms-cli-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::mkdir(const std::string& name) const {
  std::filesystem::create_directories(file(name));
  return file(name);
}

void TempDir::write(const std::string& name, const std::string& text) const {
  std::filesystem::create_directories(std::filesystem::path(file(name)).parent_path());
  std::ofstream(file(name), std::ios::binary) << text;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

namespace {
bool can_bind_any(int port) {  // on every address, as a hub and its dock bind
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

int free_port_pair() {
  for (int tries = 0; tries < 100; ++tries) {
    const int p = free_port();
    if (p < 65535 && can_bind_any(p) && can_bind_any(p + 1)) return p;
  }
  return free_port();  // the test then fails on the bind, saying so
}

}  // namespace hms::clitest
