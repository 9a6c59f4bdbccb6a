// One nonblocking socket of hms-load and the bytes around it: the
// unfinished frame of the last read, and what the kernel has not taken yet.
//
// Plain sockets and epoll, not the engine: the load generator must cost
// less per frame than the hub it measures, and it needs nothing of the
// engine but the codec's frame layout (hms/frame.hpp, hms/http.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hms/frame.hpp"
#include "shared.hpp"

namespace hms::load {

struct Conn {
  enum class State : std::uint8_t {
    connecting,  // nonblocking connect in progress
    upgrading,   // CONNECT head (and the first request) sent, 101 not read yet
    open,        // frames both ways
    closed,      // fd closed; the object lives on until the worker ends
  };
  int fd = -1;
  State state = State::connecting;
  bool is_dock = false;
  // The bytes of the last read that did not make a whole frame (or HTTP
  // head): put in front of the next read.
  std::vector<std::uint8_t> partial;
  // Bytes the unfinished frame needs in all, when its header is in: the
  // read buffer grows to it (a control reply may be larger than the buffer).
  std::size_t need = 0;
  // Bytes queued behind what the kernel took: sent on EPOLLOUT. A dock
  // writes stream frames only while this is empty.
  std::vector<std::uint8_t> out;
  std::size_t out_off = 0;

  bool out_empty() const noexcept { return out_off == out.size(); }
};

// Starts a nonblocking connect (TCP_NODELAY on TCP, as the engine sets on
// every connection). Returns the socket, or -1 with errno set.
int start_connect(const HubAddress& hub);
// The outcome of a finished nonblocking connect: 0 or an errno value.
int connect_error(int fd);

// Sends what c.out holds. False on a socket error (errno set); true when
// everything went or the kernel's buffer is full (EPOLLOUT resumes it).
bool flush_out(Conn& c);
// Sends n bytes behind whatever is queued; what the kernel does not take now
// is queued. Same result as flush_out.
bool send_bytes(Conn& c, const void* data, std::size_t n);

// The CONNECT head of a reference dock (`origin` set) or client (empty).
std::string connect_head(const HubAddress& hub, std::string_view origin);
// Appends one frame: an hms message (request or one-way) with id and body,
// or a reply/error/ping with a plain body.
void append_message(std::vector<std::uint8_t>& out, FrameType type, std::uint16_t request_id, Opcode op,
                    std::string_view id, std::string_view body);
void append_frame(std::vector<std::uint8_t>& out, FrameType type, std::uint16_t request_id,
                  std::string_view body);

// Up to 16 bytes as hex, for protocol error messages.
std::string hex_sample(const std::uint8_t* p, std::size_t n);

}  // namespace hms::load
