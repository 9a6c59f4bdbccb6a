// Test harness for the dock: temporary folders, tarballs built with
// libarchive, and child processes (hms-dock, hms-hub, node) whose output is
// read line by line.
//
// Nothing here may hang ctest or leak a process: every wait has a
// deadline; a process is ended by its pid when its runner goes (SIGTERM
// first for a dock, so it stops its services; then SIGKILL), and every
// service process group a dock reported ("spawned <pid>") is killed too.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace hms::docktest {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline constexpr std::chrono::milliseconds kWait = 10s;

// ------------------------------------------------------------------ files

// A private folder under /tmp, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hms-dock-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    // Unpacked builds may hold read-only folders: make them writable first.
    for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->is_directory(ec) && !it->is_symlink(ec))
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, std::string_view content, mode_t mode = 0644) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  ::chmod(path.c_str(), mode);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls `pred` until it holds or `timeout` passes (a condition wait with a
// deadline; for state that lives in another process).
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// A TCP port that was free a moment ago (bound to port 0, then closed).
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// ------------------------------------------------------------------ tarballs

struct TarEntry {
  enum Kind { file, dir, symlink, hardlink } kind = file;
  std::string name;
  std::string data;  // file content, or the link target
  mode_t mode = 0644;
};

// A gzip'd tar (ustar/pax, as tar-fs writes), built with libarchive.
inline std::string make_tarball(const std::vector<TarEntry>& entries, bool gzip = true) {
  archive* a = archive_write_new();
  if (gzip) archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  std::size_t used = 0;
  std::string buf(std::size_t{64} << 20, '\0');
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  for (const auto& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.name.c_str());
    archive_entry_set_perm(ae, e.mode);
    archive_entry_set_mtime(ae, 1700000000, 0);
    switch (e.kind) {
      case TarEntry::file:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, static_cast<la_int64_t>(e.data.size()));
        break;
      case TarEntry::dir:
        archive_entry_set_filetype(ae, AE_IFDIR);
        break;
      case TarEntry::symlink:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, e.data.c_str());
        break;
      case TarEntry::hardlink:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_hardlink(ae, e.data.c_str());
        break;
    }
    archive_write_header(a, ae);
    if (e.kind == TarEntry::file && !e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  buf.resize(used);
  return buf;
}

// A build with one start script (run with sh).
inline std::string script_tarball(const std::string& script, const std::vector<TarEntry>& more = {}) {
  std::vector<TarEntry> e{{TarEntry::dir, ".", "", 0755}, {TarEntry::file, "run.sh", script, 0755}};
  e.insert(e.end(), more.begin(), more.end());
  return make_tarball(e);
}

// ------------------------------------------------------------------ processes

// A child process in its own process group, its stdout (and stderr, unless
// kept apart) read line by line on a thread. Ended when the runner goes:
// SIGTERM and up to `term_wait` for it to exit (a dock stops its services
// then), else SIGKILL to its group; then SIGKILL to every group it
// reported as "spawned <pid>".
class Proc {
 public:
  struct Options {
    std::string cwd;
    std::vector<std::string> env;        // KEY=VALUE added (or replacing)
    std::chrono::milliseconds term_wait{5000};
    bool merge_stderr = true;
  };

  Proc(const std::string& path, const std::vector<std::string>& args, Options o) : opts_(std::move(o)) {
    ::signal(SIGPIPE, SIG_IGN);
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> argv_s{path};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) {
      const std::string kv(*e);
      const std::string key = kv.substr(0, kv.find('=') + 1);
      bool replaced = false;
      for (const auto& add : opts_.env) replaced = replaced || add.compare(0, key.size(), key) == 0;
      if (!replaced) env_s.push_back(kv);
    }
    env_s.insert(env_s.end(), opts_.env.begin(), opts_.env.end());
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (opts_.merge_stderr) posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    if (!opts_.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, opts_.cwd.c_str());
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setpgroup(&at, 0);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    const int rc = ::posix_spawn(&pid_, path.c_str(), &fa, &at, argv.data(), envp.data());
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      pid_ = -1;
      throw std::runtime_error("cannot start " + path + ": " + std::strerror(rc));
    }
    fd_ = out[0];
    reader_ = std::thread([this] { read_loop(); });
  }

  ~Proc() {
    end();
    reader_.join();
    ::close(fd_);
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;

  pid_t pid() const { return pid_; }

  // SIGTERM, then SIGKILL after `wait`; reaps. Returns the wait status
  // (or -1 if it had to be killed).
  int end(std::chrono::milliseconds wait = std::chrono::milliseconds(-1)) {
    if (wait.count() < 0) wait = opts_.term_wait;
    int result = status_;
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      if (!wait_exit(wait, &result)) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        pid_ = -1;
        result = -1;
      }
    }
    kill_services();
    return result;
  }
  // SIGKILL now (a crash), without stopping the services.
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    pid_ = -1;
  }
  bool wait_exit(std::chrono::milliseconds timeout, int* status) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0) {
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    if (status) *status = status_;
    return true;
  }

  // The first line (from `from` on) that `pred` accepts, waiting up to
  // `timeout`; nullopt if none came. Lines are kept: waits may look back.
  std::optional<std::string> wait_line(const std::function<bool(const std::string&)>& pred,
                                       std::chrono::milliseconds timeout = kWait, std::size_t from = 0) {
    std::unique_lock l(mu_);
    std::optional<std::string> found;
    cv_.wait_for(l, timeout, [&] {
      for (std::size_t i = from; i < lines_.size(); ++i)
        if (pred(lines_[i])) {
          found = lines_[i];
          return true;
        }
      return eof_;
    });
    return found;
  }
  std::optional<std::string> wait_for_text(const std::string& text, std::chrono::milliseconds timeout = kWait,
                                           std::size_t from = 0) {
    return wait_line([&](const std::string& l) { return l.find(text) != std::string::npos; }, timeout, from);
  }
  std::size_t count_lines(const std::string& text) {
    std::lock_guard l(mu_);
    std::size_t n = 0;
    for (const auto& line : lines_) n += line.find(text) != std::string::npos;
    return n;
  }
  // Waits until the output ended (the process closed it), up to `timeout`.
  bool wait_eof(std::chrono::milliseconds timeout = kWait) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [&] { return eof_; });
  }
  // Every line so far, each followed by a newline.
  std::string text() {
    std::lock_guard l(mu_);
    std::string t;
    for (const auto& line : lines_) t += line + "\n";
    return t;
  }
  std::size_t line_count() {
    std::lock_guard l(mu_);
    return lines_.size();
  }
  std::string transcript() {
    std::lock_guard l(mu_);
    std::string t;
    for (const auto& line : lines_) t += "  | " + line + "\n";
    return t;
  }
  std::vector<pid_t> service_pids() {
    std::lock_guard l(mu_);
    return {spawned_.begin(), spawned_.end()};
  }

 private:
  void read_loop() {
    std::string pending;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buf, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        add(pending.substr(0, nl));
        pending.erase(0, nl + 1);
      }
    }
    if (!pending.empty()) add(pending);
    std::lock_guard l(mu_);
    eof_ = true;
    cv_.notify_all();
  }
  void add(std::string line) {
    std::lock_guard l(mu_);
    // "[dock] [svc] spawned 1234": a service group to clean up later.
    const std::string mark = "] spawned ";
    if (auto p = line.find(mark); p != std::string::npos && line.rfind("[dock] [", 0) == 0) {
      const long pid = std::strtol(line.c_str() + p + mark.size(), nullptr, 10);
      if (pid > 1) spawned_.insert(static_cast<pid_t>(pid));
    }
    lines_.push_back(std::move(line));
    cv_.notify_all();
  }
  void kill_services() {
    std::set<pid_t> pids;
    {
      std::lock_guard l(mu_);
      pids = spawned_;
    }
    // Their own groups (the dock makes one per service); gone already when
    // the dock stopped them.
    for (pid_t p : pids) ::kill(-p, SIGKILL);
  }

  Options opts_;
  pid_t pid_ = -1;
  int status_ = 0;
  int fd_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::set<pid_t> spawned_;
  bool eof_ = false;
};

inline bool process_alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

}  // namespace hms::docktest
