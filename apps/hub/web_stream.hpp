// The page's live logs: Server-Sent Events (text/event-stream) fed by the
// hub's own fan-out (fanout.cpp).
//
// An event stream (GET /api/logs/<id>) is a subscriber like a protocol
// client: its ConnState sits in the same tables of its shard (Shard::subs,
// Shard::star) and is counted by the control shard like a client's
// subscription, so docks are subscribed and unsubscribed as for any client.
// Its connection keeps the client output limits: a browser that does not
// read is a slow client (closed, ReactorStats::slow_disconnects).
//
// ### One text per frame, shared
// A frame that reaches any stream of a shard is written as event text once,
// into the shard's TextArena (64 KiB heap blocks filled event after event),
// and that same text is queued by reference on every stream that gets it:
// no per-browser copy or formatting. Consecutive events in one block are
// contiguous, so the engine sends a browser's run of them as one iovec.
//
// ### The events
//   event: stdout | stderr | spawn | exit
//   data: {"id":"<service>","origin":"<dock>","data":"<payload>"}
// `data` is the payload as a JSON string (web_text.hpp: invalid UTF-8 as
// U+FFFD): the bytes written for stdout/stderr, the pid for spawn, the code
// or signal name for exit (as the dock sent them). A payload over
// kMaxEventData bytes is cut there and the event says how much was left
// out: "cut":<bytes>. Comment lines (":hb") keep an idle stream alive; the
// stream opens with `retry: 2000` (the browser's reconnect delay, ms).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "hms/buffer.hpp"
#include "hms/connection.hpp"
#include "hms/frame.hpp"
#include "hms/reactor.hpp"

namespace hms::hub {

struct Shard;

namespace web {

// Payload bytes one event carries at most (a dock reads its pipes in
// smaller pieces; this bounds what one hostile frame can make us write).
inline constexpr std::size_t kMaxEventData = 256 * 1024;
// Between two heartbeat comments on a stream.
inline constexpr std::chrono::seconds kHeartbeat{15};

// A frame's event text: a view into the arena's current block. Valid until
// the arena's next reserve() (it lives while one frame is delivered); a
// stream's queue takes its own reference to the block.
struct EventText {
  const BufRef* block = nullptr;
  const std::uint8_t* data = nullptr;
  std::size_t len = 0;
  bool tried = false;  // formatting was attempted (data null: it failed)
};

// Blocks that event text is written into, one after another; a block lives
// as long as a queued event in it (its reference count). One per shard,
// used on its thread only.
class TextArena {
 public:
  // Room for n bytes, valid until the next call; nullptr when memory is
  // short.
  std::uint8_t* reserve(std::size_t n) noexcept;
  // The first n bytes of the last reserve() are one event's text.
  EventText commit(std::size_t n) noexcept;

 private:
  static constexpr std::size_t kBlock = 64 * 1024;
  BufRef block_;
  std::size_t used_ = 0;
};

// Writes the event for a stdout/stderr/spawn/exit message. False (and *out
// left without data) when memory is short or the opcode is not an event.
bool format_event(TextArena& arena, const MessageView& m, EventText* out);

// The answer head of an event stream and the first field (retry).
std::string_view stream_head() noexcept;

// One browser's event stream on a taken-over connection. It deletes itself
// when its connection closes, after calling on_gone (on the connection's
// thread). Until start() the connection is held (input ignored); then the
// head goes out and events may be queued.
class EventStream final : public ConnectionHandler {
 public:
  // Takes `c` over (becomes its handler).
  EventStream(Reactor& r, Connection& c, std::function<void()> on_gone);
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // Sends the head and starts the heartbeat. False when the connection is
  // already closing.
  bool start();
  Connection* connection() const noexcept { return conn_; }

 private:
  ~EventStream() override;
  void on_frame(Connection&, const FrameView&, const BufRef&) override {}
  // A browser sends nothing after its GET; whatever comes is dropped.
  void on_bytes(Connection&, const std::uint8_t*, std::size_t, const BufRef&) override {}
  void on_close(Connection& c, const CloseInfo& info) override;

  Reactor& reactor_;
  Connection* conn_;
  std::function<void()> on_gone_;
  TimerId heartbeat_ = 0;
};

}  // namespace web

// The shard's share of the page: where its event text is written.
struct WebShard {
  web::TextArena arena;
};

// fanout.cpp's call for a subscriber that is an event stream: formats the
// frame into `text` on the first call for this frame (shard s's arena) and
// queues it on `c`. Counted in s's web counters.
void web_deliver(Shard& s, Connection& c, const FrameView& f, web::EventText& text);

}  // namespace hms::hub
