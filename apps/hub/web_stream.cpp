// Event streams of the page (web_stream.hpp): event text written once per
// frame and shard, queued by reference on every stream that wants it.
#include "web_stream.hpp"

#include <algorithm>
#include <charconv>
#include <memory>

#include "hub_impl.hpp"
#include "web_text.hpp"

namespace hms::hub {
namespace web {

namespace {

char* put(char* o, std::string_view s) noexcept {
  for (char c : s) *o++ = c;
  return o;
}

char* put_escaped(char* o, std::string_view s) noexcept {
  return o + json_escape(o, reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

std::string_view event_name(std::uint8_t opcode) noexcept {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::stdout_: return "stdout";
    case Opcode::stderr_: return "stderr";
    case Opcode::spawn: return "spawn";
    case Opcode::exit: return "exit";
    default: return {};
  }
}

}  // namespace

std::uint8_t* TextArena::reserve(std::size_t n) noexcept {
  if (!block_ || block_->capacity() - used_ < n) {
    // A new block; the old one lives on in the queues that reference it.
    Block* b = Block::try_heap(std::max(kBlock, n));
    if (!b) return nullptr;
    block_ = BufRef::adopt(b);
    used_ = 0;
  }
  return block_->data() + used_;
}

EventText TextArena::commit(std::size_t n) noexcept {
  EventText t;
  t.block = &block_;
  t.data = block_->data() + used_;
  t.len = n;
  t.tried = true;
  used_ += n;
  return t;
}

bool format_event(TextArena& arena, const MessageView& m, EventText* out) {
  const std::string_view name = event_name(m.opcode);
  if (name.empty()) return false;
  const std::size_t n = std::min(m.payload_size, kMaxEventData);
  const std::size_t cut = m.payload_size - n;
  // The fixed text is under 80 bytes, a number under 24.
  const std::size_t bound =
      128 + json_escape_bound(m.service.size()) + json_escape_bound(m.origin.size()) + json_escape_bound(n);
  std::uint8_t* start = arena.reserve(bound);
  if (!start) return false;
  char* o = reinterpret_cast<char*>(start);
  o = put(o, "event: ");
  o = put(o, name);
  o = put(o, "\ndata: {\"id\":\"");
  o = put_escaped(o, m.service);
  o = put(o, "\",\"origin\":\"");
  o = put_escaped(o, m.origin);
  o = put(o, "\",\"data\":\"");
  o += json_escape(o, m.payload, n);
  *o++ = '"';
  if (cut) {
    o = put(o, ",\"cut\":");
    o = std::to_chars(o, o + 24, cut).ptr;
  }
  o = put(o, "}\n\n");
  *out = arena.commit(static_cast<std::size_t>(o - reinterpret_cast<char*>(start)));
  return true;
}

std::string_view stream_head() noexcept {
  // Close-delimited (no length, no chunks): every event is the same bytes
  // for every browser, so it can be queued by reference as it is.
  return "HTTP/1.1 200 OK\r\n"
         "Content-Type: text/event-stream; charset=utf-8\r\n"
         "Cache-Control: no-store\r\n"
         "X-Content-Type-Options: nosniff\r\n"
         "Connection: close\r\n\r\n"
         "retry: 2000\n\n";
}

EventStream::EventStream(Reactor& r, Connection& c, std::function<void()> on_gone)
    : reactor_(r), conn_(&c), on_gone_(std::move(on_gone)) {
  c.set_handler(this);
}

EventStream::~EventStream() = default;

bool EventStream::start() {
  if (!conn_ || conn_->closing()) return false;
  const std::string_view head = stream_head();
  conn_->send_copy(head.data(), head.size());
  // A comment now and then: proxies and browsers keep an idle stream, and
  // a peer that vanished shows up as a failed write.
  heartbeat_ = reactor_.add_periodic(kHeartbeat, [this] {
    static constexpr std::string_view kBeat = ":hb\n\n";
    if (conn_) conn_->send_copy(kBeat.data(), kBeat.size());
  });
  return true;
}

void EventStream::on_close(Connection&, const CloseInfo&) {
  if (heartbeat_) reactor_.cancel_timer(heartbeat_);
  conn_ = nullptr;
  auto gone = std::move(on_gone_);
  if (gone) gone();
  delete this;
}

}  // namespace web

void web_deliver(Shard& s, Connection& c, const FrameView& f, web::EventText& text) {
  if (!text.tried) {
    text.tried = true;
    if (!s.web) s.web = std::make_shared<WebShard>();
    if (web::format_event(s.web->arena, f.message, &text)) ++s.web_events;
    else ++s.web_event_failures;
  }
  if (text.data && c.send_ref(*text.block, text.data, text.len)) ++s.web_deliveries;
}

}  // namespace hms::hub
