#include "harness/hub_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "harness/raw.hpp"

extern char** environ;

namespace hms::attack {

std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    }
  }
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/hms-attack-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Flags default_flags() {
  const Deadlines& d = kDeadline;
  return {
      {"--address", "127.0.0.1"},
      {"--port", "0"},
      // Two shards: commands cross from a client's shard to the control
      // shard, log frames from a dock's shard to a client's.
      {"--threads", "2"},
      {"--log-level", "info"},
      // A small receive ring (8 MiB per shard): the warm-up touches all of
      // it, so the baseline RSS already holds it.
      {"--recv-buffers", "256"},
      {"--ping-interval", std::to_string(d.ping_interval)},
      {"--ping-timeout", std::to_string(d.ping_timeout)},
      {"--handshake-timeout", std::to_string(d.handshake)},
      {"--read-timeout", std::to_string(d.read)},
      {"--dock-timeout", std::to_string(d.dock)},
  };
}

namespace {

// Runs argv, returns its stdout (and stderr), bounded by a few seconds.
std::string run_capture(const std::vector<std::string>& args) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return {};
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(p[1], 1);
    dup2(p[1], 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(p[1]);
  std::string out;
  const auto end = Clock::now() + 20s;
  for (;;) {
    pollfd pf{p[0], POLLIN, 0};
    const auto left = std::chrono::duration_cast<Ms>(end - Clock::now()).count();
    if (left <= 0 || ::poll(&pf, 1, static_cast<int>(left)) <= 0) break;
    char buf[4096];
    const ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(p[0]);
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    int st = 0;
    ::waitpid(pid, &st, 0);
  }
  return out;
}

const std::string& hub_help() {
  static std::once_flag once;
  static std::string help;
  std::call_once(once, [] { help = run_capture({HMS_HUB_BINARY, "--help"}); });
  return help;
}

bool knows(const std::string& help, const std::string& flag) {
  for (std::size_t p = help.find(flag); p != std::string::npos; p = help.find(flag, p + 1)) {
    const std::size_t e = p + flag.size();
    const char after = e < help.size() ? help[e] : ' ';
    const char before = p > 0 ? help[p - 1] : ' ';
    if ((after == ' ' || after == ',' || after == '=' || after == '\n') && before != '-' &&
        !(std::isalnum(static_cast<unsigned char>(before))))
      return true;
  }
  return false;
}

Flags merged(const Flags& over) {
  Flags out = default_flags();
  for (const auto& [k, v] : over) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& f) { return f.first == k; });
    if (it != out.end()) it->second = v;
    else out.emplace_back(k, v);
  }
  return out;
}

std::size_t status_kb(pid_t pid, const char* key) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(in, line))
    if (line.compare(0, n, key) == 0) return std::strtoull(line.c_str() + n, nullptr, 10);
  return 0;
}

}  // namespace

std::vector<std::string> unknown_flags(const Flags& flags) {
  std::vector<std::string> out;
  const std::string& help = hub_help();
  for (const auto& [k, v] : flags)
    if (!knows(help, k)) out.push_back(k);
  return out;
}

HubProcess::HubProcess(const TempDir& dir, const HubConfig& config) {
  ::signal(SIGPIPE, SIG_IGN);
  const Flags all = merged(config.flags);
  const std::vector<std::string> unknown = unknown_flags(all);
  static std::once_flag warned;
  std::call_once(warned, [&] {
    if (unknown.empty()) return;
    std::string names;
    for (const auto& u : unknown) names += " " + u;
    std::cerr << "[attack] hms-hub does not know" << names
              << " yet: hubs start without them, and the attacks that need them fail\n";
  });
  std::vector<std::string> args{HMS_HUB_BINARY, "--db", dir.file("hub.db")};
  for (const auto& [k, v] : all) {
    if (std::find(unknown.begin(), unknown.end(), k) != unknown.end()) continue;
    args.push_back(k);
    if (!v.empty()) args.push_back(v);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "ASAN_OPTIONS=", 13) != 0) env_s.emplace_back(*e);
  // The hub's RSS must mean something under ASan too: a small quarantine
  // (freed blocks are held back only this much) and freed pages handed back
  // to the system soon. Options the caller set come after ours and win.
  std::string asan = "ASAN_OPTIONS=quarantine_size_mb=16:thread_local_quarantine_size_kb=256:"
                     "allocator_release_to_os_interval_ms=100";
  if (const char* mine = std::getenv("ASAN_OPTIONS"); mine && *mine) asan += std::string(":") + mine;
  env_s.push_back(asan);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  log_path_ = dir.file("hub.log");
  const int logfd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int out[2];
  if (logfd < 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("hub log or pipe failed");
  rlimit nofile{}, as{};
  if (config.nofile) nofile = {*config.nofile, *config.nofile};
  if (config.address_space) as = {*config.address_space, *config.address_space};
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Async-signal-safe calls only, up to exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (config.nofile && setrlimit(RLIMIT_NOFILE, &nofile) != 0) _exit(126);
    if (config.address_space && setrlimit(RLIMIT_AS, &as) != 0) _exit(126);
    dup2(out[1], 1);
    dup2(logfd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(logfd);

  // "hms-hub listening on port N"
  std::string line;
  const auto end = Clock::now() + (kSanitized ? 60s : 20s);
  while (line.find('\n') == std::string::npos) {
    pollfd p{out[0], POLLIN, 0};
    const auto left = std::chrono::duration_cast<Ms>(end - Clock::now()).count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[256];
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  const std::string prefix = "hms-hub listening on port ";
  if (line.compare(0, prefix.size(), prefix) != 0) {
    kill9();
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    throw std::runtime_error("hms-hub did not start (" + cmd + "): said '" + line + "', log:\n" + log());
  }
  port_ = static_cast<std::uint16_t>(std::stoi(line.substr(prefix.size())));
}

HubProcess::~HubProcess() { kill9(); }

bool HubProcess::alive() {
  if (pid_ <= 0) return false;
  const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::size_t HubProcess::rss_kb() const { return status_kb(pid_, "VmRSS:"); }
std::size_t HubProcess::hwm_kb() const { return status_kb(pid_, "VmHWM:"); }

std::size_t HubProcess::open_fds() const {
  if (pid_ <= 0) return 0;
  std::size_t n = 0;
  if (DIR* d = opendir(("/proc/" + std::to_string(pid_) + "/fd").c_str())) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n >= 2 ? n - 2 : 0;
}

std::string HubProcess::metrics() const {
  const HttpAnswer a = http_request(port_, "GET /metrics HTTP/1.1\r\nHost: hub\r\n\r\n", 5s);
  return a.body;
}

double HubProcess::metric(std::string_view series) const { return metric_in(metrics(), series); }

double HubProcess::metric_in(const std::string& text, std::string_view series) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    if (line.size() > series.size() && line.substr(0, series.size()) == series && line[series.size()] == ' ')
      return std::strtod(std::string(line.substr(series.size() + 1)).c_str(), nullptr);
    pos = end + 1;
  }
  return -1;
}

std::string HubProcess::log() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t HubProcess::log_lines() const {
  const std::string text = log();
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::string HubProcess::reports() const {
  const std::string text = log();
  std::string out;
  for (const char* mark : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer",
                           "terminate called", "Segmentation fault", "Aborted"}) {
    const std::size_t p = text.find(mark);
    if (p == std::string::npos) continue;
    const std::size_t from = text.rfind('\n', p) == std::string::npos ? 0 : text.rfind('\n', p) + 1;
    out += text.substr(from, 1500) + "\n";
  }
  return out;
}

int HubProcess::stop(Ms limit) {
  if (pid_ <= 0) return status_;
  ::kill(pid_, SIGTERM);
  if (!eventually([&] { return !alive(); }, limit, 20ms)) {
    kill9();
    return -1;
  }
  return status_;
}

void HubProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status_, 0);
  pid_ = -1;
}

rlim_t raise_own_nofile() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur;
}

}  // namespace hms::attack
