// Sockets with deadlines: connecting to a hub (TCP by name, or a unix
// socket behind an ssh tunnel), blocking reads and writes that give up at a
// deadline, and the HTTP CONNECT upgrade the protocol starts with.
//
// Errors read as Node's, which is what users of the reference know:
// "getaddrinfo ENOTFOUND demo", "connect ECONNREFUSED 127.0.0.1:22999",
// "socket hang up" (closed before answering), "read ECONNRESET",
// "write EPIPE". A deadline that passes says which wait it was, e.g.
// "connect ETIMEDOUT 10.0.0.1:10002".
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "outcome.hpp"

namespace hms::cli {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
inline Deadline after(std::chrono::milliseconds d) { return Clock::now() + d; }

// An owned, non-blocking socket descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { reset(); }
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int fd() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset() noexcept;
  explicit operator bool() const noexcept { return fd_ >= 0; }

  // Waits for the socket to be readable (true) or the deadline (false).
  bool wait_readable(Deadline d) const;
  // Reads what is there (at least one byte), 0 at end of stream.
  Outcome<std::size_t> read_some(char* buf, std::size_t n, Deadline d);
  // Writes every byte of the iovecs (they are consumed as they go out).
  Outcome<bool> write_all(iovec* iov, int count, Deadline d);
  Outcome<bool> write_all(std::string_view s, Deadline d);

 private:
  int fd_ = -1;
};

struct DialTarget {
  std::string host;       // a name or a literal address (tcp)
  std::uint16_t port = 0;
  std::string unix_path;  // set: a unix socket instead (ssh tunnel)
};

// Resolves and connects (each address in turn), by the deadline.
Outcome<Socket> dial(const DialTarget& t, Deadline d);

// Sends `CONNECT / HTTP/1.1` (with the reference client's headers, Host:
// `host_header`) and reads the answer's head, not one byte further: what
// follows is already the protocol. Like Node, any status is accepted (the
// reference answers 101).
Outcome<bool> http_connect(Socket& s, std::string_view host_header, Deadline d);

}  // namespace hms::cli
