// Blocking socket calls with deadlines, for the dock's worker threads (the
// hub connection attempt, tarball downloads). Never used on the reactor
// thread. Every call gives up at its deadline, or soon after `cancel`
// becomes true (checked at least every 200 ms), with an error message in
// the words Node would use ("connect ECONNREFUSED 127.0.0.1:10002").
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "dock/options.hpp"

namespace hms::dock {

using Clock = std::chrono::steady_clock;

struct Deadline {
  Clock::time_point at;
  const std::atomic<bool>* cancel = nullptr;  // may be null
};

// A connected TCP socket (non-blocking, O_CLOEXEC, TCP_NODELAY), or -1.
int connect_tcp(const HubAddress& to, Deadline d, std::string* error);
bool send_all(int fd, std::string_view data, Deadline d, std::string* error);
// Up to n bytes: > 0 read, 0 at end of stream, -1 on error or deadline.
// `flags` as recv(2) (MSG_PEEK).
long recv_some(int fd, void* buf, std::size_t n, Deadline d, std::string* error, int flags = 0);

// The hms transport: sends the reference dock's CONNECT head (with
// `origin: <dock id>`) and reads the answer's head, leaving every byte
// behind it in the socket (it already belongs to the protocol). Accepts any
// status, as the reference does, but a non-101 answer is an error here:
// nothing but an hms hub answers 101 with Upgrade: hms-protocol.
bool upgrade(int fd, const HubAddress& to, std::string_view origin, Deadline d, std::string* error);

}  // namespace hms::dock
