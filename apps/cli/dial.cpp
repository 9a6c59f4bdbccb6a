#include "dial.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hms/http.hpp"
#include "text.hpp"

namespace hms::cli {

namespace {

// Rounded up: a poll never gives up before the deadline.
int remaining_ms(Deadline d) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(d - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// poll() until `events` or the deadline; EINTR restarts with the time left.
bool wait_for(int fd, short events, Deadline d) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, remaining_ms(d));
    if (r > 0) return true;
    if (r == 0 && Clock::now() >= d) return false;
    if (r < 0 && errno != EINTR) return true;  // let the read/write report it
  }
}

std::string address_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = "?";
  std::uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    port = ntohs(in6->sin6_port);
  }
  return std::string(buf) + ":" + std::to_string(port);
}

// One non-blocking connect, finished by the deadline. Returns 0 or errno.
int connect_one(int fd, const sockaddr* sa, socklen_t len, Deadline d) {
  if (::connect(fd, sa, len) == 0) return 0;
  if (errno != EINPROGRESS && errno != EINTR) return errno;
  if (!wait_for(fd, POLLOUT, d)) return ETIMEDOUT;
  int err = 0;
  socklen_t el = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) return errno;
  return err;
}

}  // namespace

void Socket::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Socket::wait_readable(Deadline d) const { return wait_for(fd_, POLLIN, d); }

Outcome<std::size_t> Socket::read_some(char* buf, std::size_t n, Deadline d) {
  for (;;) {
    const ssize_t r = ::recv(fd_, buf, n, 0);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return Failure{"read " + errno_name(errno)};
    if (!wait_for(fd_, POLLIN, d)) return Failure{"read ETIMEDOUT"};
  }
}

Outcome<bool> Socket::write_all(iovec* iov, int count, Deadline d) {
  while (count > 0) {
    if (iov->iov_len == 0) {
      ++iov, --count;
      continue;
    }
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = static_cast<std::size_t>(count);
    const ssize_t w = ::sendmsg(fd_, &m, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return Failure{"write " + errno_name(errno)};
      if (!wait_for(fd_, POLLOUT, d)) return Failure{"write ETIMEDOUT"};
      continue;
    }
    auto left = static_cast<std::size_t>(w);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov, --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

Outcome<bool> Socket::write_all(std::string_view s, Deadline d) {
  iovec v{const_cast<char*>(s.data()), s.size()};
  return write_all(&v, 1, d);
}

Outcome<Socket> dial(const DialTarget& t, Deadline d) {
  if (!t.unix_path.empty()) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    if (t.unix_path.size() >= sizeof un.sun_path) return Failure{"connect ENAMETOOLONG " + t.unix_path};
    std::memcpy(un.sun_path, t.unix_path.data(), t.unix_path.size());
    Socket s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) return Failure{"socket " + errno_name(errno)};
    if (int e = connect_one(s.fd(), reinterpret_cast<sockaddr*>(&un), sizeof un, d))
      return Failure{"connect " + errno_name(e) + " " + t.unix_path};
    return s;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // A literal address needs no name service (nor AI_ADDRCONFIG's netlink
  // round trip): the common `hms list 127.0.0.1` stays cheap.
  in6_addr probe;
  const bool literal = inet_pton(AF_INET, t.host.c_str(), &probe) == 1 || inet_pton(AF_INET6, t.host.c_str(), &probe) == 1;
  hints.ai_flags = literal ? AI_NUMERICHOST : AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(t.port);
  // getaddrinfo has no deadline of its own; the resolver's (resolv.conf
  // timeout x attempts) bounds it. Literal addresses never reach DNS.
  if (int rc = ::getaddrinfo(t.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    const char* code = rc == EAI_AGAIN ? "EAI_AGAIN" : rc == EAI_SYSTEM ? "EAI_SYSTEM" : "ENOTFOUND";
    return Failure{std::string("getaddrinfo ") + code + " " + t.host};
  }
  std::string error = "connect ENOTFOUND " + t.host;
  Socket out;
  for (addrinfo* a = res; a; a = a->ai_next) {
    Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
    if (!s) {
      error = "socket " + errno_name(errno);
      continue;
    }
    const int e = connect_one(s.fd(), a->ai_addr, a->ai_addrlen, d);
    if (e == 0) {
      const int one = 1;
      setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      out = std::move(s);
      break;
    }
    error = "connect " + errno_name(e) + " " + address_text(a->ai_addr);
    if (e == ETIMEDOUT) break;  // the deadline is spent
  }
  ::freeaddrinfo(res);
  if (!out) return Failure{error};
  return out;
}

Outcome<bool> http_connect(Socket& s, std::string_view host_header, Deadline d) {
  std::string head = "CONNECT / HTTP/1.1\r\nHost: ";
  head += host_header;
  head += "\r\nConnection: keep-alive\r\n\r\n";
  if (auto w = s.write_all(head, d); !w) return w;
  // Read exactly the response head: peek, and consume only up to its end,
  // so the frames behind it stay in the socket for the engine.
  std::string got;
  char buf[1024];
  for (;;) {
    if (!s.wait_readable(d)) return Failure{"socket hang up (no answer to CONNECT in time)"};
    const ssize_t n = ::recv(s.fd(), buf, sizeof buf, MSG_PEEK);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Failure{"read " + errno_name(errno)};
    }
    if (n == 0) return Failure{"socket hang up"};
    const std::size_t old = got.size();
    got.append(buf, static_cast<std::size_t>(n));
    // The end of the head: a blank line (CRLF, or a bare LF as Node takes).
    std::size_t end = std::string::npos;
    for (std::size_t i = old > 3 ? old - 3 : 0; i < got.size(); ++i) {
      if (got[i] != '\n') continue;
      if (i >= 1 && got[i - 1] == '\n') end = i + 1;
      else if (i >= 2 && got[i - 1] == '\r' && got[i - 2] == '\n') end = i + 1;
      if (end != std::string::npos) break;
    }
    const std::size_t take = end == std::string::npos ? static_cast<std::size_t>(n) : end - old;
    got.resize(old + take);
    for (std::size_t left = take; left > 0;) {
      const ssize_t r = ::recv(s.fd(), buf, std::min(left, sizeof buf), 0);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        return Failure{"socket hang up"};
      }
      left -= static_cast<std::size_t>(r);
    }
    if (end != std::string::npos) break;
    if (got.size() > kMaxHeadSize) return Failure{"Parse Error: the answer to CONNECT is not HTTP"};
  }
  ResponseHead rh;
  const HttpResult r = parse_response_head(got.data(), got.size(), &rh);
  if (r.status != HttpStatus::complete)
    return Failure{std::string("Parse Error: ") + to_string(r.error) + " in the answer to CONNECT"};
  return true;
}

}  // namespace hms::cli
