// One HTTP request of the page or its API, taken over from the engine
// (ListenOptions::http_takeover) on the hub's port: its body is read
// (bounded, with a deadline), the route's action runs, and exactly one
// answer goes out; then the connection closes (every answer says
// `Connection: close`: the page makes few requests, and no connection is
// kept waiting for a next one).
//
// Engine-level only (no hub state): the hub's routes (web_routes.cpp) give
// each exchange an action, and whatever the action starts (a command on the
// control shard, say) calls respond() later, on the connection's thread.
//
// ### Threads and lifetime
// An exchange lives on its connection's reactor thread. It keeps itself
// alive until its connection closes (as a Peer does); respond() after that
// does nothing, so a late answer from another shard is harmless. The owner
// of an answer path holds a std::shared_ptr to it.
//
// ### Deadlines (nothing waits for ever)
// - the body must be complete within ExchangeLimits::body_timeout (else 408);
// - once the body is in, an answer must come within answer_timeout (else
//   504: every path behind it has its own deadline, this one is the last);
// - an answer given before the body was read (an error found from the head)
//   reads and drops the rest of a small body for up to drain_timeout before
//   closing, so the client reads the answer instead of a connection reset.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "hms/connection.hpp"
#include "hms/http_body.hpp"
#include "hms/reactor.hpp"

namespace hms::hub::web {

// An answer. `headers` holds extra header lines, each ending in CRLF.
struct WebResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string headers;
};

// {"error":"<message>"} with that status.
WebResponse json_error(int status, std::string_view message);
// The reason phrase of a status the routes use ("Not Found"); "Status" else.
const char* reason_phrase(int status) noexcept;
// The whole answer: status line, the headers every answer carries
// (Content-Type, Content-Length, Cache-Control: no-store, nosniff,
// Connection: close), the extra ones, and the body unless head_only.
std::string render(const WebResponse& r, bool head_only);

struct ExchangeLimits {
  std::size_t max_body = 4096;  // bytes of body (decoded) taken
  std::chrono::milliseconds body_timeout{10000};
  std::chrono::milliseconds answer_timeout{30000};
  std::chrono::milliseconds drain_timeout{2000};
  std::size_t max_drain = 1u << 20;  // body bytes read and dropped after an early answer
};

class WebExchange final : public ConnectionHandler, public std::enable_shared_from_this<WebExchange> {
 public:
  using Action = std::function<void(WebExchange&)>;

  // Takes `c` over (becomes its handler) for the request `head`, whose
  // views are read here only. `action` runs once the whole body is in (at
  // once when there is none); it, or what it starts, calls respond(). A
  // request whose body cannot be taken (too large, an unknown or doubled
  // framing) is answered at once and the action never runs.
  static std::shared_ptr<WebExchange> start(Reactor& r, Connection& c, const RequestHead& head,
                                            const ExchangeLimits& limits, Action action);
  // Takes `c` over only to answer `resp` at once (an error found from the
  // head: unknown route, not authorized).
  static void answer(Reactor& r, Connection& c, const RequestHead& head, const WebResponse& resp);

  ~WebExchange() override;
  WebExchange(const WebExchange&) = delete;
  WebExchange& operator=(const WebExchange&) = delete;

  // The request body (complete when the action runs).
  const std::string& body() const noexcept { return body_; }
  // The first call answers; later calls, and calls after the connection
  // closed, do nothing. Then the connection closes (after a drain, see above).
  void respond(const WebResponse& resp);
  bool answered() const noexcept { return answered_; }
  // The connection is still there to answer on.
  bool open() const noexcept { return conn_ != nullptr; }

 private:
  enum class Body : unsigned char { none, length, chunked };
  WebExchange(Reactor& r, Connection& c, const ExchangeLimits& limits);
  void on_frame(Connection&, const FrameView&, const BufRef&) override {}
  void on_bytes(Connection& c, const std::uint8_t* p, std::size_t n, const BufRef& storage) override;
  void on_read_end(Connection& c) override;
  void on_close(Connection& c, const CloseInfo& info) override;
  // Feeds received bytes to the body decoder; false after an answer (a bad
  // body) or when the body is complete.
  void take(const char* p, std::size_t n);
  void body_complete();
  void arm(std::chrono::milliseconds after, int status, const char* message);
  void finish();  // close, unless a drain still runs

  Reactor& reactor_;
  Connection* conn_ = nullptr;
  ExchangeLimits limits_;
  Action action_;
  std::shared_ptr<WebExchange> self_;  // alive while connected
  bool head_only_ = false;
  Body kind_ = Body::none;
  LengthState length_;
  ChunkedState chunked_;
  std::string pending_;  // chunked bytes the decoder has not consumed yet
  std::string body_;
  bool complete_ = false, answered_ = false, draining_ = false, read_ended_ = false;
  std::size_t drained_ = 0;
  TimerId timer_ = 0;
};

}  // namespace hms::hub::web
