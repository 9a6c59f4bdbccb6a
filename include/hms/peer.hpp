// hms/peer.hpp: one side of an hms conversation, the twenty calls of the
// reference (hms-protocol 1.2.3) on a Connection.
//
// ### Threads
// A Peer lives on its connection's reactor and every method must be called on
// that reactor's thread (from a callback, or through Reactor::post). The
// HandlerTable alone may be changed from any thread.
//
// ### Lifetime
// A connected Peer keeps itself alive until its connection closes: dropping
// the last shared_ptr does not close it (call close()). When the peer
// half-closes, the requests it sent before are answered, then the
// connection closes. After the close, the
// peer's calls fail at once with Result::Status::closed and replies are
// dropped.
//
// ### Request ids (as the reference's cable)
// A fresh id is the next unused number; an id whose reply arrived is reused
// last-freed-first. At most 65536 requests may be in flight; the next one
// fails at once (Status::rejected) and is not sent. When the connection ends,
// every request still waiting fails with "cable was destroyed", in id order.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "hms/connection.hpp"
#include "hms/reactor.hpp"

namespace hms {

inline constexpr std::string_view kNotSupported = "Command is not supported";
inline constexpr std::string_view kDestroyed = "cable was destroyed";
inline constexpr std::size_t kMaxInFlight = 65536;

// The outcome of a request, given to its callback.
struct Result {
  enum class Status : std::uint8_t {
    ok,        // type-2 reply; `text` is its body (JSON or empty)
    error,     // type-3 reply; `text` is the peer's error message
    closed,    // the connection ended first ("cable was destroyed")
    rejected,  // never sent: too many in flight, or already closed
  };
  Status status = Status::ok;
  // Valid during the callback only: points into the receive buffer.
  std::string_view text;
  bool ok() const noexcept { return status == Status::ok; }
};
using ReplyCallback = std::function<void(const Result&)>;

class Peer;

// An incoming hms message (frame type 0 or 1). Views are valid during the
// handler call; `storage` keeps the frame's bytes alive if copied (relay).
struct Message {
  std::uint8_t opcode = 0;
  FrameType type = FrameType::message;
  std::uint16_t request_id = 0;
  std::string_view id;       // whole id
  std::string_view service;  // id before the first '@'
  std::string_view origin;   // after it, or "unknown"
  std::string_view payload;
  const FrameView* frame = nullptr;
  const BufRef* storage = nullptr;
};

// Answers one request, once. Move-only; can be kept and answered later (the
// hub answers after asking docks). A handle dropped unanswered answers with
// the error "No reply" so the requester is never left waiting. For one-way
// messages the handle is empty and answering does nothing.
class Reply {
 public:
  Reply() = default;
  // Moves and the destructor are inline: a request's Reply is moved into
  // its handler and destroyed once per request.
  Reply(Reply&& o) noexcept : peer_(std::move(o.peer_)), rid_(o.rid_), armed_(std::exchange(o.armed_, false)) {}
  Reply& operator=(Reply&& o) noexcept;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply() {
    if (armed_) error("No reply");
  }

  bool expects_reply() const noexcept { return armed_; }
  void ok(std::string_view body = {});      // type-2 reply
  void error(std::string_view message);     // type-3 reply

 private:
  friend class Peer;
  Reply(std::weak_ptr<Peer> p, std::uint16_t rid) noexcept : peer_(std::move(p)), rid_(rid), armed_(true) {}
  std::weak_ptr<Peer> peer_;
  std::uint16_t rid_ = 0;
  bool armed_ = false;
};

using Handler = std::function<void(Peer&, const Message&, Reply)>;

// Handlers by opcode. Lookups are one acquire load and take no lock, so a
// table may be shared by many peers and changed while reactors run. A
// replaced handler is kept (not freed) until the table dies, so a reactor
// still running it is safe.
class HandlerTable {
 public:
  HandlerTable();
  ~HandlerTable();
  HandlerTable(const HandlerTable&) = delete;
  HandlerTable& operator=(const HandlerTable&) = delete;

  void set(Opcode op, Handler h);
  void clear(Opcode op);
  const Handler* find(std::uint8_t opcode) const noexcept {
    if (opcode >= kOpcodeCount) return nullptr;
    // acquire: pairs with set()'s release store; the Handler is complete.
    return slots_[opcode].load(std::memory_order_acquire);
  }

 private:
  std::array<std::atomic<const Handler*>, kOpcodeCount> slots_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Handler>> owned_;
};

class Peer final : public ConnectionHandler, public std::enable_shared_from_this<Peer> {
 public:
  // Client side: connect (CONNECT upgrade unless opts.upgrade is false).
  static std::shared_ptr<Peer> connect(Reactor& r, std::string_view endpoint,
                                       const ConnectOptions& opts = {});
  // Server side: take over an accepted connection (call in on_accept).
  static std::shared_ptr<Peer> attach(Connection& c);

  ~Peer() override;

  // ---- Incoming.
  HandlerTable& handlers() noexcept { return *handlers_; }
  // Replaces the table. Safe from inside one of the old table's handlers:
  // the old table (which owns the running handler) lives until it returns.
  void set_handlers(std::shared_ptr<HandlerTable> t) noexcept;
  void on(Opcode op, Handler h) { handlers_->set(op, std::move(h)); }
  void on_close(std::function<void(const CloseInfo&)> fn) { on_close_ = std::move(fn); }
  void on_drain(std::function<void()> fn) { on_drain_ = std::move(fn); }
  void on_upgrade(std::function<void()> fn) { on_upgrade_ = std::move(fn); }

  // ---- The calls. JSON arguments are complete JSON texts.
  // handshake adds "protocol":1 to the object (as the reference does); the
  // object passed must not have a "protocol" member itself.
  void handshake(std::string_view json_object, ReplyCallback cb);
  void ping(ReplyCallback cb);
  void get(std::string_view id, ReplyCallback cb);
  void add(std::string_view id, std::string_view service_json, ReplyCallback cb);
  void update(std::string_view id, std::string_view service_json, ReplyCallback cb);
  void remove(std::string_view id, ReplyCallback cb);
  void list(ReplyCallback cb);
  void ps(ReplyCallback cb);
  void start(std::string_view id, ReplyCallback cb);
  void stop(std::string_view id, ReplyCallback cb);
  void restart(std::string_view id, ReplyCallback cb);
  // service_json may be "null" (hms clients send that).
  void sync(std::string_view id, std::string_view service_json, ReplyCallback cb);
  // An empty id means "*".
  void subscribe(std::string_view id, ReplyCallback cb);
  void unsubscribe(std::string_view id, ReplyCallback cb);
  // One-way events. Return false if the connection is closing.
  bool write_stdout(std::string_view id, std::string_view origin, std::string_view data);
  bool write_stderr(std::string_view id, std::string_view origin, std::string_view data);
  bool spawn(std::string_view id, std::string_view origin, std::int64_t pid);
  // code_json: a JSON number or a JSON string (a signal name).
  bool exit(std::string_view id, std::string_view origin, std::string_view code_json);

  bool am_subscribing(std::string_view id) const;
  bool peer_subscribing(std::string_view id) const;

  // ---- Lower level.
  void request(Opcode op, std::string_view id, std::string_view payload, ReplyCallback cb);
  bool send_message(Opcode op, std::string_view id, std::string_view payload);
  // Forwards a received frame byte for byte, without copying it.
  bool relay(const FrameView& f, const BufRef& storage);

  std::size_t in_flight() const noexcept { return top_ - free_.size(); }
  // Requests the peer sent that are not answered yet (Reply handles alive).
  std::size_t unanswered() const noexcept { return unanswered_; }
  Connection* connection() const noexcept { return conn_; }
  bool closed() const noexcept { return conn_ == nullptr; }
  bool writable() const noexcept { return conn_ && conn_->writable(); }
  void close();
  // Lets go of the connection without closing it: for a connection another
  // handler takes over (an HTTP request on the hub's port). Pending requests
  // fail; on_close is not called; the connection's handler becomes nullptr
  // (the new owner sets its own).
  void detach();

  // Per-peer user state (e.g. the hub's dock record).
  std::shared_ptr<void> user;

 private:
  Peer() = default;
  void bind(Connection& c);
  void send_reply(std::uint16_t rid, FrameType type, std::string_view body);
  // Takes a request id and parks cb under it; on failure calls cb at once.
  bool begin_request(ReplyCallback& cb, std::uint16_t* rid);
  void fail_pending();
  void on_frame(Connection& c, const FrameView& f, const BufRef& storage) override;
  void on_close(Connection& c, const CloseInfo& info) override;
  void on_drain(Connection& c) override;
  void on_upgrade(Connection& c, const RequestHead* head) override;
  void on_read_end(Connection& c) override;
  // A Reply was answered (or dropped): sends it and counts it. Inline, and
  // defined in peer.cpp beside Reply, its only caller, once per request.
  inline void answer(std::uint16_t rid, FrameType type, std::string_view body);
  friend class Reply;

  Connection* conn_ = nullptr;
  std::shared_ptr<Peer> self_;  // alive while connected
  std::shared_ptr<HandlerTable> handlers_;
  std::function<void(const CloseInfo&)> on_close_;
  std::function<void()> on_drain_;
  std::function<void()> on_upgrade_;

  std::vector<std::uint16_t> free_;    // freed ids, reused last-first
  std::uint32_t top_ = 0;              // next never-used id
  std::vector<ReplyCallback> pending_; // by request id

  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using TextSet = std::unordered_set<std::string, TextHash, std::equal_to<>>;
  TextSet am_subs_;
  TextSet peer_subs_;
  bool dispatching_ = false;                // a handler of handlers_ runs
  std::size_t unanswered_ = 0;              // requests read, not answered yet
  bool read_ended_ = false;                 // the peer half-closed
  std::shared_ptr<HandlerTable> retired_;   // replaced while it ran
};

}  // namespace hms
