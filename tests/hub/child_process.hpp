// Hub test harness, part 4: a child process (the hms-hub binary, a Node
// peer) with its stdin/stdout, killed by pid when the runner goes.
#pragma once

#include "hub/harness_basics.hpp"

namespace hms::hubtest {

// ------------------------------------------------------------------ child process

// A child process with its stdout on a pipe, read line by line. Killed with
// SIGKILL (by pid) and reaped when the runner is destroyed; the child also
// gets SIGKILL if this process dies first (PR_SET_PDEATHSIG).
class Child {
 public:
  Child(const std::string& path, const std::vector<std::string>& args,
        const std::vector<std::string>& env_add = {}) {
    // A write to the stdin of a child that died must fail, not kill us.
    ::signal(SIGPIPE, SIG_IGN);
    int out[2], in[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> argv_s;
    argv_s.push_back(path);
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
    env_s.insert(env_s.end(), env_add.begin(), env_add.end());
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // Only async-signal-safe calls from here to exec.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(out[1], 1);
      dup2(in[0], 0);
      execve(path.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    out_ = out[0];
    in_ = in[1];
  }
  ~Child() {
    kill9();
    if (out_ >= 0) ::close(out_);
    if (in_ >= 0) ::close(in_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // read_line() saw the end of the child's stdout.
  bool at_eof() const { return eof_ && buf_.find('\n') == std::string::npos; }

  // SIGKILL and reap; returns the wait status.
  int kill9() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    pid_ = -1;
    return status_;
  }
  // Waits up to `timeout` for the child to exit by itself.
  bool wait_exit(std::chrono::milliseconds timeout, int* status) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // A pidfd becomes readable when the child exits: wait on it, no polling.
    const int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    while (pid_ > 0) {
      const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        break;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        if (pfd >= 0) ::close(pfd);
        return false;
      }
      pollfd p{pfd, POLLIN, 0};
      if (pfd < 0 || ::poll(&p, 1, static_cast<int>(left.count())) < 0) std::this_thread::yield();
    }
    if (pfd >= 0) ::close(pfd);
    if (status) *status = status_;
    return true;
  }

  bool send_line(std::string_view line) {
    std::string l(line);
    l += '\n';
    std::string_view d(l);
    while (!d.empty()) {
      const ssize_t n = ::write(in_, d.data(), d.size());
      if (n <= 0) return false;
      d.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  void close_stdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }

  // Next line of stdout, or nullopt on EOF/timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || eof_) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char tmp[65536];
      const ssize_t n = ::read(out_, tmp, sizeof tmp);
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1, in_ = -1;
  int status_ = 0;
  std::string buf_;
  bool eof_ = false;
};


}  // namespace hms::hubtest
