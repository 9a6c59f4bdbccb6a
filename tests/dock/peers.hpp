// Protocol peers for the dock tests, on an engine reactor of their own:
//   FakeHub  what a hub is to a dock: accepts its CONNECT and handshake,
//            sends it commands, records its events, and serves
//            `GET /<id>` tarballs on the same port (hms-hub does not serve
//            builds yet).
//   Client   a protocol client of a hub or of the dock's own port.
// Requests are made from the test thread and waited for with a deadline.
#pragma once

#include <future>
#include <map>
#include <memory>
#include <mutex>

#include "dock/harness.hpp"
#include "engine/loop.hpp"
#include "hms/peer.hpp"

namespace hms::docktest {

using hms::test::LoopThread;
using hms::test::Waiter;

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

// An event (stdout, stderr, spawn, exit) as a peer received it.
struct Event {
  Opcode op;
  std::string service, origin, payload;
};

// Events by arrival, with waits.
class EventLog {
 public:
  void add(const Message& m) {
    {
      std::lock_guard l(mu_);
      events_.push_back(Event{static_cast<Opcode>(m.opcode), std::string(m.service), std::string(m.origin),
                              std::string(m.payload)});
    }
    n_.update([](std::size_t& n) { ++n; });
  }
  std::vector<Event> all() {
    std::lock_guard l(mu_);
    return events_;
  }
  std::size_t count(Opcode op, const std::string& service) {
    std::size_t n = 0;
    for (const auto& e : all()) n += e.op == op && e.service == service;
    return n;
  }
  // All stdout (or stderr) payload of `service`, concatenated.
  std::string bytes(Opcode op, const std::string& service) {
    std::string out;
    for (const auto& e : all())
      if (e.op == op && e.service == service) out += e.payload;
    return out;
  }
  bool wait(const std::function<bool(EventLog&)>& pred, std::chrono::milliseconds timeout = kWait) {
    return n_.wait_for([&](std::size_t) { return pred(*this); }, timeout) || pred(*this);
  }
  bool wait_count(Opcode op, const std::string& service, std::size_t n, std::chrono::milliseconds t = kWait) {
    return wait([&](EventLog& e) { return e.count(op, service) >= n; }, t);
  }
  bool wait_bytes(Opcode op, const std::string& service, std::size_t n, std::chrono::milliseconds t = kWait) {
    return wait([&](EventLog& e) { return e.bytes(op, service).size() >= n; }, t);
  }
  // Spawn payloads (pids) of `service`, in order.
  std::vector<std::string> spawns(const std::string& service) {
    std::vector<std::string> out;
    for (const auto& e : all())
      if (e.op == Opcode::spawn && e.service == service) out.push_back(e.payload);
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<Event> events_;
  Waiter<std::size_t> n_;  // notified on every event
};

inline void record_events(Peer& p, const std::shared_ptr<EventLog>& log) {
  for (Opcode op : {Opcode::stdout_, Opcode::stderr_, Opcode::spawn, Opcode::exit})
    p.on(op, [log](Peer&, const Message& m, Reply) { log->add(m); });
}

inline Got await(std::future<Got>& f, std::chrono::milliseconds timeout) {
  if (f.wait_for(timeout) != std::future_status::ready) return Got{Result::Status::rejected, "<timeout>"};
  return f.get();
}

// ------------------------------------------------------------------ hub

class FakeHub {
 public:
  // `early`: ids the hub subscribes a dock to in the same breath as its
  // handshake, *before* the reply, as the reference terminal and hms-hub do
  // when clients already listen.
  explicit FakeHub(std::vector<std::string> early = {}) : early_(std::move(early)) {
    loop_.call([&] {
      ListenOptions lo;
      lo.banner = "hms-terminal fake\n";
      lo.http = [this](const HttpRequest& req) {
        HttpResponse r;
        std::lock_guard l(mu_);
        const std::string id(req.head.target.substr(1));
        ++gets_[id];
        if (auto it = builds_.find(id); it != builds_.end()) {
          r.content_type = "application/octet-stream";
          r.body = it->second;
        } else {
          r.status = 404;
          r.body = "Service not found";
        }
        return r;
      };
      Listener& l = loop_.reactor().listen("127.0.0.1:0", lo, [this](Connection& c) { accept(c); });
      port_ = loop_.reactor().listen_port(l);
    });
  }
  ~FakeHub() {
    loop_.call([&] {
      if (dock_ && !dock_->closed()) dock_->close();
    });
    loop_.stop();
  }

  std::uint16_t port() const { return port_; }
  EventLog& events() { return *events_; }

  void serve(const std::string& id, std::string tarball) {
    std::lock_guard l(mu_);
    builds_[id] = std::move(tarball);
  }
  int gets(const std::string& id) {
    std::lock_guard l(mu_);
    return gets_[id];
  }
  // Waits until a dock has connected and handshaken (the n-th time).
  bool wait_dock(int nth = 1, std::chrono::milliseconds t = kWait) {
    return handshakes_.wait_for([nth](int n) { return n >= nth; }, t);
  }
  std::string last_handshake() {
    std::lock_guard l(mu_);
    return handshake_;
  }
  bool dock_connected() {
    return loop_.call([&] { return dock_ && !dock_->closed(); });
  }
  // Drops the dock's connection from our side.
  void drop_dock() {
    loop_.call([&] {
      if (dock_) dock_->close();
    });
  }

  // A request to the dock.
  Got call(Opcode op, const std::string& id, const std::string& payload = {},
           std::chrono::milliseconds timeout = kWait) {
    auto pr = std::make_shared<std::promise<Got>>();
    auto fut = pr->get_future();
    loop_.reactor().post([this, op, id, payload, pr] {
      if (!dock_ || dock_->closed()) return pr->set_value(Got{Result::Status::closed, "no dock"});
      dock_->request(op, id, payload, [pr](const Result& r) { pr->set_value(Got{r.status, std::string(r.text)}); });
    });
    return await(fut, timeout);
  }
  Got sync(const std::string& id, const std::string& service_json, std::chrono::milliseconds t = kWait) {
    return call(Opcode::sync, id, service_json, t);
  }
  Got start(const std::string& id) { return call(Opcode::start, id); }
  Got stop(const std::string& id, std::chrono::milliseconds t = kWait) { return call(Opcode::stop, id, {}, t); }
  Got restart(const std::string& id) { return call(Opcode::restart, id); }
  Got ps() { return call(Opcode::ps, ""); }
  Got subscribe(const std::string& id) { return call(Opcode::subscribe, id); }
  Got unsubscribe(const std::string& id) { return call(Opcode::unsubscribe, id); }

 private:
  void accept(Connection& c) {
    auto p = Peer::attach(c);
    record_events(*p, events_);
    std::weak_ptr<Peer> weak = p;
    p->on(Opcode::handshake, [this, weak](Peer&, const Message& m, Reply r) {
      {
        std::lock_guard l(mu_);
        handshake_ = std::string(m.payload);
      }
      dock_ = weak.lock();
      for (const auto& id : early_) dock_->subscribe(id, [](const Result&) {});
      r.ok(R"({"type":"terminal","version":"fake"})");
      handshakes_.update([](int& n) { ++n; });
    });
  }

  std::vector<std::string> early_;
  LoopThread loop_;
  std::uint16_t port_ = 0;
  std::shared_ptr<EventLog> events_ = std::make_shared<EventLog>();
  std::shared_ptr<Peer> dock_;  // loop thread
  std::mutex mu_;
  std::map<std::string, std::string> builds_;
  std::map<std::string, int> gets_;
  std::string handshake_;
  Waiter<int> handshakes_;
};

// ------------------------------------------------------------------ client

class Client {
 public:
  // Connects with CONNECT and handshakes as a client (unless told not to).
  Client(std::uint16_t port, bool handshake = true) {
    loop_.call([&] {
      peer_ = Peer::connect(loop_.reactor(), "127.0.0.1:" + std::to_string(port), ConnectOptions{});
      record_events(*peer_, events_);
      peer_->on_close([this](const CloseInfo&) { closed_.set(true); });
    });
    if (handshake) handshake_reply = call(Opcode::handshake, "", R"({"type":"client","version":"test","protocol":1})");
  }
  ~Client() {
    loop_.call([&] {
      if (peer_ && !peer_->closed()) peer_->close();
    });
    closed_.wait_for([](bool c) { return c; }, kWait);
    loop_.stop();
  }

  Got call(Opcode op, const std::string& id, const std::string& payload = {},
           std::chrono::milliseconds timeout = kWait) {
    auto pr = std::make_shared<std::promise<Got>>();
    auto fut = pr->get_future();
    loop_.reactor().post([this, op, id, payload, pr] {
      peer_->request(op, id, payload, [pr](const Result& r) { pr->set_value(Got{r.status, std::string(r.text)}); });
    });
    return await(fut, timeout);
  }
  EventLog& events() { return *events_; }
  // Through a hub: waits until its ps lists the dock `id` (a dock logs
  // "connection to remote established" before its handshake is done, and a
  // hub places services only on docks that have handshaken).
  bool wait_dock_listed(const std::string& id, std::chrono::milliseconds t = kWait) {
    return eventually([&] { return call(Opcode::ps, "").text.find(R"({"id":")" + id + "\"") != std::string::npos; }, t);
  }
  bool wait_closed(std::chrono::milliseconds t = kWait) {
    return closed_.wait_for([](bool c) { return c; }, t);
  }

  Got handshake_reply;

 private:
  LoopThread loop_;
  std::shared_ptr<Peer> peer_;
  std::shared_ptr<EventLog> events_ = std::make_shared<EventLog>();
  Waiter<bool> closed_;
};

}  // namespace hms::docktest
