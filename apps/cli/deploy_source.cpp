#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>
#include <vector>

#include "deploy_steps.hpp"
#include "http_client.hpp"
#include "remote.hpp"
#include "text.hpp"

extern char** environ;

namespace hms::cli {

using namespace std::chrono_literals;

std::string find_git_root(const std::string& cwd) {
  std::string dir = cwd;
  while (!dir.empty() && dir != "/") {
    struct stat st;
    if (::stat((dir + "/.git").c_str(), &st) == 0) return dir;
    const std::size_t slash = dir.rfind('/');
    if (slash == std::string::npos) break;
    dir.resize(slash == 0 ? 1 : slash);
  }
  return {};
}

std::optional<std::string> git_describe() {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {"git", "describe", "--always", nullptr};
  pid_t pid;
  const int rc = ::posix_spawnp(&pid, "git", &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    return std::nullopt;
  }
  std::string text;
  const Deadline d = after(10s);
  const int fl = fcntl(out[0], F_GETFL);
  fcntl(out[0], F_SETFL, fl | O_NONBLOCK);
  bool timed_out = false;
  for (;;) {
    char buf[4096];
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n > 0) {
      if (text.size() < (64u << 10)) text.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) break;
    if (Clock::now() >= d) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  ::close(out[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (timed_out || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return std::nullopt;
  return std::string(js_trim(text));
}

TempFile::~TempFile() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

Outcome<bool> TempFile::create(std::string_view id) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string safe;
  for (char c : id) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  std::string p = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/hms-" + safe + "-XXXXXX.tgz";
  const int fd = ::mkstemps(p.data(), 4);
  if (fd < 0) return Failure{fs_error(errno, "open", p)};
  ::close(fd);
  path_ = std::move(p);
  return true;
}

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Outcome<bool> write_all_fd(int fd, const char* p, std::size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Failure{fs_error(errno, "write", path)};
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

Outcome<std::uint64_t> copy_stdin(const std::string& path) {
  Fd out;
  out.fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (out.fd < 0) return Failure{fs_error(errno, "open", path)};
  std::vector<char> buf(256 << 10);
  std::uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Failure{fs_error(errno, "read", "stdin")};
    if (n == 0) break;
    if (auto w = write_all_fd(out.fd, buf.data(), static_cast<std::size_t>(n), path); !w) return Failure{w.error()};
    total += static_cast<std::uint64_t>(n);
  }
  return total;
}

Outcome<std::uint64_t> check_file(const std::string& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return Failure{fs_error(errno, "open", path)};
  struct stat st;
  if (::fstat(f.fd, &st) != 0) return Failure{fs_error(errno, "fstat", path)};
  if (S_ISDIR(st.st_mode)) return Failure{fs_error(EISDIR, "read", {})};
  return static_cast<std::uint64_t>(st.st_size);
}

Outcome<std::uint64_t> download(const std::string& start_url, const std::string& path,
                                std::chrono::milliseconds idle) {
  std::string url = start_url;
  for (int hop = 0; hop <= 5; ++hop) {
    if (url.rfind("http://", 0) != 0)
      return Failure{"only http:// URLs can be downloaded (" + url + "): fetch it and use --file"};
    std::string rest = url.substr(7);
    const std::size_t slash = rest.find('/');
    const std::string authority = rest.substr(0, slash);
    const std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
    auto r = parse_remote(authority, 80);
    if (!r || r->ssh) return Failure{"Invalid URL " + url};
    HttpRoute route;
    route.host = r->host;
    route.port = r->port;
    auto c = HttpClient::connect(route, after(15s));
    if (!c) return Failure{c.error()};
    if (auto w = c->send("GET " + target + " HTTP/1.1\r\nHost: " + authority + "\r\nConnection: close\r\n\r\n"); !w)
      return Failure{w.error()};
    auto head = c->read_head(idle);
    if (!head) return Failure{head.error()};
    const int s = head->status;
    const std::string_view location = head->field("location");
    if ((s == 301 || s == 302 || s == 303 || s == 307 || s == 308) && location.data()) {
      url = std::string(location);
      if (url.rfind("/", 0) == 0) url = "http://" + authority + url;
      continue;
    }
    if (s != 200) return Failure{"HTTP " + std::to_string(s) + " from " + url};
    Fd out;
    out.fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (out.fd < 0) return Failure{fs_error(errno, "open", path)};
    std::uint64_t total = 0;
    std::string werr;
    auto body = c->read_body(head.value(), idle, [&](std::string_view piece) {
      auto w = write_all_fd(out.fd, piece.data(), piece.size(), path);
      if (!w) {
        werr = w.error();
        return false;
      }
      total += piece.size();
      return true;
    });
    if (!werr.empty()) return Failure{werr};
    if (!body) return Failure{body.error()};
    return total;
  }
  return Failure{"too many redirects from " + start_url};
}

}  // namespace hms::cli
