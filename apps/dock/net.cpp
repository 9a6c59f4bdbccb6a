#include "dock/net.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "hms/http.hpp"

namespace hms::dock {

namespace {

constexpr auto kSlice = std::chrono::milliseconds(200);

const char* errno_name(int e) {
  switch (e) {
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case EPIPE: return "EPIPE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    default: return nullptr;
  }
}

std::string describe(const char* what, int e, const std::string& where) {
  const char* name = errno_name(e);
  return std::string(what) + " " + (name ? name : std::strerror(e)) + " " + where;
}

// Waits for `events` on fd until the deadline; 1 ready, 0 timed out or
// cancelled (error set), -1 poll failed.
int wait_for(int fd, short events, Deadline d, std::string* error, const char* what) {
  for (;;) {
    if (d.cancel && d.cancel->load(std::memory_order_relaxed)) {
      *error = std::string(what) + ": cancelled";
      return 0;
    }
    const auto now = Clock::now();
    if (now >= d.at) {
      *error = std::string(what) + ": timed out";
      return 0;
    }
    const auto left = std::min<Clock::duration>(d.at - now, kSlice);
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()) + 1);
    if (rc > 0) return 1;
    if (rc < 0 && errno != EINTR) {
      *error = std::string(what) + ": " + std::strerror(errno);
      return -1;
    }
  }
}

}  // namespace

int connect_tcp(const HubAddress& to, Deadline d, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(to.port);
  const int g = ::getaddrinfo(to.host == "localhost" ? "127.0.0.1" : to.host.c_str(), port.c_str(), &hints, &res);
  if (g != 0) {
    *error = "getaddrinfo " + std::string(g == EAI_NONAME ? "ENOTFOUND" : gai_strerror(g)) + " " + to.host;
    return -1;
  }
  int last = ECONNREFUSED;
  std::string last_error;
  for (addrinfo* a = res; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    if (errno != EINPROGRESS) {
      last = errno;
      ::close(fd);
      continue;
    }
    const int w = wait_for(fd, POLLOUT, d, &last_error, ("connect " + to.text()).c_str());
    if (w <= 0) {
      ::close(fd);
      ::freeaddrinfo(res);
      *error = last_error;
      return -1;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    last = soerr;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  *error = describe("connect", last, to.text());
  return -1;
}

bool send_all(int fd, std::string_view data, Deadline d, std::string* error) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_for(fd, POLLOUT, d, error, "send") <= 0) return false;
      continue;
    }
    *error = describe("write", errno, "");
    return false;
  }
  return true;
}

long recv_some(int fd, void* buf, std::size_t n, Deadline d, std::string* error, int flags) {
  for (;;) {
    const ssize_t r = ::recv(fd, buf, n, flags);
    if (r >= 0) return static_cast<long>(r);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_for(fd, POLLIN, d, error, "read") <= 0) return -1;
      continue;
    }
    *error = describe("read", errno, "");
    return -1;
  }
}

bool upgrade(int fd, const HubAddress& to, std::string_view origin, Deadline d, std::string* error) {
  // The reference dock's exact head (Node's http.request with a CONNECT
  // method and an origin header).
  std::string head = "CONNECT / HTTP/1.1\r\norigin: ";
  head.append(origin);
  head += "\r\nHost: " + to.text() + "\r\nConnection: keep-alive\r\n\r\n";
  if (!send_all(fd, head, d, error)) return false;
  // Peek until the blank line is in, then take exactly the head.
  char buf[kMaxHeadSize];
  for (;;) {
    const long n = recv_some(fd, buf, sizeof buf, d, error, MSG_PEEK);
    if (n < 0) return false;
    if (n == 0) {
      *error = "socket hang up";
      return false;
    }
    ResponseHead rh;
    const HttpResult r = parse_response_head(buf, static_cast<std::size_t>(n), &rh);
    if (r.status == HttpStatus::error) {
      *error = std::string("bad answer to CONNECT (") + to_string(r.error) + ")";
      return false;
    }
    if (r.status == HttpStatus::complete) {
      const long taken = recv_some(fd, buf, r.size, d, error);
      if (taken != static_cast<long>(r.size)) {
        if (error->empty()) *error = "socket hang up";
        return false;
      }
      if (rh.status != 101) {
        *error = "the hub refused the upgrade (HTTP " + std::to_string(rh.status) + ")";
        return false;
      }
      return true;
    }
    // Need more: wait for bytes beyond what is peeked already.
    if (static_cast<std::size_t>(n) >= sizeof buf) {
      *error = "answer to CONNECT too long";
      return false;
    }
    // A peek sees the same bytes (and poll says readable) until more
    // arrive: back off briefly. Rare: the whole head comes in one segment.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (Clock::now() >= d.at) {
      *error = "read: timed out";
      return false;
    }
  }
}

}  // namespace hms::dock
