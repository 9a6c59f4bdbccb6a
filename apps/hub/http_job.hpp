// One streamed HTTP exchange whose work is blocking (a deploy, a tarball):
// the connection stays on the shard that accepted it, the work runs on a
// thread of its own, and this object is what the two share.
//
// ### Threads
// The shard's reactor thread feeds the request body in (push_body) and
// owns the Connection; the worker pulls the body (next_body), and sends
// its answer as raw bytes (send, end), which are posted to the shard and
// queued there. Neither side ever blocks the reactor: a full body queue
// pauses reading from the socket; a full output queue makes the worker
// wait (wait_for_room), which in turn stops it reading its child's pipes.
//
// ### Lifetime
// Held by shared_ptr from the connection's handler (until on_close) and
// from the worker (until it ends). `conn` is touched on the shard's thread
// only and is null once the connection has closed; everything the worker
// calls is safe after that (bytes are dropped, waits end).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "hms/connection.hpp"
#include "hms/http_body.hpp"

namespace hms::hub {

class HttpJob : public std::enable_shared_from_this<HttpJob> {
 public:
  using Clock = std::chrono::steady_clock;
  // Runs a function on the connection's shard.
  using Post = std::function<void(std::function<void()>)>;

  HttpJob(Post post, Connection& c);

  // ---- worker thread
  // The next piece of the request body: > 0 bytes at *data (valid until
  // the next call), 0 at its end, -1 on error (body_error() says why: the
  // client went away, no bytes for `idle`, a bad chunk).
  long next_body(const void** data, std::chrono::milliseconds idle);
  std::string body_error() const;
  // Queues bytes for the client (dropped once the connection is gone).
  void send(std::string bytes);
  // Closes the connection once what was sent has gone out.
  void end();
  // Waits while more than `limit` bytes wait to go out; false when the
  // connection is gone or `until` passes first.
  bool wait_for_room(std::size_t limit, Clock::time_point until);
  bool gone() const noexcept { return gone_.load(std::memory_order_acquire); }
  // Ends every wait (the hub is stopping).
  void cancel();
  bool cancelled() const;

  // ---- shard thread
  // Body bytes as received; pauses the socket past the queue's high mark.
  void push_body(const char* p, std::size_t n);
  void end_body(std::string error);  // "" when the body is complete
  void on_closed();                  // the connection is gone
  void on_drained();                 // output fell below the connection's low mark
  Connection* conn = nullptr;

 private:
  void note_backlog();  // shard thread: what waits to go out, for the worker

  static constexpr std::size_t kBodyHigh = 4u << 20;  // pause reading above
  static constexpr std::size_t kBodyLow = 1u << 20;   // resume below

  Post post_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> body_;  // guarded by mu_
  std::size_t body_bytes_ = 0;    // guarded by mu_
  bool body_ended_ = false;       // guarded by mu_
  bool paused_ = false;           // guarded by mu_: reading was paused
  bool cancelled_ = false;        // guarded by mu_
  std::string body_error_;        // guarded by mu_
  std::string current_;           // worker: the piece handed out last
  std::atomic<std::size_t> backlog_{0};
  std::atomic<bool> gone_{false};
};

// Reads a taken-over request's body into a job (Content-Length or chunked)
// and tells it when the connection drains or closes. Owns itself: deleted
// in on_close.
class BodyReader final : public ConnectionHandler {
 public:
  // `chunked` or `length` bytes; a request with neither has no body.
  BodyReader(std::shared_ptr<HttpJob> job, bool chunked, std::uint64_t length);
  void on_bytes(Connection& c, const std::uint8_t* p, std::size_t n, const BufRef&) override;
  void on_frame(Connection&, const FrameView&, const BufRef&) override {}
  void on_read_end(Connection& c) override;
  void on_drain(Connection&) override { job_->on_drained(); }
  void on_close(Connection&, const CloseInfo&) override;

 private:
  std::shared_ptr<HttpJob> job_;
  bool chunked_;
  bool done_ = false;
  ChunkedState chunks_;
  LengthState length_;
};

// "HTTP/1.1 <status> <reason>\r\n" + fields + "\r\n" (fields end in CRLF).
std::string response_head(int status, std::string_view fields);
// A whole answer with a text/plain body, closing the connection.
std::string plain_response(int status, std::string_view text);
// One chunk of a chunked body (empty data: nothing).
std::string chunk(std::string_view data);

}  // namespace hms::hub
