// Test helper: a blocking raw socket on the far side of an engine
// connection, so tests can see (and forge) the exact bytes on the wire.
// Frames are read with the codec's decode_frame(), the same decoder the
// engine uses, so what a test checks is what a reference peer would see.
//
// Every blocking call is bounded by a receive/send timeout: a test that
// waits for bytes the engine never sends fails instead of hanging ctest.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hms/frame.hpp"

namespace hms::test {

inline constexpr auto kIoTimeout = std::chrono::seconds(10);

// One decoded frame, owning its bytes (header included).
struct RawFrame {
  std::string bytes;  // header + body, exactly as received
  FrameType type = FrameType::message;
  std::uint16_t request_id = 0;
  std::uint8_t opcode = 0;      // messages only
  std::string id;               // messages only
  std::string payload;          // messages: the payload; others: the body
  std::string body() const { return bytes.substr(kHeaderSize); }
};

inline std::optional<RawFrame> parse_one(std::string_view bytes,
                                         const DecodeLimits& lim = {}) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const DecodeResult r = decode_frame(p, bytes.size(), lim);
  if (r.status != DecodeStatus::frame || r.size != bytes.size()) return std::nullopt;
  RawFrame f;
  f.bytes = std::string(bytes);
  f.type = r.frame.header.type;
  f.request_id = r.frame.header.request_id;
  if (r.frame.is_message()) {
    f.opcode = r.frame.message.opcode;
    f.id = std::string(r.frame.message.id);
    f.payload = std::string(r.frame.message.payload_text());
  } else {
    f.payload = std::string(r.frame.body_text());
  }
  return f;
}

// ---- Frame builders (byte-exact with the reference's layout).

inline std::string frame_bytes(FrameType t, std::uint16_t rid, std::string_view body) {
  std::string out(kHeaderSize, '\0');
  encode_header(reinterpret_cast<std::uint8_t*>(out.data()), t, rid,
                static_cast<std::uint32_t>(body.size()));
  out.append(body);
  return out;
}

inline std::string message_bytes(FrameType t, std::uint16_t rid, Opcode op, std::string_view id,
                                 std::string_view payload) {
  std::string out(message_head_size(id.size()), '\0');
  encode_message_head(reinterpret_cast<std::uint8_t*>(out.data()), t, rid, op, id,
                      payload.size());
  out.append(payload);
  return out;
}

inline std::string hex_to_bytes(std::string_view hex) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex digit");
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(nib(hex[i]) << 4 | nib(hex[i + 1])));
  return out;
}

// The golden vectors: every case's name and its "hex" bytes, in file order.
// (A plain scan, not a JSON parser: the file is machine-written and each
// case has exactly one "name" and one "hex" member, in that order.)
inline std::vector<std::pair<std::string, std::string>> load_vectors() {
  std::ifstream in(std::string(HMS_TEST_DATA) + "/hms-protocol-1.2.3.json");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  auto string_after = [&](std::string_view key, std::size_t from, std::size_t* end) {
    const std::size_t k = text.find(key, from);
    if (k == std::string::npos) return std::string();
    const std::size_t q = text.find('"', k + key.size());
    const std::size_t e = text.find('"', q + 1);
    *end = e + 1;
    return text.substr(q + 1, e - q - 1);
  };
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = text.find("\"cases\"");
  while (pos != std::string::npos) {
    const std::size_t k = text.find("\"name\":", pos);
    if (k == std::string::npos) break;
    std::size_t after = 0;
    std::string name = string_after("\"name\":", k, &after);
    std::string hex = string_after("\"hex\":", after, &after);
    out.emplace_back(std::move(name), hex_to_bytes(hex));
    pos = after;
  }
  return out;
}

inline std::string vector_bytes(std::string_view name) {
  for (auto& [n, b] : load_vectors())
    if (n == name) return b;
  throw std::runtime_error("no vector " + std::string(name));
}

// ---- Sockets.

class RawSocket {
 public:
  RawSocket() = default;
  explicit RawSocket(int fd) : fd_(fd) { set_timeouts(); }
  RawSocket(RawSocket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  RawSocket& operator=(RawSocket&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~RawSocket() { close(); }

  // rcvbuf > 0 shrinks the receive buffer before connecting, so a test that
  // stops reading makes the sender's queue grow after little data.
  static RawSocket connect_tcp(std::uint16_t port, int rcvbuf = 0, const char* host = "127.0.0.1") {
    sockaddr_storage ss{};
    socklen_t len;
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
      a4->sin_family = AF_INET;
      a4->sin_port = htons(port);
      len = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons(port);
      len = sizeof *a6;
    } else {
      throw std::invalid_argument("bad host");
    }
    const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket");
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      ::close(fd);
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    }
    return RawSocket(fd);
  }

  static RawSocket connect_unix(const std::string& path) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path.data(), path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0) {
      ::close(fd);
      throw std::runtime_error(std::string("connect unix: ") + std::strerror(errno));
    }
    return RawSocket(fd);
  }

  int fd() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Close with RST instead of FIN (SO_LINGER 0).
  void reset() {
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  bool write_all(std::string_view bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Exactly n bytes, or false on EOF, error or timeout.
  bool read_exact(std::string* out, std::size_t n) {
    out->resize(n);
    std::size_t done = 0;
    while (done < n) {
      const ssize_t r = ::recv(fd_, out->data() + done, n - done, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      done += static_cast<std::size_t>(r);
    }
    return true;
  }

  std::optional<RawFrame> read_frame() {
    std::string head;
    if (!read_exact(&head, kHeaderSize)) return std::nullopt;
    const std::uint32_t len = load_u32(reinterpret_cast<const std::uint8_t*>(head.data()) + 3);
    std::string body;
    if (len && !read_exact(&body, len)) return std::nullopt;
    return parse_one(head + body);
  }

  // Everything until the peer closes. *reset tells whether it ended with
  // ECONNRESET rather than a clean EOF (a server that closes with unread
  // input queued sends RST, which may also discard the tail of its output).
  std::string read_to_eof(bool* reset = nullptr) {
    std::string all;
    char buf[16384];
    if (reset) *reset = false;
    for (;;) {
      const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == ECONNRESET && reset) *reset = true;
      if (r <= 0) break;
      all.append(buf, static_cast<std::size_t>(r));
    }
    return all;
  }

  // True when the peer closed (EOF or RST) within the timeout; any bytes
  // still arriving first are skipped.
  bool wait_closed() {
    char buf[16384];
    for (;;) {
      const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }

 private:
  void set_timeouts() {
    timeval tv{};
    tv.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(kIoTimeout).count();
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  int fd_ = -1;
};

// A plain blocking listener on 127.0.0.1 (or a unix path) for the engine to
// connect to.
class RawListener {
 public:
  RawListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0)
      throw std::runtime_error("raw listener");
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~RawListener() { ::close(fd_); }
  RawListener(const RawListener&) = delete;
  RawListener& operator=(const RawListener&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

  // Waits (bounded) for one connection.
  RawSocket accept() {
    pollfd p{fd_, POLLIN, 0};
    const int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(kIoTimeout).count());
    if (::poll(&p, 1, ms) != 1) return RawSocket();
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return RawSocket();
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return RawSocket(fd);
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace hms::test
