// Hub test harness, part 3: a raw blocking socket for byte-level checks
// (every call has a timeout), and a one-shot HTTP GET.
#pragma once

#include "hub/harness_basics.hpp"

namespace hms::hubtest {

// ------------------------------------------------------------------ raw socket

// A blocking loopback TCP socket with send/receive timeouts.
class RawSocket {
 public:
  // rcvbuf > 0 pins the receive buffer small (set before connect, so TCP
  // advertises a small window and autotuning stays off).
  explicit RawSocket(std::uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      throw std::runtime_error(std::string("connect failed: ") + std::strerror(errno));
    }
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Appends what arrives within `timeout` to buf_; false on EOF or error.
  bool read_some(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return true;
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  // Reads until EOF (or error) or the deadline; true if the stream ended.
  bool read_to_end(std::chrono::milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline)
      if (!read_some(50ms)) return true;
    return false;
  }
  // Reads until buf_ holds `n` bytes or the deadline.
  bool read_at_least(std::size_t n, std::chrono::milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf_.size() < n && std::chrono::steady_clock::now() < deadline)
      if (!read_some(50ms)) break;
    return buf_.size() >= n;
  }
  std::string& buffer() { return buf_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string buf_;
};

// A plain HTTP request on the hub's port; returns {status line, body}.
inline std::pair<std::string, std::string> http_get(std::uint16_t port, const std::string& path) {
  RawSocket s(port);
  s.send_all("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  s.read_to_end();
  const std::string& all = s.buffer();
  const std::size_t eol = all.find("\r\n");
  const std::size_t head_end = all.find("\r\n\r\n");
  if (eol == std::string::npos || head_end == std::string::npos) return {all, ""};
  return {all.substr(0, eol), all.substr(head_end + 4)};
}


}  // namespace hms::hubtest
