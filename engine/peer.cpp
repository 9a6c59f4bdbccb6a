#include "hms/peer.hpp"

#include <cstdio>
#include <cstring>

#include "hms/control.hpp"
#include "hms/log.hpp"

namespace hms {

// ---------------------------------------------------------------- handlers

HandlerTable::HandlerTable() {
  for (auto& s : slots_) s.store(nullptr, std::memory_order_relaxed);
}
HandlerTable::~HandlerTable() = default;

void HandlerTable::set(Opcode op, Handler h) {
  auto owned = std::make_unique<Handler>(std::move(h));
  const Handler* raw = owned.get();
  std::lock_guard lock(mu_);
  // The table owns the handler before anyone can see it: were the push to
  // fail (bad_alloc), nothing would have been published.
  owned_.push_back(std::move(owned));
  // release: a reactor that loads the pointer sees the whole Handler.
  slots_[static_cast<std::uint8_t>(op)].store(raw, std::memory_order_release);
}

void HandlerTable::clear(Opcode op) {
  std::lock_guard lock(mu_);
  slots_[static_cast<std::uint8_t>(op)].store(nullptr, std::memory_order_release);
}

// ---------------------------------------------------------------- reply

Reply& Reply::operator=(Reply&& o) noexcept {
  if (this != &o) {
    if (armed_) error("No reply");
    peer_ = std::move(o.peer_);
    rid_ = o.rid_;
    armed_ = std::exchange(o.armed_, false);
  }
  return *this;
}

// Inline (declared so in the header): only Reply, in this file, calls it.
inline void Peer::answer(std::uint16_t rid, FrameType type, std::string_view body) {
  if (unanswered_) --unanswered_;
  send_reply(rid, type, body);
  // The peer half-closed while we still owed answers: the last one is out.
  if (unanswered_ == 0 && read_ended_ && conn_) conn_->close(CloseReason::peer_closed, "peer closed the connection");
}

void Reply::ok(std::string_view body) {
  if (!armed_) return;
  armed_ = false;
  if (auto p = peer_.lock()) p->answer(rid_, FrameType::reply, body);
}

void Reply::error(std::string_view message) {
  if (!armed_) return;
  armed_ = false;
  // The reference sends 'unknown error' for an error without a message.
  if (message.empty()) message = "unknown error";
  if (auto p = peer_.lock()) p->answer(rid_, FrameType::error, message);
}

// ---------------------------------------------------------------- peer

std::shared_ptr<Peer> Peer::connect(Reactor& r, std::string_view endpoint,
                                    const ConnectOptions& opts) {
  std::shared_ptr<Peer> p(new Peer());
  p->handlers_ = std::make_shared<HandlerTable>();
  Connection& c = r.connect(endpoint, opts, p.get());
  p->bind(c);
  return p;
}

std::shared_ptr<Peer> Peer::attach(Connection& c) {
  std::shared_ptr<Peer> p(new Peer());
  p->handlers_ = std::make_shared<HandlerTable>();
  c.set_handler(p.get());
  p->bind(c);
  return p;
}

void Peer::bind(Connection& c) {
  conn_ = &c;
  self_ = shared_from_this();
}

Peer::~Peer() {
  // Only reached after on_close (self_ keeps a connected peer alive).
}

void Peer::close() {
  if (conn_) conn_->close();
}

void Peer::send_reply(std::uint16_t rid, FrameType type, std::string_view body) {
  if (!conn_) return;
  if (body.size() > kDefaultMaxBody) {
    // Nothing we send may be larger than a peer accepts: an error instead.
    static constexpr std::string_view kTooLarge = "Reply too large";
    type = FrameType::error;
    body = kTooLarge;
  }
  std::uint8_t* p = conn_->reserve(kHeaderSize + body.size());
  encode_header(p, type, rid, static_cast<std::uint32_t>(body.size()));
  if (!body.empty()) std::memcpy(p + kHeaderSize, body.data(), body.size());
  conn_->commit(kHeaderSize + body.size(), 1);
}

bool Peer::send_message(Opcode op, std::string_view id, std::string_view payload) {
  if (!conn_ || conn_->closing() || !message_fits(id.size(), payload.size())) return false;
  const std::size_t head = message_head_size(id.size());
  std::uint8_t* p = conn_->reserve(head + payload.size());
  encode_message_head(p, FrameType::message, 0, op, id, payload.size());
  if (!payload.empty()) std::memcpy(p + head, payload.data(), payload.size());
  conn_->commit(head + payload.size(), 1);
  return true;
}

bool Peer::begin_request(ReplyCallback& cb, std::uint16_t* rid) {
  Result fail;
  if (!conn_ || conn_->closing()) {
    fail.status = Result::Status::closed;
    fail.text = kDestroyed;
  } else if (!free_.empty()) {
    // Freed ids are reused last-freed-first, as the reference's free list.
    *rid = free_.back();
    free_.pop_back();
  } else if (top_ < kMaxInFlight) {
    *rid = static_cast<std::uint16_t>(top_++);
    pending_.emplace_back();
  } else {
    fail.status = Result::Status::rejected;
    fail.text = "too many requests in flight (65536)";
  }
  if (fail.status != Result::Status::ok) {
    if (cb) cb(fail);
    return false;
  }
  // A request without a callback still holds its id until the reply, as in
  // the reference; an empty function marks "nobody waits".
  pending_[*rid] = cb ? std::move(cb) : ReplyCallback([](const Result&) {});
  return true;
}

void Peer::request(Opcode op, std::string_view id, std::string_view payload, ReplyCallback cb) {
  if (!message_fits(id.size(), payload.size())) {
    // Never sent: a peer would refuse it (or the length would not fit).
    Result fail;
    fail.status = Result::Status::rejected;
    fail.text = id.size() > kMaxIdSize ? "id longer than 65535 bytes" : "message too large";
    if (cb) cb(fail);
    return;
  }
  std::uint16_t rid;
  if (!begin_request(cb, &rid)) return;
  const std::size_t head = message_head_size(id.size());
  std::uint8_t* p = conn_->reserve(head + payload.size());
  encode_message_head(p, FrameType::request, rid, op, id, payload.size());
  if (!payload.empty()) std::memcpy(p + head, payload.data(), payload.size());
  conn_->commit(head + payload.size(), 1);
}

bool Peer::relay(const FrameView& f, const BufRef& storage) {
  if (!conn_) return false;
  if (!conn_->send_ref(storage, f.body - kHeaderSize, kHeaderSize + f.header.length)) return false;
  conn_->note_frames_out();
  return true;
}

void Peer::handshake(std::string_view json_object, ReplyCallback cb) {
  // The reference sets opts.protocol = 1 and stringifies: the member goes
  // last. Trailing whitespace after the closing brace is dropped.
  json_object = trim_json_space_right(json_object);
  std::string body;
  if (json_object.size() < 2 || json_object.back() != '}') {
    body = "{\"protocol\":1}";
  } else {
    const std::string_view inside = json_object.substr(0, json_object.size() - 1);
    body.assign(inside);
    const std::string_view before = trim_json_space_right(inside);
    const bool empty_object = !before.empty() && before.back() == '{';
    body += empty_object ? "\"protocol\":1}" : ",\"protocol\":1}";
  }
  request(Opcode::handshake, {}, body, std::move(cb));
}

void Peer::ping(ReplyCallback cb) {
  // Pings share the request id space with requests (one cable free list).
  std::uint16_t rid;
  if (!begin_request(cb, &rid)) return;
  std::uint8_t* p = conn_->reserve(kHeaderSize);
  encode_header(p, FrameType::ping, rid, 0);
  conn_->commit(kHeaderSize, 1);
}

void Peer::get(std::string_view id, ReplyCallback cb) { request(Opcode::get, id, {}, std::move(cb)); }
void Peer::add(std::string_view id, std::string_view s, ReplyCallback cb) {
  request(Opcode::add, id, s, std::move(cb));
}
void Peer::update(std::string_view id, std::string_view s, ReplyCallback cb) {
  request(Opcode::update, id, s, std::move(cb));
}
void Peer::remove(std::string_view id, ReplyCallback cb) { request(Opcode::remove, id, {}, std::move(cb)); }
void Peer::list(ReplyCallback cb) { request(Opcode::list, {}, {}, std::move(cb)); }
void Peer::ps(ReplyCallback cb) { request(Opcode::ps, {}, {}, std::move(cb)); }
void Peer::start(std::string_view id, ReplyCallback cb) { request(Opcode::start, id, {}, std::move(cb)); }
void Peer::stop(std::string_view id, ReplyCallback cb) { request(Opcode::stop, id, {}, std::move(cb)); }
void Peer::restart(std::string_view id, ReplyCallback cb) {
  request(Opcode::restart, id, {}, std::move(cb));
}
void Peer::sync(std::string_view id, std::string_view s, ReplyCallback cb) {
  request(Opcode::sync, id, s, std::move(cb));
}

void Peer::subscribe(std::string_view id, ReplyCallback cb) {
  if (id.empty()) id = "*";
  am_subs_.emplace(id);
  request(Opcode::subscribe, id, {}, std::move(cb));
}

void Peer::unsubscribe(std::string_view id, ReplyCallback cb) {
  if (id.empty()) id = "*";
  if (auto it = am_subs_.find(id); it != am_subs_.end()) am_subs_.erase(it);
  request(Opcode::unsubscribe, id, {}, std::move(cb));
}

namespace {
bool send_event(Connection* c, Opcode op, std::string_view id, std::string_view origin,
                std::string_view data) {
  if (!c || c->closing() || !event_fits(id.size(), origin.size(), data.size())) return false;
  const std::size_t idlen = id.size() + 1 + origin.size();
  const std::size_t head = message_head_size(idlen);
  std::uint8_t* p = c->reserve(head + data.size());
  encode_event_head(p, op, id, origin, data.size());
  if (!data.empty()) std::memcpy(p + head, data.data(), data.size());
  c->commit(head + data.size(), 1);
  return true;
}
}  // namespace

bool Peer::write_stdout(std::string_view id, std::string_view origin, std::string_view data) {
  return send_event(conn_, Opcode::stdout_, id, origin, data);
}
bool Peer::write_stderr(std::string_view id, std::string_view origin, std::string_view data) {
  return send_event(conn_, Opcode::stderr_, id, origin, data);
}
bool Peer::spawn(std::string_view id, std::string_view origin, std::int64_t pid) {
  char buf[24];
  const int n = std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(pid));
  return send_event(conn_, Opcode::spawn, id, origin, {buf, static_cast<std::size_t>(n)});
}
bool Peer::exit(std::string_view id, std::string_view origin, std::string_view code_json) {
  return send_event(conn_, Opcode::exit, id, origin, code_json);
}

bool Peer::am_subscribing(std::string_view id) const {
  return am_subs_.contains(id) || am_subs_.contains(std::string_view("*"));
}
bool Peer::peer_subscribing(std::string_view id) const {
  return peer_subs_.contains(id) || peer_subs_.contains(std::string_view("*"));
}

void Peer::set_handlers(std::shared_ptr<HandlerTable> t) noexcept {
  if (dispatching_ && !retired_) retired_ = std::move(handlers_);
  handlers_ = std::move(t);
}

void Peer::on_frame(Connection&, const FrameView& f, const BufRef& storage) {
  switch (f.header.type) {
    case FrameType::message:
    case FrameType::request: {
      const MessageView& m = f.message;
      Message msg;
      msg.opcode = m.opcode;
      msg.type = f.header.type;
      msg.request_id = f.header.request_id;
      msg.id = m.id;
      msg.service = m.service;
      msg.origin = m.origin;
      msg.payload = m.payload_text();
      msg.frame = &f;
      msg.storage = &storage;
      const Handler* h = handlers_->find(m.opcode);
      // The reference records the peer's subscriptions before (and whether
      // or not) a handler answers. We record only what a handler takes: a
      // peer refused (before its handshake, say) must not grow our state.
      if (m.opcode == static_cast<std::uint8_t>(Opcode::subscribe) && h && *h) peer_subs_.emplace(m.service);
      if (m.opcode == static_cast<std::uint8_t>(Opcode::unsubscribe)) {
        if (auto it = peer_subs_.find(m.service); it != peer_subs_.end()) peer_subs_.erase(it);
      }
      const bool request = f.header.type == FrameType::request;
      Reply reply = request ? Reply(weak_from_this(), f.header.request_id) : Reply();
      if (request) ++unanswered_;
      if (!h || !*h) {
        reply.error(kNotSupported);
        return;
      }
      // The handler may replace this peer's table (set_handlers) while it
      // runs; the old table, which owns the running handler, is kept until
      // the call returns.
      dispatching_ = true;
      (*h)(*this, msg, std::move(reply));
      dispatching_ = false;
      if (retired_) retired_.reset();
      return;
    }
    case FrameType::reply:
    case FrameType::error: {
      const std::uint16_t rid = f.header.request_id;
      if (rid >= pending_.size() || !pending_[rid]) {
        HMS_LOG(debug, "%s: reply for request %u that is not pending; ignored",
                conn_ ? conn_->peer_name().c_str() : "?", rid);
        return;
      }
      ReplyCallback cb = std::move(pending_[rid]);
      pending_[rid] = nullptr;
      free_.push_back(rid);
      Result r;
      r.status = f.header.type == FrameType::reply ? Result::Status::ok : Result::Status::error;
      r.text = f.body_text();
      cb(r);
      return;
    }
    case FrameType::ping:
      send_reply(f.header.request_id, FrameType::reply, {});
      return;
  }
}

void Peer::fail_pending() {
  Result r;
  r.status = Result::Status::closed;
  r.text = kDestroyed;
  // Move them out first: a callback may issue new calls (they fail at once).
  std::vector<ReplyCallback> waiting;
  waiting.swap(pending_);
  for (auto& cb : waiting)
    if (cb) cb(r);
  free_.clear();
  top_ = 0;
}

void Peer::on_close(Connection&, const CloseInfo& info) {
  conn_ = nullptr;
  auto keep = std::move(self_);  // we may be freed when this returns
  fail_pending();
  if (on_close_) {
    auto fn = std::move(on_close_);
    fn(info);
  }
  on_drain_ = nullptr;
  on_upgrade_ = nullptr;
}

void Peer::on_read_end(Connection& c) {
  // Every request read before the peer's half-close is answered first.
  read_ended_ = true;
  if (unanswered_ == 0) c.close(CloseReason::peer_closed, "peer closed the connection");
}

void Peer::detach() {
  if (!conn_) return;
  conn_->set_handler(nullptr);
  conn_ = nullptr;
  auto keep = std::move(self_);
  fail_pending();
  on_close_ = nullptr;
  on_drain_ = nullptr;
  on_upgrade_ = nullptr;
}

void Peer::on_drain(Connection&) {
  if (on_drain_) on_drain_();
}

void Peer::on_upgrade(Connection&, const RequestHead*) {
  if (on_upgrade_) on_upgrade_();
}

}  // namespace hms
