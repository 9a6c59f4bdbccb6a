#include "dock/spawner.hpp"

#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "hms/log.hpp"

namespace hms::dock {

namespace {

// Sends two descriptors with one byte.
bool send_fds(int sock, int a, int b) {
  char byte = 1;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(2 * sizeof(int));
  const int fds[2] = {a, b};
  std::memcpy(CMSG_DATA(c), fds, sizeof fds);
  for (;;) {
    const ssize_t n = ::sendmsg(sock, &m, MSG_NOSIGNAL);
    if (n == 1) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

bool recv_fds(int sock, int* a, int* b) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  for (;;) {
    const ssize_t n = ::recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1) return false;
    break;
  }
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(2 * sizeof(int))) return false;
  int fds[2];
  std::memcpy(fds, CMSG_DATA(c), sizeof fds);
  *a = fds[0];
  *b = fds[1];
  return true;
}

}  // namespace

Spawner::Spawner(int stdin_fd) : stdin_fd_(stdin_fd) {
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock_) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  thread_ = std::thread([this] { loop(); });
  std::unique_lock l(mu_);
  cv_.wait(l, [&] { return ready_; });
}

Spawner::~Spawner() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  ::close(sock_[0]);
  ::close(sock_[1]);
}

Spawned Spawner::spawn(const std::vector<std::string>& argv, const std::string& cwd,
                       const std::vector<std::string>& env) {
  if (!unshared_) return spawn_process(argv, cwd, env, stdin_fd_);
  Request r{&argv, &cwd, &env, {}, false, false};
  {
    std::unique_lock l(mu_);
    request_ = &r;
    cv_.notify_all();
    cv_.wait(l, [&] { return r.done; });
  }
  if (r.result.pid > 0 && (!r.handed || !recv_fds(sock_[0], &r.result.out, &r.result.err))) {
    // The child runs but its output cannot be read: say so; it is
    // supervised all the same (its pipes closed, it gets SIGPIPE on write).
    HMS_LOG(error, "spawn: the output pipes of pid %d were lost in hand-over", static_cast<int>(r.result.pid));
    r.result.out = r.result.err = -1;
  }
  return r.result;
}

void Spawner::loop() {
  // A table of our own: a copy of the dock's now, while it is small.
  const bool ok = ::unshare(CLONE_FILES) == 0;
  if (!ok) HMS_LOG(warn, "spawn: unshare(CLONE_FILES) failed (%s): starting services from the reactor", std::strerror(errno));
  {
    std::lock_guard l(mu_);
    unshared_ = ok;
    ready_ = true;
  }
  cv_.notify_all();
  if (!ok) return;
  for (;;) {
    Request* r = nullptr;
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [&] { return stop_ || request_; });
      if (stop_) return;
      r = std::exchange(request_, nullptr);
    }
    Spawned s = spawn_process(*r->argv, *r->cwd, *r->env, stdin_fd_);
    bool handed = false;
    if (s.pid > 0) {
      handed = send_fds(sock_[1], s.out, s.err);
      if (!handed) HMS_LOG(error, "spawn: cannot hand the output pipes over: %s", std::strerror(errno));
      ::close(s.out);
      ::close(s.err);
      s.out = s.err = -1;
    }
    {
      std::lock_guard l(mu_);
      r->result = s;
      r->handed = handed;
      r->done = true;
    }
    cv_.notify_all();
  }
}

}  // namespace hms::dock
