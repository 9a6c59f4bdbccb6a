// Internal: the I/O backend interface. Not installed.
//
// As Redis' `ae` keeps each event API behind a handful of functions
// (ae_epoll.c, ae_kqueue.c), the loop (loop.cpp) speaks to the kernel only
// through this class: one file per backend, io_uring (backend_uring.cpp)
// and epoll (backend_epoll.cpp). A backend reports what happened by calling
// the loop's event functions (ReactorImpl::on_accepted, on_data,
// on_recv_end, on_send_done, on_room, on_buffers_short).
//
// ### user_data / epoll data layout (written down once)
// The pointer of the object the event is for, with the kind of operation in
// the low 3 bits (every object is at least 8-byte aligned).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "block_pool.hpp"
#include "hms/reactor.hpp"

namespace hms {

class Conn;
class ReactorImpl;
struct Listener;

enum class OpTag : std::uint64_t {
  recv = 1,    // Conn*: multishot recv (or read, for a stream) / epoll readiness
  send = 2,    // Conn*: sendmsg
  accept = 3,  // Listener*: multishot accept / epoll readiness
  wake = 4,    // the reactor's eventfd
  ignore = 5,  // cancel and other completions nobody waits for
  room = 6,    // Conn*: POLLOUT poll after a send found the socket full
};
inline constexpr std::uint64_t kTagMask = 7;

inline std::uint64_t make_ud(const void* p, OpTag t) noexcept {
  return reinterpret_cast<std::uint64_t>(p) | static_cast<std::uint64_t>(t);
}
inline OpTag ud_tag(std::uint64_t ud) noexcept { return static_cast<OpTag>(ud & kTagMask); }
inline void* ud_ptr(std::uint64_t ud) noexcept { return reinterpret_cast<void*>(ud & ~kTagMask); }

class IoBackend : public BufferSink {
 public:
  virtual ~IoBackend() = default;
  virtual Backend kind() const noexcept = 0;

  // On the loop thread, when run() starts (io_uring enables its ring).
  virtual void start() = 0;

  // ---- listeners
  virtual void add_listener(Listener& l) = 0;
  // Before the listener's descriptor is closed.
  virtual void remove_listener(Listener& l) = 0;

  // ---- connections
  // Starts receiving (c.fd is non-blocking). Throws std::system_error.
  virtual void add(Conn& c) = 0;
  // Receive buffers are free again: receive on a parked connection.
  virtual void resume_recv(Conn& c) = 0;
  // pause_reading() / resume_reading(): kPaused has just been set or
  // cleared. Reads already in the kernel may still complete after a pause.
  virtual void pause_recv(Conn& c) = 0;
  virtual void unpause_recv(Conn& c) = 0;
  // The connection closes: no more input wanted (epoll drops EPOLLIN).
  virtual void reads_stopped(Conn& c) = 0;
  // After shutdown(2): end the receive (its end makes kRecvActive clear).
  virtual void end_recv(Conn& c) = 0;
  // Sends c.msg (c.in_flight_segs segments); completes with on_send_done.
  virtual void send(Conn& c) = 0;
  // The socket was full: wait for room; completes with on_room.
  virtual void wait_room(Conn& c) = 0;
  // Takes back the send or room wait in flight, where it can.
  virtual void cancel_send(Conn& c) = 0;
  // Whether the kernel holds the iovecs of a send in flight (they must stay).
  virtual bool kernel_holds_send(const Conn& c) const noexcept = 0;

  // ---- the wait
  // Blocks until an event or the timeout (ms, -1: none), refreshes the
  // loop's `now`, then dispatches every event to the loop. Returns the
  // nanoseconds spent blocked in the kernel.
  virtual std::int64_t wait(int timeout_ms) = 0;
};

// Each returns nullptr with `why` when the kernel refuses (old kernel,
// seccomp, io_uring disabled).
std::unique_ptr<IoBackend> make_uring_backend(ReactorImpl& loop, const ReactorOptions& opts,
                                              int wake_fd, std::string* why);
std::unique_ptr<IoBackend> make_epoll_backend(ReactorImpl& loop, const ReactorOptions& opts,
                                              int wake_fd);

}  // namespace hms
