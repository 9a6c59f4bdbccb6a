#include "interop/node_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

extern char** environ;

namespace hms::interop {

// ---------------------------------------------------------------- Line

Line::Line(std::string text, std::size_t index) : text_(std::move(text)), index_(index) {
  parser_ = std::make_shared<simdjson::dom::parser>();
  // parse() copies into padded memory when the string lacks the padding.
  valid_ = parser_->parse(text_).get(root_) == simdjson::SUCCESS;
}

simdjson::simdjson_result<simdjson::dom::element> Line::at(std::string_view pointer) const {
  if (!valid_) return simdjson::NO_SUCH_FIELD;
  return root_.at_pointer(pointer);
}

bool Line::has(std::string_view pointer) const { return at(pointer).error() == simdjson::SUCCESS; }

bool Line::is_null(std::string_view pointer) const {
  auto e = at(pointer);
  return e.error() == simdjson::SUCCESS && e.value_unsafe().is_null();
}

bool Line::is_string(std::string_view pointer) const {
  auto e = at(pointer);
  return e.error() == simdjson::SUCCESS && e.value_unsafe().is_string();
}

std::string Line::str(std::string_view pointer) const {
  std::string_view s;
  if (at(pointer).get(s) != simdjson::SUCCESS) return {};
  return std::string(s);
}

std::int64_t Line::num(std::string_view pointer, std::int64_t fallback) const {
  auto e = at(pointer);
  if (e.error() != simdjson::SUCCESS) return fallback;
  std::int64_t i;
  if (e.value_unsafe().get(i) == simdjson::SUCCESS) return i;
  std::uint64_t u;
  if (e.value_unsafe().get(u) == simdjson::SUCCESS) return static_cast<std::int64_t>(u);
  return fallback;
}

bool Line::flag(std::string_view pointer) const {
  bool b = false;
  return at(pointer).get(b) == simdjson::SUCCESS && b;
}

bool Line::is_number() const { return valid_ && root_.is_number(); }

// ---------------------------------------------------------------- process

NodeProcess::NodeProcess(const std::string& node, const std::string& node_path,
                         const std::string& script, const std::vector<std::string>& args,
                         std::chrono::seconds limit) {
  // A write to a child that already died must fail with EPIPE, not kill the
  // test binary.
  ::signal(SIGPIPE, SIG_IGN);

  int in[2], out[2];
  // CLOEXEC on every end: only the dup2'ed copies reach the child, so a
  // child never holds another child's pipe open (its EOF would never come).
  if (::pipe2(in, O_CLOEXEC) != 0) {
    error_ = std::string("pipe2: ") + std::strerror(errno);
    return;
  }
  if (::pipe2(out, O_CLOEXEC) != 0) {
    error_ = std::string("pipe2: ") + std::strerror(errno);
    ::close(in[0]);
    ::close(in[1]);
    return;
  }

  std::vector<std::string> argv_s = {node, script};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  // NODE_PATH points at the reference package we installed; a developer's
  // NODE_OPTIONS (--inspect, --require ...) must not change the agent.
  std::vector<std::string> env_s;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "NODE_PATH=", 10) != 0 && std::strncmp(*e, "NODE_OPTIONS=", 13) != 0)
      env_s.emplace_back(*e);
  env_s.push_back("NODE_PATH=" + node_path);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, node.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    error_ = "posix_spawn " + node + ": " + std::strerror(rc);
    ::close(in[1]);
    ::close(out[0]);
    return;
  }
  pid_ = pid;
  in_fd_ = in[1];
  out_fd_ = out[0];
  reader_ = std::thread([this] { read_loop(); });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  watchdog_ = std::thread([this, deadline] { watchdog_loop(deadline); });
}

NodeProcess::~NodeProcess() {
  if (pid_ <= 0) return;
  // Closing stdin is the agent's signal to exit (readline 'close').
  ::close(in_fd_);
  in_fd_ = -1;
  {
    std::unique_lock l(mu_);
    if (!cv_.wait_for(l, std::chrono::seconds(5), [&] { return eof_; })) {
      // Still running: our own child, by pid, never by name.
      ::kill(pid_, SIGKILL);
    }
    stopping_ = true;
  }
  cv_.notify_all();
  // The watchdog stops before the child is reaped, so it can never signal
  // a pid the kernel has handed to another process.
  watchdog_.join();
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reader_.join();
  ::close(out_fd_);
}

void NodeProcess::watchdog_loop(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock l(mu_);
  if (cv_.wait_until(l, deadline, [&] { return stopping_; })) return;
  killed_ = true;
  ::kill(pid_, SIGKILL);
}

void NodeProcess::read_loop() {
  std::string pending;
  char buf[65536];
  std::size_t count = 0;
  for (;;) {
    const ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    std::vector<Line> fresh;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
      fresh.emplace_back(pending.substr(start, nl - start), count++);
    pending.erase(0, start);
    if (!fresh.empty()) {
      std::lock_guard l(mu_);
      for (auto& f : fresh) {
        lines_.push_back(std::move(f));
        taken_.push_back(false);
      }
      cv_.notify_all();
    }
  }
  std::lock_guard l(mu_);
  if (!pending.empty()) {
    lines_.emplace_back(pending, count++);
    taken_.push_back(false);
  }
  eof_ = true;
  cv_.notify_all();
}

bool NodeProcess::send(std::string_view line) {
  if (in_fd_ < 0) return false;
  std::string data(line);
  data.push_back('\n');
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(in_fd_, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

Line NodeProcess::wait(const std::function<bool(const Line&)>& match,
                       std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock l(mu_);
  std::size_t scanned = 0;
  for (;;) {
    for (; scanned < lines_.size(); ++scanned) {
      if (!taken_[scanned] && match(lines_[scanned])) {
        taken_[scanned] = true;
        return lines_[scanned];
      }
    }
    if (eof_) return {};
    if (cv_.wait_until(l, deadline) == std::cv_status::timeout && scanned == lines_.size())
      return {};
  }
}

bool NodeProcess::any(const std::function<bool(const Line&)>& match) const {
  std::lock_guard l(mu_);
  for (const auto& line : lines_)
    if (match(line)) return true;
  return false;
}

std::string NodeProcess::transcript(std::size_t last) const {
  std::lock_guard l(mu_);
  std::ostringstream s;
  s << "node pid " << pid_ << (eof_ ? ", output ended" : ", running")
    << (killed_ ? ", killed by the watchdog" : "") << "; " << lines_.size() << " lines";
  const std::size_t from = lines_.size() > last ? lines_.size() - last : 0;
  if (from) s << ", the last " << last;
  s << ":\n";
  for (std::size_t i = from; i < lines_.size(); ++i) {
    const std::string& t = lines_[i].text();
    s << "  " << (t.size() > 300 ? t.substr(0, 300) + "..." : t) << "\n";
  }
  return s.str();
}

}  // namespace hms::interop
