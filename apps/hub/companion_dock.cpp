#include "companion_dock.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "hms/log.hpp"

namespace hms::hub {

CompanionDock::CompanionDock(const CompanionSpec& spec, std::uint16_t hub_port) : grace_(spec.grace) {
  if (spec.command.empty()) throw std::runtime_error("--dock: no dock program");
  std::vector<std::string> args = spec.command;
  args.push_back("127.0.0.1:" + std::to_string(hub_port));
  args.push_back("--port");
  args.push_back(std::to_string(hub_port == 65535 ? 0 : hub_port + 1));
  args.push_back("--default");
  for (const auto& t : spec.tags) {
    args.push_back("--tag");
    args.push_back(t);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The dock must not start with the hub's blocked signals.
  sigset_t none;
  sigemptyset(&none);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("--dock: fork failed");
  if (pid_ == 0) {
    // Async-signal-safe calls only, up to exec.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  HMS_LOG(info, "--dock: started %s (pid %d)", args[0].c_str(), static_cast<int>(pid_));
}

CompanionDock::~CompanionDock() { stop(); }

void CompanionDock::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace_;
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid_, &status, WNOHANG);
    if (w == pid_ || (w < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= until) {
      HMS_LOG(warn, "--dock: the dock did not stop within %lld s; killing it", static_cast<long long>(grace_.count()));
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
}

std::string self_program() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

std::string sibling_program(const std::string& name) {
  const std::string self = self_program();
  if (self.empty()) return {};
  const auto p = std::filesystem::path(self).parent_path() / name;
  return ::access(p.c_str(), X_OK) == 0 ? p.string() : std::string();
}

}  // namespace hms::hub
