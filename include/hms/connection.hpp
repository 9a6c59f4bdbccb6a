// hms/connection.hpp: one socket on a reactor, framed.
//
// A Connection turns received bytes into frame views and queues frames for
// sending. It belongs to its reactor and is used on that reactor's thread
// only. It is freed by the reactor after its close completes and after
// ConnectionHandler::on_close() has run; a handler must not touch it after
// that call.
//
// ### Receive path and view lifetime
// on_frame() gets a FrameView pointing into a receive buffer (or, for a frame
// that straddled two buffers, into a heap block it was assembled in once) and
// a BufRef to that storage. The view is valid during the call; to keep the
// bytes longer (e.g. to relay the frame), keep a copy of the BufRef: the
// bytes then stay valid until that BufRef is dropped.
//
// ### Lifetime of a handler
// The handler is not owned: it must outlive the connection or be replaced
// (set_handler) before it goes. on_close() is the last call it gets.
//
// ### Send path
// Generated frames are written into a per-connection scratch block
// (reserve/commit); relayed frames are queued by reference (send_ref), never
// copied, unless the receive pool they came from (this reactor's or
// another's) is running low: then they are copied once, and frames already
// queued by reference anywhere are moved out the same way (counted in
// ReactorStats::pinned_copies), so a slow reader cannot pin the ring. At
// most one send is in flight per socket; queued frames are gathered into one
// sendmsg. A full socket is waited on (POLLOUT / EPOLLOUT), never retried in
// a loop.
//
// ### Output limits
// The queue has a hard limit and a timed soft limit (as Redis' client output
// buffer limits), counted over what waits behind the send in flight (so one
// frame the size of the limit still reaches a reader that keeps up): past
// the hard limit, or above the soft limit for longer than soft_seconds, the
// connection is closed with reason
// "output limit exceeded" and the reactor's slow_disconnects counts it. The
// soft limit is checked by a timer too, so a queue that stops growing but
// never drains is still cut off. Either way the queued output is dropped at
// once (an in-flight send is cancelled): a reader that has stopped would
// never take it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "hms/buffer.hpp"
#include "hms/frame.hpp"
#include "hms/http.hpp"

namespace hms {

class Connection;
class ReactorImpl;

// A plain HTTP request (not CONNECT) on a listening port.
struct HttpRequest {
  RequestHead head;
};
struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

struct OutputLimits {
  std::size_t hard = 32u << 20;                     // 0: none
  std::size_t soft = 8u << 20;                      // 0: none
  std::chrono::seconds soft_seconds{60};
  // close() flushes queued output first; a peer that does not take it
  // within this time is cut off (its output dropped), so a reader that has
  // stopped cannot keep a closing connection alive for ever.
  std::chrono::milliseconds close_timeout{10000};
};

struct ConnectionOptions {
  DecodeLimits decode;
  OutputLimits limits;
  // A frame or HTTP head that has begun must be complete within this time,
  // or the connection is closed (ReactorStats::read_timeouts); 0: no limit.
  // A peer that starts a frame and never finishes it holds memory and a
  // descriptor for ever otherwise. Checked about four times a second.
  std::chrono::milliseconds read_timeout{0};
};

struct ListenOptions {
  ConnectionOptions conn;
  int backlog = 4096;
  bool allow_raw = true;   // frames from the first byte, without CONNECT
  // SO_REUSEPORT: several reactors listen on one port and the kernel spreads
  // new connections across them.
  bool reuse_port = false;
  // Body of the answer to `GET /` (the reference says "hms-terminal 1.x\n").
  std::string banner = "hms\n";
  // Answers plain HTTP requests (not CONNECT) on this port, e.g. GET
  // /metrics. Runs on the reactor thread; when empty, GET / gets the banner
  // and anything else 404. The connection closes after the response.
  std::function<HttpResponse(const HttpRequest&)> http;
  // Asked first for every plain HTTP request. Returning true takes the
  // connection over: the callback has set a handler (Connection::
  // set_handler), the request's body and every later byte go to its
  // on_bytes(), and it answers with send_copy()/send_ref() and close()s when
  // done (a long response, a streamed upload, an event stream). The views
  // in the request are valid during the call only. Returning false leaves
  // the request to `http` (or the banner).
  std::function<bool(Connection&, const HttpRequest&)> http_takeover;
};

struct ConnectOptions {
  ConnectionOptions conn;
  bool upgrade = true;            // send the HTTP CONNECT head first
  std::string origin;             // `origin:` header (docks send their id)
  std::string path = "/";
};

enum class CloseReason : std::uint8_t {
  peer_closed,       // orderly EOF from the peer
  io_error,          // recv/send failed (errno in CloseInfo)
  protocol_error,    // bytes that are not frames (DecodeError in CloseInfo)
  http_error,        // bad HTTP head
  output_limit,      // slow reader
  local,             // close() / abort() called here
  shutdown,          // reactor stopping
};
const char* to_string(CloseReason r) noexcept;

struct CloseInfo {
  CloseReason reason = CloseReason::local;
  int error = 0;                        // errno for io_error
  DecodeError decode = DecodeError::none;
  std::string message;                  // human-readable, for logs
};

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // A complete frame. `storage` keeps the viewed bytes alive if copied.
  virtual void on_frame(Connection& c, const FrameView& f, const BufRef& storage) = 0;
  // The connection is gone; pending output was flushed if it could be. The
  // Connection is freed right after this returns.
  virtual void on_close(Connection& c, const CloseInfo& info) = 0;
  // Output queue fell below the low mark after being above it.
  virtual void on_drain(Connection&) {}
  // The peer ended its side (EOF: a half-close, or the start of a close):
  // nothing more will be read. The default closes the connection after
  // flushing (CloseReason::peer_closed). A handler that still owes answers
  // for requests it read (Peer does) answers them first, then closes; the
  // engine closes anyway after OutputLimits::close_timeout.
  virtual void on_read_end(Connection& c);
  // The CONNECT upgrade completed (server side: head received and 101 sent;
  // client side: 101 received). Raw connections never call it.
  virtual void on_upgrade(Connection&, const RequestHead*) {}
  // A non-CONNECT HTTP request on a listening port. The response is sent and
  // the connection closed. The default answers GET / with the banner.
  virtual HttpResponse on_http(Connection& c, const HttpRequest& req);
  // Plain bytes, on a connection that carries no frames: a stream adopted
  // with Reactor::adopt_stream(), or an HTTP request taken over with
  // ListenOptions::http_takeover (its body and whatever follows). The view
  // is valid during the call; `storage` keeps it alive if copied.
  virtual void on_bytes(Connection&, const std::uint8_t*, std::size_t, const BufRef&) {}
};

class Connection {
 public:
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void set_handler(ConnectionHandler* h) noexcept;
  ConnectionHandler* handler() const noexcept;

  // ---- Sending. All return false (and queue nothing) once the connection
  // is closing. The bytes go out in call order.

  // Scratch space for n bytes of output; write into it, then commit(n).
  // Valid until the next call on this connection. Throws std::bad_alloc
  // when memory is short.
  std::uint8_t* reserve(std::size_t n);
  // Queues the n bytes written. `frames`: how many frames they complete,
  // counted as note_frames_out(frames) does (one call per frame saved).
  void commit(std::size_t n, std::size_t frames = 0);
  // Copies bytes into the output queue.
  bool send_copy(const void* data, std::size_t n);
  // Queues bytes owned by `storage` without copying (zero-copy relay).
  bool send_ref(const BufRef& storage, const std::uint8_t* data, std::size_t n);

  // The largest frame body accepted from now on (a hub raises it after the
  // handshake; before it, a peer that has not said who it is gets little).
  void set_max_body(std::uint32_t n) noexcept;

  // The queue holds bytes, not frames: whoever writes frames counts them
  // here for ReactorStats::frames_out (Peer does).
  void note_frames_out(std::size_t n = 1) noexcept;

  std::size_t queued_bytes() const noexcept;
  // Queued output above this asks the producer to wait for on_drain().
  std::size_t high_water() const noexcept;
  void set_high_water(std::size_t n) noexcept;
  bool writable() const noexcept;

  // ---- Flow control of input: a consumer of on_bytes that cannot keep up
  // (a deploy writing to disk) stops reading from the socket, and the
  // kernel's window pushes back on the sender. Bytes already received may
  // still reach on_bytes after pause_reading(); nothing more is read after
  // them until resume_reading().
  void pause_reading() noexcept;
  void resume_reading() noexcept;
  bool reading_paused() const noexcept;

  // Close after the queued output is flushed (reads stop now), or after
  // OutputLimits::close_timeout, whichever comes first.
  void close(CloseReason reason = CloseReason::local, std::string message = {});
  // Close now, dropping queued output (a send already handed to the kernel
  // is cancelled where the backend can; its bytes may still go out).
  void abort(CloseReason reason = CloseReason::local, std::string message = {});
  bool closing() const noexcept;

  // Logged with protocol errors: "ip:port", "unix" or "pipe".
  const std::string& peer_name() const noexcept;
  std::uint64_t id() const noexcept;
  int fd() const noexcept;
  bool upgraded() const noexcept;

  // User data slot (e.g. the hub's per-connection state).
  void* user = nullptr;

 protected:
  // Only the engine creates connections; its state lives in the engine's
  // own (not installed) headers.
  Connection() = default;
  ~Connection() = default;
};

}  // namespace hms
