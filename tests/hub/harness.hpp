// Test harness for the hub end-to-end tests: an in-process Hub on a private
// database, docks and clients (engine Peers on a client-side reactor) that
// record what they receive, a raw blocking socket for byte-level checks, and
// a child process runner for the hms-hub binary.
//
// Nothing here may hang ctest: every wait has a deadline, every socket call a
// timeout, and every child process is killed (by its pid) when its runner is
// destroyed.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/loop.hpp"
#include "hms/frame.hpp"
#include "hms/peer.hpp"
#include "hub.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// From the sanitizer runtime (sanitizer/allocator_interface.h, which not
// every toolchain installs).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace hms::hubtest {

using namespace std::chrono_literals;
using hms::test::LoopThread;
using hms::test::Waiter;

// Generous: a loaded CI box may be slow, but a hung wait must still end.
inline constexpr std::chrono::milliseconds kWait = 10s;

inline const std::string kTerminalReply =
    std::string(R"({"type":"terminal","version":")") + hub::kHubVersion + "\"}";

// ------------------------------------------------------------------ basics

// A private directory under /tmp, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hms-hub-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Options for an in-process hub: loopback only, any free port, a database in
// `dir`.
inline hub::HubOptions hub_options(const TempDir& dir, unsigned threads = 1) {
  hub::HubOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.db = dir.file("hub.db");
  o.threads = threads;
  return o;
}

// An in-process hub, started. Declare it before the LoopThread and the
// peers of a test, so that they go first and the hub stops last.
struct RunningHub {
  explicit RunningHub(hub::HubOptions o) : opts(std::move(o)), hub(std::make_unique<hub::Hub>(opts)) {
    hub->start();
    port = hub->port();
  }
  hub::HubOptions opts;
  std::unique_ptr<hub::Hub> hub;
  std::uint16_t port = 0;
};

// Memory this process (the in-process hub included) holds: its resident
// set size. Under ASan/TSan the allocator keeps freed blocks in quarantine
// and RSS says little about live memory, so there it is the sanitizer's
// count of allocated heap bytes instead.
inline std::size_t memory_in_use() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return __sanitizer_get_current_allocated_bytes();
#else
  std::ifstream in("/proc/self/statm");
  std::size_t pages_total = 0, pages_resident = 0;
  in >> pages_total >> pages_resident;
  return pages_resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
#endif
}

// The value of the first sample of `series` (a metric name with its labels,
// if any, as written: `hms_connections{kind="dock"}`), or -1 when absent.
inline double metric(const std::string& text, std::string_view series) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (line.size() > series.size() && line.substr(0, series.size()) == series &&
        line[series.size()] == ' ')
      return std::strtod(std::string(line.substr(series.size() + 1)).c_str(), nullptr);
    pos = end + 1;
  }
  return -1;
}

// eventually(pred, limit): from engine/loop.hpp (yields between looks).
using hms::test::eventually;

// A helper's precondition: when it does not hold, the test stops here with
// the message (gtest reports the exception), rather than going on with a
// broken peer and failing later, somewhere less clear.
struct HarnessFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
inline void require(bool ok, const std::string& what) {
  if (!ok) throw HarnessFailure(what);
}

// The exact bytes of a one-way event frame as a reference dock sends it
// (and as the hub must relay it): id `service@origin`.
inline std::string event_bytes(Opcode op, std::string_view service, std::string_view origin,
                               std::string_view payload) {
  std::string out(message_head_size(service.size() + 1 + origin.size()), '\0');
  encode_event_head(reinterpret_cast<std::uint8_t*>(out.data()), op, service, origin, payload.size());
  out.append(payload);
  return out;
}

inline std::string plain_frame(FrameType t, std::uint16_t rid, std::string_view body) {
  std::string out(kHeaderSize, '\0');
  encode_header(reinterpret_cast<std::uint8_t*>(out.data()), t, rid, static_cast<std::uint32_t>(body.size()));
  out.append(body);
  return out;
}

inline std::string message_frame(FrameType t, std::uint16_t rid, Opcode op, std::string_view id,
                                 std::string_view payload) {
  std::string out(message_head_size(id.size()), '\0');
  encode_message_head(reinterpret_cast<std::uint8_t*>(out.data()), t, rid, op, id, payload.size());
  out.append(payload);
  return out;
}

// Every byte value once, then pseudo-random bytes (seeded): a payload that
// no text-only or NUL-terminated path would carry intact.
inline std::string binary_payload(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(i < 256 ? i : (x >> 24));
  }
  return s;
}

// All values of `"id":"..."` members in a JSON text, in order (service ids
// are plain alphanumericish, so no escapes to worry about).
inline std::vector<std::string> ids_in(const std::string& json) {
  std::vector<std::string> out;
  const std::string key = "\"id\":\"";
  for (std::size_t p = json.find(key); p != std::string::npos; p = json.find(key, p)) {
    p += key.size();
    const std::size_t e = json.find('"', p);
    if (e == std::string::npos) break;
    out.push_back(json.substr(p, e - p));
    p = e;
  }
  return out;
}

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

// ------------------------------------------------------------------ raw socket

// A blocking loopback TCP socket with send/receive timeouts.
class RawSocket {
 public:
  // rcvbuf > 0 pins the receive buffer small (set before connect, so TCP
  // advertises a small window and autotuning stays off).
  explicit RawSocket(std::uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      throw std::runtime_error(std::string("connect failed: ") + std::strerror(errno));
    }
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Appends what arrives within `timeout` to buf_; false on EOF or error.
  bool read_some(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return true;
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  // Reads until EOF (or error) or the deadline; true if the stream ended.
  bool read_to_end(std::chrono::milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline)
      if (!read_some(50ms)) return true;
    return false;
  }
  // Reads until buf_ holds `n` bytes or the deadline.
  bool read_at_least(std::size_t n, std::chrono::milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf_.size() < n && std::chrono::steady_clock::now() < deadline)
      if (!read_some(50ms)) break;
    return buf_.size() >= n;
  }
  std::string& buffer() { return buf_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string buf_;
};

// A plain HTTP request on the hub's port; returns {status line, body}.
inline std::pair<std::string, std::string> http_get(std::uint16_t port, const std::string& path) {
  RawSocket s(port);
  s.send_all("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  s.read_to_end();
  const std::string& all = s.buffer();
  const std::size_t eol = all.find("\r\n");
  const std::size_t head_end = all.find("\r\n\r\n");
  if (eol == std::string::npos || head_end == std::string::npos) return {all, ""};
  return {all.substr(0, eol), all.substr(head_end + 4)};
}

// ------------------------------------------------------------------ child process

// A child process with its stdout on a pipe, read line by line. Killed with
// SIGKILL (by pid) and reaped when the runner is destroyed; the child also
// gets SIGKILL if this process dies first (PR_SET_PDEATHSIG).
class Child {
 public:
  Child(const std::string& path, const std::vector<std::string>& args,
        const std::vector<std::string>& env_add = {}) {
    // A write to the stdin of a child that died must fail, not kill us.
    ::signal(SIGPIPE, SIG_IGN);
    int out[2], in[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> argv_s;
    argv_s.push_back(path);
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
    env_s.insert(env_s.end(), env_add.begin(), env_add.end());
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // Only async-signal-safe calls from here to exec.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(out[1], 1);
      dup2(in[0], 0);
      execve(path.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    out_ = out[0];
    in_ = in[1];
  }
  ~Child() {
    kill9();
    if (out_ >= 0) ::close(out_);
    if (in_ >= 0) ::close(in_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // read_line() saw the end of the child's stdout.
  bool at_eof() const { return eof_ && buf_.find('\n') == std::string::npos; }

  // SIGKILL and reap; returns the wait status.
  int kill9() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    pid_ = -1;
    return status_;
  }
  // Waits up to `timeout` for the child to exit by itself.
  bool wait_exit(std::chrono::milliseconds timeout, int* status) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // A pidfd becomes readable when the child exits: wait on it, no polling.
    const int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    while (pid_ > 0) {
      const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        break;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        if (pfd >= 0) ::close(pfd);
        return false;
      }
      pollfd p{pfd, POLLIN, 0};
      if (pfd < 0 || ::poll(&p, 1, static_cast<int>(left.count())) < 0) std::this_thread::yield();
    }
    if (pfd >= 0) ::close(pfd);
    if (status) *status = status_;
    return true;
  }

  bool send_line(std::string_view line) {
    std::string l(line);
    l += '\n';
    std::string_view d(l);
    while (!d.empty()) {
      const ssize_t n = ::write(in_, d.data(), d.size());
      if (n <= 0) return false;
      d.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  void close_stdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }

  // Next line of stdout, or nullopt on EOF/timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || eof_) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char tmp[65536];
      const ssize_t n = ::read(out_, tmp, sizeof tmp);
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1, in_ = -1;
  int status_ = 0;
  std::string buf_;
  bool eof_ = false;
};

using ClientOpts = TestClient::Options;
using DockOpts = TestDock::Options;

}  // namespace hms::hubtest
