// Hub test harness, part 2: engine Peers that act as clients and docks
// against a hub, recording what they receive; every wait has a deadline.
#pragma once

#include "hub/harness_basics.hpp"

namespace hms::hubtest {

// ------------------------------------------------------------------ peers

struct Got {
  Result::Status status = Result::Status::rejected;
  std::string text;
  bool ok() const { return status == Result::Status::ok; }
  bool error(std::string_view want) const { return status == Result::Status::error && text == want; }
};

inline std::ostream& operator<<(std::ostream& os, const Got& g) {
  static const char* names[] = {"ok", "error", "closed", "rejected"};
  return os << names[static_cast<int>(g.status)] << ":'" << g.text << "'";
}

using Call = std::function<void(Peer&, ReplyCallback)>;

// One engine Peer connected to the hub, living on `loop`. Requests are made
// from the test thread and waited for with a deadline.
class TestPeer {
 public:
  TestPeer(LoopThread& loop, std::uint16_t port, const std::string& origin = {}, bool upgrade = true)
      : loop_(loop) {
    loop_.call([&] {
      ConnectOptions co;
      co.upgrade = upgrade;
      co.origin = origin;
      peer_ = Peer::connect(loop_.reactor(), "127.0.0.1:" + std::to_string(port), co);
      peer_->on_close([this](const CloseInfo&) { closed_.set(true); });
    });
  }
  virtual ~TestPeer() { shutdown(); }
  TestPeer(const TestPeer&) = delete;
  TestPeer& operator=(const TestPeer&) = delete;

  // Closes the connection (from our side) and waits until it is gone.
  void shutdown() {
    if (!peer_) return;
    loop_.call([&] {
      if (!peer_->closed()) peer_->close();
    });
    // The close completes on the loop; after that no callback refers to us.
    if (!closed_.wait_for([](bool c) { return c; }, kWait)) ADD_FAILURE() << "peer did not close";
    loop_.call([&] {
      peer_->set_handlers(std::make_shared<HandlerTable>());
      peer_->on_close(nullptr);
      peer_.reset();
    });
  }

  // Starts a request on the loop; the future is ready when it is answered.
  std::shared_future<Got> ask_async(Call fn) {
    auto pr = std::make_shared<std::promise<Got>>();
    std::shared_future<Got> fut = pr->get_future().share();
    loop_.reactor().post([this, fn = std::move(fn), pr] {
      fn(*peer_, [pr](const Result& r) { pr->set_value(Got{r.status, std::string(r.text)}); });
    });
    return fut;
  }
  static Got await(const std::shared_future<Got>& f, std::chrono::milliseconds timeout = kWait) {
    if (f.wait_for(timeout) != std::future_status::ready) return Got{Result::Status::rejected, "<timeout>"};
    return f.get();
  }
  Got ask(Call fn, std::chrono::milliseconds timeout = kWait) { return await(ask_async(std::move(fn)), timeout); }

  // The calls, by name (JSON arguments as text).
  Got handshake(std::string json) {
    return ask([json](Peer& p, ReplyCallback cb) { p.handshake(json, std::move(cb)); });
  }
  // A handshake with a payload of our choosing (Peer::handshake always
  // adds "protocol":1).
  Got raw_handshake(std::string payload) {
    return ask([payload](Peer& p, ReplyCallback cb) { p.request(Opcode::handshake, "", payload, std::move(cb)); });
  }
  Got add(std::string id, std::string json) {
    return ask([id, json](Peer& p, ReplyCallback cb) { p.add(id, json, std::move(cb)); });
  }
  Got update(std::string id, std::string json) {
    return ask([id, json](Peer& p, ReplyCallback cb) { p.update(id, json, std::move(cb)); });
  }
  Got get(std::string id) {
    return ask([id](Peer& p, ReplyCallback cb) { p.get(id, std::move(cb)); });
  }
  Got list() {
    return ask([](Peer& p, ReplyCallback cb) { p.list(std::move(cb)); });
  }
  Got ps() {
    return ask([](Peer& p, ReplyCallback cb) { p.ps(std::move(cb)); });
  }
  Got remove(std::string id) {
    return ask([id](Peer& p, ReplyCallback cb) { p.remove(id, std::move(cb)); });
  }
  Got start(std::string id) {
    return ask([id](Peer& p, ReplyCallback cb) { p.start(id, std::move(cb)); });
  }
  Got stop(std::string id) {
    return ask([id](Peer& p, ReplyCallback cb) { p.stop(id, std::move(cb)); });
  }
  Got restart(std::string id) {
    return ask([id](Peer& p, ReplyCallback cb) { p.restart(id, std::move(cb)); });
  }
  Got sync(std::string id, std::string json) {
    return ask([id, json](Peer& p, ReplyCallback cb) { p.sync(id, json, std::move(cb)); });
  }
  Got subscribe(std::string id) {
    return ask([id](Peer& p, ReplyCallback cb) { p.subscribe(id, std::move(cb)); });
  }
  Got unsubscribe(std::string id) {
    return ask([id](Peer& p, ReplyCallback cb) { p.unsubscribe(id, std::move(cb)); });
  }

  bool wait_closed(std::chrono::milliseconds timeout = kWait) {
    return closed_.wait_for([](bool c) { return c; }, timeout);
  }
  bool is_closed() { return closed_.get(); }
  // Loop thread only.
  Peer& peer() { return *peer_; }

 protected:
  LoopThread& loop_;
  std::shared_ptr<Peer> peer_;
  Waiter<bool> closed_;
};

// A log or process event as a client received it.
struct Event {
  Opcode op;
  std::string id;       // as on the wire: service@origin
  std::string service;
  std::string origin;
  std::string payload;
  std::string bytes;    // the whole frame, header included
};

// A client: optionally handshaken at construction, records every event.
class TestClient : public TestPeer {
 public:
  struct Options {
    bool handshake = true;
    std::optional<std::string> route;
    std::optional<std::string> token;
    bool keep_events = true;  // false: count events and bytes only
    Options& no_handshake() { handshake = false; return *this; }
    Options& via(std::string r) { route = std::move(r); return *this; }
    Options& with_token(std::string t) { token = std::move(t); return *this; }
    Options& count_only() { keep_events = false; return *this; }
  };
  TestClient(LoopThread& loop, std::uint16_t port) : TestClient(loop, port, Options{}) {}
  // Closes first: the handlers refer to members that die before ~TestPeer.
  ~TestClient() override { shutdown(); }
  TestClient(LoopThread& loop, std::uint16_t port, Options o) : TestPeer(loop, port), keep_(o.keep_events) {
    loop_.call([&] {
      for (Opcode op : {Opcode::stdout_, Opcode::stderr_, Opcode::spawn, Opcode::exit}) {
        peer_->on(op, [this](Peer&, const Message& m, Reply) { record(m); });
      }
    });
    if (o.handshake) {
      std::string hs = R"({"type":"client")";
      if (o.route) hs += R"(,"route":")" + *o.route + "\"";
      if (o.token) hs += R"(,"token":")" + *o.token + "\"";
      hs += "}";
      const Got g = handshake(hs);
      require(g.ok() && g.text == kTerminalReply, "handshake refused or odd reply: " + g.text);
    }
  }

  std::vector<Event> events() {
    std::lock_guard l(mu_);
    return events_;
  }
  std::size_t count() { return count_.get(); }
  std::uint64_t bytes() {
    std::lock_guard l(mu_);
    return bytes_;
  }
  bool wait_count(std::size_t n, std::chrono::milliseconds timeout = kWait) {
    return count_.wait_for([n](std::size_t c) { return c >= n; }, timeout);
  }
  // Runs on the loop thread after every event (e.g. to pace a sender).
  void set_on_event(std::function<void()> fn) {
    loop_.call([&] { on_event_ = std::move(fn); });
  }

 private:
  void record(const Message& m) {
    {
      std::lock_guard l(mu_);
      bytes_ += kHeaderSize + m.frame->header.length;
      if (keep_) {
        Event e;
        e.op = static_cast<Opcode>(m.opcode);
        e.id = std::string(m.id);
        e.service = std::string(m.service);
        e.origin = std::string(m.origin);
        e.payload = std::string(m.payload);
        e.bytes.assign(reinterpret_cast<const char*>(m.frame->body) - kHeaderSize,
                       kHeaderSize + m.frame->header.length);
        events_.push_back(std::move(e));
      }
    }
    count_.update([](std::size_t& c) { ++c; });
    if (on_event_) on_event_();
  }

  bool keep_;
  std::mutex mu_;
  std::vector<Event> events_;
  std::uint64_t bytes_ = 0;
  Waiter<std::size_t> count_;
  std::function<void()> on_event_;
};

// A request the hub made of a dock.
struct DockCall {
  std::string op;  // "update", "start", ...
  std::string id;
  std::string payload;
};

// A dock: handshakes as `id` with tags/default, answers every command the
// hub sends (ok, or a configured error, or held until released) and records
// each, in arrival order.
class TestDock : public TestPeer {
 public:
  struct Options {
    std::vector<std::string> tags;
    bool is_default = false;
    std::optional<std::string> token;
    bool handshake = true;
    Options& tagged(std::vector<std::string> t) { tags = std::move(t); return *this; }
    Options& as_default() { is_default = true; return *this; }
    Options& with_token(std::string t) { token = std::move(t); return *this; }
    Options& no_handshake() { handshake = false; return *this; }
  };
  TestDock(LoopThread& loop, std::uint16_t port, std::string id) : TestDock(loop, port, std::move(id), Options{}) {}
  // Closes first: the handlers refer to members that die before ~TestPeer.
  ~TestDock() override {
    shutdown();
    // Replies are answered on the loop thread, even the unanswered ones.
    loop_.call([&] {
      std::lock_guard l(mu_);
      held_.clear();
    });
  }
  TestDock(LoopThread& loop, std::uint16_t port, std::string id, Options o)
      : TestPeer(loop, port, id), id_(std::move(id)) {
    loop_.call([&] {
      for (Opcode op : {Opcode::subscribe, Opcode::unsubscribe, Opcode::update, Opcode::start, Opcode::stop,
                        Opcode::restart, Opcode::sync, Opcode::remove, Opcode::ps, Opcode::list, Opcode::add,
                        Opcode::get}) {
        peer_->on(op, [this](Peer&, const Message& m, Reply r) { on_call(m, std::move(r)); });
      }
    });
    if (o.handshake) {
      std::string hs = R"({"type":"dock","id":")" + id_ + R"(","hostname":"host-)" + id_ + R"(","tags":[)";
      for (std::size_t i = 0; i < o.tags.size(); ++i) hs += (i ? ",\"" : "\"") + o.tags[i] + "\"";
      hs += "]";
      if (o.is_default) hs += R"(,"default":true)";
      if (o.token) hs += R"(,"token":")" + *o.token + "\"";
      hs += R"(,"version":"test"})";
      const Got g = handshake(hs);
      require(g.ok() && g.text == kTerminalReply, "handshake refused or odd reply: " + g.text);
    }
  }

  const std::string& id() const { return id_; }

  // Answer `op` on `id` with this error from now on ("" is the id of ps).
  void fail(const std::string& op, const std::string& id, const std::string& message) {
    std::lock_guard l(mu_);
    errors_[op + ":" + id] = message;
  }
  void set_ps(std::string json) {
    std::lock_guard l(mu_);
    ps_ = std::move(json);
  }
  // Keep the replies to `op` until release().
  void hold(const std::string& op) {
    std::lock_guard l(mu_);
    held_ops_.insert(op);
  }
  void release() {
    loop_.call([&] {
      std::vector<Reply> r;
      {
        std::lock_guard l(mu_);
        held_ops_.clear();
        r = std::move(held_);
        held_.clear();
      }
      for (auto& x : r) x.ok();
    });
  }

  std::vector<DockCall> calls() {
    std::lock_guard l(mu_);
    return calls_;
  }
  // "op:id" of every call, in order, optionally only those on `id`.
  std::vector<std::string> trace(const std::string& only_id = {}) {
    std::vector<std::string> out;
    for (const auto& c : calls())
      if (only_id.empty() || c.id == only_id) out.push_back(c.op + ":" + c.id);
    return out;
  }
  std::size_t count(const std::string& op, const std::string& id) {
    std::size_t n = 0;
    for (const auto& c : calls())
      if (c.op == op && c.id == id) ++n;
    return n;
  }
  bool wait_call(const std::string& op, const std::string& id, std::size_t n = 1,
                 std::chrono::milliseconds timeout = kWait) {
    // Woken by every call; counts under our own lock (never held while
    // the waiter's is taken, so the two cannot deadlock).
    return ncalls_.wait_for([&](std::size_t) { return count(op, id) >= n; }, timeout);
  }
  void clear_calls() {
    std::lock_guard l(mu_);
    calls_.clear();
  }

  // Sends an event as a reference dock does (id service@<our id>). Returns
  // the exact frame bytes sent.
  std::string write_stdout(const std::string& service, std::string data) {
    require(loop_.call([&] { return peer_->write_stdout(service, id_, data); }), "write_stdout on a closed connection");
    return event_bytes(Opcode::stdout_, service, id_, data);
  }
  std::string write_stderr(const std::string& service, std::string data) {
    require(loop_.call([&] { return peer_->write_stderr(service, id_, data); }), "write_stderr on a closed connection");
    return event_bytes(Opcode::stderr_, service, id_, data);
  }
  std::string spawn(const std::string& service, std::int64_t pid) {
    require(loop_.call([&] { return peer_->spawn(service, id_, pid); }), "spawn on a closed connection");
    return event_bytes(Opcode::spawn, service, id_, std::to_string(pid));
  }
  std::string exit(const std::string& service, const std::string& code_json) {
    require(loop_.call([&] { return peer_->exit(service, id_, code_json); }), "exit on a closed connection");
    return event_bytes(Opcode::exit, service, id_, code_json);
  }

 private:
  void on_call(const Message& m, Reply r) {
    const std::string op = to_string(static_cast<Opcode>(m.opcode));
    std::optional<std::string> err;
    std::string body;
    bool keep = false;
    {
      std::lock_guard l(mu_);
      calls_.push_back(DockCall{op, std::string(m.id), std::string(m.payload)});
      if (auto it = errors_.find(op + ":" + std::string(m.id)); it != errors_.end()) err = it->second;
      if (op == "ps") body = ps_;
      if (op == "list") body = "[]";
      keep = held_ops_.count(op) != 0;
    }
    ncalls_.update([](std::size_t& n) { ++n; });
    if (err) return r.error(*err);
    if (keep) {
      std::lock_guard l(mu_);
      held_.push_back(std::move(r));
      return;
    }
    r.ok(body);
  }

  std::string id_;
  std::mutex mu_;
  std::vector<DockCall> calls_;
  std::map<std::string, std::string> errors_;
  std::set<std::string> held_ops_;
  std::vector<Reply> held_;
  std::string ps_ = "[]";
  Waiter<std::size_t> ncalls_;
};


}  // namespace hms::hubtest
