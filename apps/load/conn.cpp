#include "conn.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace hms::load {

HubAddress resolve_hub(const std::string& text) {
  HubAddress a;
  if (text.starts_with("unix:") || text.find('/') != std::string::npos) {
    const std::string path = text.starts_with("unix:") ? text.substr(5) : text;
    sockaddr_un un{};
    if (path.empty() || path.size() >= sizeof un.sun_path)
      throw std::invalid_argument("bad unix socket path '" + path + "'");
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path.data(), path.size());
    std::memcpy(&a.addr, &un, sizeof un);
    a.len = sizeof un;
    a.tcp = false;
    a.host_header = "localhost";
    return a;
  }
  std::string host, port;
  if (text.starts_with("[")) {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw std::invalid_argument("expected [v6-address]:port, got '" + text + "'");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (const auto colon = text.rfind(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  } else {
    port = text;  // a bare port: this machine
  }
  // As the engine connects: the wildcard and "localhost" mean IPv4 loopback
  // (getaddrinfo may put ::1 first, where an IPv4 hub does not listen).
  if (host.empty() || host == "0.0.0.0" || host == "localhost") host = "127.0.0.1";
  if (host == "::") host = "::1";
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (const int e = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); e != 0 || !res)
    throw std::invalid_argument("cannot resolve '" + text + "': " + ::gai_strerror(e));
  std::memcpy(&a.addr, res->ai_addr, res->ai_addrlen);
  a.len = res->ai_addrlen;
  ::freeaddrinfo(res);
  a.host_header = host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
  return a;
}

int start_connect(const HubAddress& hub) {
  const int fd = ::socket(hub.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (hub.tcp) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&hub.addr), hub.len) != 0 && errno != EINPROGRESS) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int connect_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

bool flush_out(Conn& c) {
  while (c.out_off < c.out.size()) {
    const ssize_t w = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    c.out_off += static_cast<std::size_t>(w);
  }
  c.out.clear();
  c.out_off = 0;
  return true;
}

bool send_bytes(Conn& c, const void* data, std::size_t n) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  if (c.out_empty() && c.state != Conn::State::connecting) {
    while (n) {
      const ssize_t w = ::send(c.fd, p, n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
        break;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  c.out.insert(c.out.end(), p, p + n);
  return true;
}

std::string connect_head(const HubAddress& hub, std::string_view origin) {
  // The reference dock's exact head, header order and case included.
  std::string head = "CONNECT / HTTP/1.1\r\n";
  if (!origin.empty()) head.append("origin: ").append(origin).append("\r\n");
  head.append("Host: ").append(hub.host_header).append("\r\nConnection: keep-alive\r\n\r\n");
  return head;
}

void append_message(std::vector<std::uint8_t>& out, FrameType type, std::uint16_t request_id, Opcode op,
                    std::string_view id, std::string_view body) {
  const std::size_t at = out.size();
  const std::size_t head = message_head_size(id.size());
  out.resize(at + head + body.size());
  encode_message_head(out.data() + at, type, request_id, op, id, body.size());
  if (!body.empty()) std::memcpy(out.data() + at + head, body.data(), body.size());
}

void append_frame(std::vector<std::uint8_t>& out, FrameType type, std::uint16_t request_id,
                  std::string_view body) {
  const std::size_t at = out.size();
  out.resize(at + kHeaderSize + body.size());
  encode_header(out.data() + at, type, request_id, static_cast<std::uint32_t>(body.size()));
  if (!body.empty()) std::memcpy(out.data() + at + kHeaderSize, body.data(), body.size());
}

std::string hex_sample(const std::uint8_t* p, std::size_t n) {
  std::string s;
  char b[4];
  for (std::size_t i = 0; i < n && i < 16; ++i) {
    std::snprintf(b, sizeof b, i ? " %02x" : "%02x", p[i]);
    s += b;
  }
  return s;
}

}  // namespace hms::load
