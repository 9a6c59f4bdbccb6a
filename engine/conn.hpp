// Internal: a connection's state. Not installed.
//
// Every hms::Connection the engine hands out is a Conn; the public class has
// the methods, this one the state. One reactor thread owns it.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "hms/connection.hpp"
#include "send_queue.hpp"

namespace hms {

class ReactorImpl;

// What the bytes coming in are.
enum class ConnMode : std::uint8_t {
  detect,       // server side, nothing read yet: an HTTP head or raw frames
  server_head,  // reading an HTTP request head
  client_head,  // reading the answer to our CONNECT
  frames,       // hms frames
  bytes,        // plain bytes to on_bytes (a pipe, an HTTP request taken over)
  http_reply,   // a plain HTTP request was answered: input is ignored
};

// The connection's state, one word (as Redis keeps its client flags).
// Loop flags are used by both backends; the backend flags by one each.
enum ConnFlag : std::uint32_t {
  kClosing = 1u << 0,      // no more input processed / output accepted
  kShut = 1u << 1,         // shutdown(2) issued
  kRecvActive = 1u << 2,   // a receive is armed (io_uring) / registered (epoll)
  kSendActive = 1u << 3,   // a send is in flight, or a wait for room
  kWantRoom = 1u << 4,     // kSendActive means: waiting for the socket to have
                           // room (POLLOUT / EPOLLOUT), not a send the kernel holds
  kDirty = 1u << 5,        // on the reactor's flush list
  kFreed = 1u << 6,        // on the reactor's free list
  kAboveHigh = 1u << 7,    // for the on_drain edge
  kWaitBuffers = 1u << 8,  // receive parked for want of buffers
  kAborted = 1u << 9,      // abort(): queued output is dropped, not sent
  kPinner = 1u << 10,      // on the reactor's list of pinning connections
  kViaHttp = 1u << 11,     // came up through an HTTP CONNECT
  kStream = 1u << 12,      // a pipe or file: read(2)-style, never sent to
  kReadEnded = 1u << 13,   // the peer's EOF came in: nothing more to read
  kInPartials = 1u << 14,  // on the reactor's list of partial reads
  kPaused = 1u << 15,      // pause_reading(): no reads until resume_reading()
  // epoll backend
  kRegistered = 1u << 16,  // fd added to the epoll set
  kParked = 1u << 17,      // fd taken out of the set while waiting for buffers
  kDirectStream = 1u << 18, // big frames in a row: assemblies start with room for direct reads
  // io_uring backend
  kCancelAsked = 1u << 24, // a cancel of the send (or room poll) is in flight
};

class Conn final : public Connection {
 public:
  static Conn& of(Connection& c) noexcept { return static_cast<Conn&>(c); }
  static const Conn& of(const Connection& c) noexcept { return static_cast<const Conn&>(c); }

  Conn() = default;
  ~Conn() = default;

  bool has(std::uint32_t f) const noexcept { return (flags & f) != 0; }
  void set(std::uint32_t f) noexcept { flags |= f; }
  void clear(std::uint32_t f) noexcept { flags &= ~f; }

  ReactorImpl* loop = nullptr;
  ConnectionHandler* handler = nullptr;
  int fd = -1;
  std::uint64_t id = 0;
  std::uint32_t flags = 0;
  ConnMode mode = ConnMode::frames;
  std::string peer_name;
  ConnectionOptions opts;
  CloseInfo close_info;
  const ListenOptions* listen_opts = nullptr;  // accepted: the listener's

  // ---- receive: a partial frame or HTTP head carried to the next read.
  BufRef asm_block;             // assembly block (grows as bytes arrive)
  std::size_t asm_len = 0;      // bytes in it
  std::size_t asm_need = 0;     // bytes the frame needs (kHeaderSize until the header is in)
  std::size_t asm_reserved = 0; // bytes of the partial budget it holds
  std::string head;             // HTTP head bytes
  // When the frame or head now partly read began (read_timeout); {}: none.
  std::chrono::steady_clock::time_point partial_since{};

  // ---- send
  SendQueue out;
  std::size_t high_water = 4u << 20;
  std::chrono::steady_clock::time_point soft_since{};
  std::size_t in_flight_segs = 0;  // segments covered by the send in flight
  msghdr msg{};
  std::unique_ptr<iovec[]> iov;

  // ---- timers (TimerId, 0: none)
  std::uint64_t soft_timer = 0;   // re-checks the soft limit
  std::uint64_t close_timer = 0;  // close_timeout
  std::uint64_t room_timer = 0;   // io_uring: room wait by timer

  Conn* next_free = nullptr;
};

}  // namespace hms
