#include "ssh_tunnel.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>
#include <vector>

#include "dial.hpp"
#include "text.hpp"

namespace hms::cli {

namespace {

std::vector<std::string> ssh_command() {
  std::vector<std::string> cmd;
  if (const char* s = std::getenv("HMS_SSH"); s && *s) {
    std::istringstream in(s);
    for (std::string w; in >> w;) cmd.push_back(w);
  }
  if (cmd.empty()) cmd.push_back("ssh");
  return cmd;
}

// Exit status text of a reaped child.
std::string status_text(int st) {
  if (WIFEXITED(st)) return "exit code " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return std::string("signal ") + sigabbrev_np(WTERMSIG(st));
  return "status " + std::to_string(st);
}

}  // namespace

Outcome<std::unique_ptr<SshTunnel>> SshTunnel::open(const Remote& r, std::chrono::milliseconds ready_within) {
  std::unique_ptr<SshTunnel> t(new SshTunnel());
  char tmpl[] = "/tmp/hms-ssh-XXXXXX";
  if (!::mkdtemp(tmpl)) return Failure{fs_error(errno, "mkdtemp", tmpl)};
  t->dir_ = tmpl;
  t->sock_ = t->dir_ + "/hub.sock";

  std::vector<std::string> argv = ssh_command();
  const std::string forward = t->sock_ + ":127.0.0.1:" + std::to_string(r.port);
  for (const char* a : {"-N", "-T", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes", "-o",
                        "ConnectTimeout=15", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=2", "-L"})
    argv.emplace_back(a);
  argv.push_back(forward);
  argv.push_back("-p");
  argv.push_back(std::to_string(r.ssh->port));
  if (r.key) {
    argv.push_back("-i");
    argv.push_back(*r.key);
  }
  argv.push_back("-l");
  argv.push_back(r.ssh->user);
  argv.push_back("--");
  argv.push_back(r.ssh->host);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Failure{"fork " + errno_name(errno)};
  if (pid == 0) {
    // Dies with us, even by SIGKILL. (The race with a parent that died
    // before prctl is closed by the getppid check.)
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    ::execvp(cargv[0], cargv.data());
    const std::string msg = "hms: cannot run " + argv[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, msg.data(), msg.size());
    _exit(127);
  }
  t->pid_ = pid;

  // Up when the forwarding socket accepts a connection.
  const Deadline deadline = after(ready_within);
  const std::string who = r.ssh->user + "@" + r.ssh->host;
  for (;;) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      t->pid_ = -1;
      return Failure{"ssh to " + who + " failed (" + status_text(st) + ")"};
    }
    if (::access(t->sock_.c_str(), F_OK) == 0) {
      DialTarget dt;
      dt.unix_path = t->sock_;
      if (dial(dt, after(std::chrono::milliseconds(500)))) break;
    }
    if (Clock::now() >= deadline) return Failure{"ssh to " + who + ": no tunnel within " + duration_text(ready_within)};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return t;
}

SshTunnel::~SshTunnel() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    const Deadline d = after(std::chrono::seconds(2));
    int st = 0;
    while (::waitpid(pid_, &st, WNOHANG) == 0) {
      if (Clock::now() >= d) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  if (!sock_.empty()) ::unlink(sock_.c_str());
  if (!dir_.empty()) ::rmdir(dir_.c_str());
}

}  // namespace hms::cli
