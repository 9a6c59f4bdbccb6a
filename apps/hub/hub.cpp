#include "hub.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <functional>
#include <random>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "hms/control.hpp"
#include "hms/log.hpp"
#include "hms/peer.hpp"
#include "hms/reactor.hpp"
#include "registry.hpp"

namespace hms::hub {

// Error texts the reference terminal sends, byte for byte.
constexpr std::string_view kNotFound = "Service not found";
constexpr std::string_view kExists = "Service already exist";
constexpr std::string_view kBadName = "Service name should be alphanumericish";
constexpr std::string_view kBadProtocol = "Server and client do not speak the same protocol";
constexpr std::string_view kBadHandshake = "Invalid handshake";
constexpr std::string_view kBadToken = "Invalid token";

namespace {

struct Owned {
  Result::Status status = Result::Status::ok;
  std::string text;
  bool ok() const { return status == Result::Status::ok; }
};

struct SvHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

bool valid_service_name(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// What docks get before a start/stop/restart. The reference builds
// {start, build, env, tags, limit, docks} and JSON.stringify drops the
// absent members, so they go out in that order (to_json(Service) uses the
// registry's order, which puts env last).
std::string update_body(const Service& s) {
  std::string out;
  JsonWriter w(out);
  auto strings = [&w](const std::vector<std::string>& v) {
    w.begin_array();
    for (const auto& x : v) w.string(x);
    w.end_array();
  };
  w.begin_object();
  if (s.start) w.key("start").string(*s.start);
  if (s.build) w.key("build").string(*s.build);
  if (s.env) {
    w.key("env").begin_object();
    for (const auto& [k, v] : *s.env) w.key(k).string(v);
    w.end_object();
  }
  if (s.tags) {
    w.key("tags");
    strings(*s.tags);
  }
  if (s.limit) w.key("limit").number(*s.limit);
  else if (s.limit_raw) w.key("limit").raw(*s.limit_raw);
  if (s.docks) {
    w.key("docks");
    strings(*s.docks);
  }
  w.end_object();
  return out;
}

// Compares without an early exit, so the time taken does not tell how much
// of a guessed token was right.
bool constant_time_equal(std::string_view a, std::string_view b) {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

// Whether a JSON text is falsy in JavaScript once parsed (null, false, "",
// 0); an empty text (no reply body) counts as falsy too.
bool json_falsy(std::string_view t) {
  if (t.empty() || t == "null" || t == "false" || t == "\"\"") return true;
  if (t.front() == '-' || (t.front() >= '0' && t.front() <= '9'))
    return std::strtod(std::string(t).c_str(), nullptr) == 0;
  return false;
}

// Counters a shard publishes for /metrics (written by its thread every
// 250 ms, read by whichever thread serves the request; relaxed is enough,
// these are independent gauges).
enum Metric : std::size_t {
  m_frames_in, m_bytes_in, m_frames_out, m_bytes_out, m_assembled, m_pinned_copies,
  m_protocol_errors, m_slow_disconnects, m_buffer_stalls, m_loop_iterations, m_loop_busy_ns,
  m_log_frames, m_deliveries, m_count
};

}  // namespace

struct Shard;

struct DockInfo {
  std::string id, hostname, version;
  std::vector<std::string> tags;
  bool is_default = false;
  Shard* shard = nullptr;
  std::weak_ptr<Peer> peer;
};

struct ConnState {
  enum class Kind : std::uint8_t { pending, failed, dock, client } kind = Kind::pending;
  Shard* shard = nullptr;
  Peer* peer = nullptr;  // valid until on_close (the peer owns this state)
  std::uint64_t key = 0;
  // client
  std::optional<std::string> route;
  bool globbing = false;  // subscribed to '*'
  std::unordered_set<std::string> local_subs;
  // dock
  std::shared_ptr<DockInfo> dock;
};

// A log frame bound for another shard: a reference to its bytes.
struct Outgoing {
  BufRef keep;
  const std::uint8_t* start;
  std::size_t len;
};

struct Shard {
  HubImpl* hub = nullptr;
  std::vector<std::vector<Outgoing>> outbox;  // by destination shard
  unsigned index = 0;
  std::unique_ptr<Reactor> reactor;
  std::thread thread;
  JsonParser parser;
  std::shared_ptr<HandlerTable> pre, client, dock;
  // Local fan-out tables (this shard's thread only).
  std::unordered_map<std::string, std::vector<ConnState*>, SvHash, std::equal_to<>> subs;
  std::vector<ConnState*> star;
  // Entries in the tables above; other shards read it (relaxed) to decide
  // whether to post a log frame here at all.
  std::atomic<std::uint32_t> local_entries{0};
  std::uint64_t log_frames = 0, deliveries = 0;
  std::array<std::atomic<std::uint64_t>, m_count> snap{};
};

class HubImpl {
 public:
  explicit HubImpl(const HubOptions& o);
  void start();
  void stop();
  std::string metrics() const;
  std::uint16_t port = 0;

 private:
  // ---- plumbing
  void run_on(Shard& s, std::function<void()> fn) {
    if (s.reactor->in_loop_thread()) fn();
    else s.reactor->post(std::move(fn));
  }
  Shard& control() { return *shards_[0]; }
  void to_control(std::function<void()> fn) { run_on(control(), std::move(fn)); }

  void setup_shard(Shard& s);
  void on_accept(Shard& s, Connection& c);
  void on_conn_close(ConnState& st);
  void on_handshake(Shard& s, Peer& p, const Message& m, Reply r);
  void on_client_request(Shard& s, Peer& p, const Message& m, Reply r);

  // ---- fan-out (any shard)
  void publish(Shard& s, const FrameView& f, const BufRef& storage);
  void deliver(Shard& s, const FrameView& f, const BufRef& storage);
  void flush_outbox(Shard& s);
  void add_local(Shard& s, ConnState* st, const std::string& id);
  void remove_local(Shard& s, ConnState* st, const std::string& id);

  // ---- control shard only
  struct Request {
    std::uint8_t op;
    std::string id;
    std::string payload;
    std::shared_ptr<Reply> reply;
    Shard* from;
    std::shared_ptr<ConnState> st;
    std::optional<std::string> route;
    std::uint64_t key;
  };
  void handle(Request req);
  void answer(const Request& req, bool ok, std::string text);
  using Issue = std::function<void(Peer&, ReplyCallback)>;
  void dock_call(const std::shared_ptr<DockInfo>& d, Issue issue, std::function<void(Owned)> done);
  void for_each(std::vector<std::shared_ptr<DockInfo>> list,
                const std::function<Issue(const DockInfo&)>& make,
                std::function<void(bool, std::string, std::vector<std::string>)> cb);
  std::vector<std::shared_ptr<DockInfo>> routed_docks(const std::optional<std::string>& route) const;
  bool save(const std::string& id, const Service& opts, std::string* err);
  void status_change(Request req, Opcode op);
  void sync(Request req, Service service);
  void client_subscribe(Request req);
  void client_unsubscribe(Request req);
  void client_gone(std::uint64_t key);
  void global_unsubscribe(const std::string& id);
  void dock_subscription(const std::shared_ptr<DockInfo>& d, const std::string& id, bool on);

  HubOptions opts_;
  std::string version_banner_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::uint64_t> next_key_{1};
  std::atomic<std::int64_t> docks_connected_{0}, clients_connected_{0}, pending_connected_{0};
  std::atomic<std::uint64_t> handshake_errors_{0};
  bool started_ = false;

  // Control state (shard 0's thread only).
  std::unique_ptr<Registry> registry_;
  std::vector<std::shared_ptr<DockInfo>> docks_;
  std::unordered_map<std::string, std::uint32_t> sub_counts_;
  std::unordered_map<std::uint64_t, std::unordered_set<std::string>> client_subs_;
  std::mt19937 rng_{std::random_device{}()};
  std::atomic<std::uint64_t> services_{0};
};

// ---------------------------------------------------------------- setup

HubImpl::HubImpl(const HubOptions& o) : opts_(o) {
  if (opts_.threads == 0) throw std::invalid_argument("--threads must be at least 1");
  if (opts_.threads > 64) throw std::invalid_argument("--threads must be at most 64");
  registry_ = std::make_unique<Registry>(opts_.db);
  services_.store(registry_->size(), std::memory_order_relaxed);
  version_banner_ = std::string("hms-terminal ") + kHubVersion + "\n";
}

void HubImpl::start() {
  // Thousands of docks need thousands of descriptors: raise the soft limit
  // to the hard one.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  for (unsigned i = 0; i < opts_.threads; ++i) {
    auto s = std::make_unique<Shard>();
    s->hub = this;
    s->index = i;
    ReactorOptions ro;
    ro.recv_buffers = opts_.recv_buffers;
    ro.recv_buffer_size = opts_.recv_buffer_size;
    s->reactor = std::make_unique<Reactor>(ro);
    shards_.push_back(std::move(s));
  }
  const std::string host = opts_.address.find(':') != std::string::npos ? "[" + opts_.address + "]"
                                                                        : opts_.address;
  std::uint16_t bound = opts_.port;
  for (auto& sp : shards_) {
    Shard& s = *sp;
    setup_shard(s);
    ListenOptions lo;
    lo.conn.limits = opts_.client_limits;
    lo.reuse_port = opts_.threads > 1;
    lo.banner = version_banner_;
    lo.http = [this](const HttpRequest& req) {
      HttpResponse r;
      if (req.head.method == HttpMethod::get && req.head.target == "/metrics") {
        r.content_type = "text/plain; version=0.0.4";
        r.body = metrics();
      } else if (req.head.method == HttpMethod::get && req.head.target == "/") {
        r.body = version_banner_;
      } else {
        r.status = 404;
        r.body = "Not found\n";
      }
      return r;
    };
    Listener& l = s.reactor->listen(host + ":" + std::to_string(bound), lo,
                                    [this, &s](Connection& c) { on_accept(s, c); });
    bound = s.reactor->listen_port(l);
  }
  port = bound;
  for (auto& sp : shards_) {
    Shard* s = sp.get();
    s->outbox.resize(shards_.size());
    s->reactor->add_before_flush([this, s] { flush_outbox(*s); });
    s->reactor->add_periodic(std::chrono::milliseconds(250), [s] {
      const ReactorStats& st = s->reactor->stats();
      auto put = [s](Metric m, std::uint64_t v) { s->snap[m].store(v, std::memory_order_relaxed); };
      put(m_frames_in, st.frames_in);
      put(m_bytes_in, st.bytes_in);
      put(m_frames_out, st.frames_out);
      put(m_bytes_out, st.bytes_out);
      put(m_assembled, st.assembled_frames);
      put(m_pinned_copies, st.pinned_copies);
      put(m_protocol_errors, st.protocol_errors);
      put(m_slow_disconnects, st.slow_disconnects);
      put(m_buffer_stalls, st.buffer_stalls);
      put(m_loop_iterations, st.loop_iterations);
      put(m_loop_busy_ns, st.loop_busy_ns);
      put(m_log_frames, s->log_frames);
      put(m_deliveries, s->deliveries);
    });
    s->thread = std::thread([s] { s->reactor->run(); });
  }
  started_ = true;
  HMS_LOG(info, "hub listening on %s:%u (%u thread%s, %s, registry %s with %zu services)", host.c_str(),
          port, opts_.threads, opts_.threads == 1 ? "" : "s", to_string(shards_[0]->reactor->backend()),
          opts_.db.c_str(), static_cast<std::size_t>(services_.load(std::memory_order_relaxed)));
}

void HubImpl::stop() {
  if (!started_) return;
  started_ = false;
  for (auto& s : shards_) s->reactor->stop();
  for (auto& s : shards_)
    if (s->thread.joinable()) s->thread.join();
}

void HubImpl::setup_shard(Shard& s) {
  s.pre = std::make_shared<HandlerTable>();
  s.client = std::make_shared<HandlerTable>();
  s.dock = std::make_shared<HandlerTable>();
  s.pre->set(Opcode::handshake, [this, &s](Peer& p, const Message& m, Reply r) {
    on_handshake(s, p, m, std::move(r));
  });
  // A second handshake gets what the reference's once('handshake') gives.
  for (Opcode op : {Opcode::add, Opcode::update, Opcode::remove, Opcode::get, Opcode::list,
                    Opcode::sync, Opcode::start, Opcode::stop, Opcode::restart, Opcode::ps,
                    Opcode::subscribe, Opcode::unsubscribe}) {
    s.client->set(op, [this, &s](Peer& p, const Message& m, Reply r) {
      on_client_request(s, p, m, std::move(r));
    });
  }
  for (Opcode op : {Opcode::stdout_, Opcode::stderr_, Opcode::spawn, Opcode::exit}) {
    s.dock->set(op, [this, &s](Peer&, const Message& m, Reply) {
      ++s.log_frames;
      publish(s, *m.frame, *m.storage);
    });
  }
}

void HubImpl::on_accept(Shard& s, Connection& c) {
  auto peer = Peer::attach(c);
  peer->set_handlers(s.pre);
  auto st = std::make_shared<ConnState>();
  st->shard = &s;
  st->peer = peer.get();
  st->key = next_key_.fetch_add(1, std::memory_order_relaxed);
  peer->user = st;
  pending_connected_.fetch_add(1, std::memory_order_relaxed);
  ConnState* raw = st.get();
  peer->on_close([this, raw](const CloseInfo& info) {
    HMS_LOG(debug, "connection %llu closed: %s", static_cast<unsigned long long>(raw->key),
            info.message.c_str());
    on_conn_close(*raw);
  });
}

void HubImpl::on_conn_close(ConnState& st) {
  Shard& s = *st.shard;
  switch (st.kind) {
    case ConnState::Kind::pending:
    case ConnState::Kind::failed:
      pending_connected_.fetch_sub(1, std::memory_order_relaxed);
      break;
    case ConnState::Kind::client: {
      clients_connected_.fetch_sub(1, std::memory_order_relaxed);
      const std::vector<std::string> ids(st.local_subs.begin(), st.local_subs.end());
      for (const auto& id : ids) remove_local(s, &st, id);
      if (st.globbing) remove_local(s, &st, "*");
      const std::uint64_t key = st.key;
      to_control([this, key] { client_gone(key); });
      break;
    }
    case ConnState::Kind::dock: {
      docks_connected_.fetch_sub(1, std::memory_order_relaxed);
      auto d = st.dock;
      HMS_LOG(info, "connection to dock (%s) dropped", d->id.c_str());
      to_control([this, d] {
        auto it = std::find(docks_.begin(), docks_.end(), d);
        if (it != docks_.end()) docks_.erase(it);
      });
      break;
    }
  }
  st.peer = nullptr;
}

void HubImpl::on_handshake(Shard& s, Peer& p, const Message& m, Reply r) {
  auto* st = static_cast<ConnState*>(p.user.get());
  if (st->kind != ConnState::Kind::pending) {
    r.error(kNotSupported);
    return;
  }
  auto fail = [&](std::string_view why, bool close) {
    st->kind = ConnState::Kind::failed;
    handshake_errors_.fetch_add(1, std::memory_order_relaxed);
    HMS_LOG(info, "%s: handshake refused: %.*s", p.connection() ? p.connection()->peer_name().c_str() : "?",
            static_cast<int>(why.size()), why.data());
    r.error(why);
    if (close) p.close();
  };
  // The payload lives in a receive buffer with padding behind it.
  Parsed<Handshake> hs;
  const std::string_view text = trim_json_space(m.payload) == "null" ? std::string_view("{}") : m.payload;
  if (text.data() == m.payload.data())
    hs = parse_handshake(s.parser, PaddedText{m.payload.data(), m.payload.size()});
  else
    hs = parse_handshake_copy(s.parser, text);
  if (!hs) {
    // The reference reads `protocol` from whatever JSON.parse gave, so a
    // non-object handshake gets the protocol error; bad JSON would throw
    // there, and a known member of the wrong type is our stricter parse.
    // All answer the protocol error (as hms/control.hpp documents).
    HMS_LOG(info, "handshake is not usable JSON: %s at byte %zu", to_string(hs.error), hs.error_offset);
    fail(kBadProtocol, false);
    return;
  }
  const Handshake& h = *hs.value;
  if (!h.protocol || *h.protocol != 1) return fail(kBadProtocol, false);
  if (opts_.token && !(h.token && constant_time_equal(*h.token, *opts_.token)))
    return fail(kBadToken, true);
  std::string reply;
  JsonWriter w(reply);
  w.begin_object().key("type").string("terminal").key("version").string(kHubVersion).end_object();
  if (h.type == "dock") {
    auto d = std::make_shared<DockInfo>();
    d->id = h.id;
    d->hostname = h.hostname;
    d->version = h.version;
    d->tags = h.tags;
    d->is_default = h.is_default;
    d->shard = &s;
    d->peer = p.weak_from_this();
    st->kind = ConnState::Kind::dock;
    st->dock = d;
    pending_connected_.fetch_sub(1, std::memory_order_relaxed);
    docks_connected_.fetch_add(1, std::memory_order_relaxed);
    p.set_handlers(s.dock);
    HMS_LOG(info, "connection to dock (%s) established", d->id.c_str());
    to_control([this, d] {
      docks_.push_back(d);
      // A new dock hears about every id somebody already listens to.
      for (const auto& [id, n] : sub_counts_) dock_subscription(d, id, true);
    });
    r.ok(reply);
    return;
  }
  if (h.type == "client") {
    st->kind = ConnState::Kind::client;
    st->route = h.route;
    pending_connected_.fetch_sub(1, std::memory_order_relaxed);
    clients_connected_.fetch_add(1, std::memory_order_relaxed);
    p.set_handlers(s.client);
    r.ok(reply);
    return;
  }
  fail(kBadHandshake, false);
}

void HubImpl::on_client_request(Shard& s, Peer& p, const Message& m, Reply r) {
  auto st = std::static_pointer_cast<ConnState>(p.user);
  Request req;
  req.op = m.opcode;
  req.id = std::string(m.service);
  req.payload = std::string(m.payload);
  req.reply = std::make_shared<Reply>(std::move(r));
  req.from = &s;
  req.route = st->route;
  req.key = st->key;
  req.st = std::move(st);
  to_control([this, req = std::move(req)]() mutable { handle(std::move(req)); });
}

// ---------------------------------------------------------------- fan-out

void HubImpl::publish(Shard& s, const FrameView& f, const BufRef& storage) {
  if (s.local_entries.load(std::memory_order_relaxed)) deliver(s, f, storage);
  if (shards_.size() == 1) return;
  for (auto& other : shards_) {
    if (other.get() == &s || !other->local_entries.load(std::memory_order_relaxed)) continue;
    // The other shard gets a reference to the same bytes, not a copy; the
    // frames bound for it are handed over in one post per loop pass
    // (flush_outbox), not one per frame.
    s.outbox[other->index].push_back(Outgoing{storage, f.body - kHeaderSize, kHeaderSize + f.header.length});
  }
}

void HubImpl::flush_outbox(Shard& s) {
  for (std::size_t i = 0; i < s.outbox.size(); ++i) {
    if (s.outbox[i].empty()) continue;
    auto batch = std::make_shared<std::vector<Outgoing>>(std::move(s.outbox[i]));
    s.outbox[i].clear();
    Shard* o = shards_[i].get();
    o->reactor->post([this, o, batch] {
      for (const Outgoing& out : *batch) {
        const DecodeResult r = decode_frame(out.start, out.len);
        if (r.status == DecodeStatus::frame) deliver(*o, r.frame, out.keep);
      }
    });
  }
}

void HubImpl::deliver(Shard& s, const FrameView& f, const BufRef& storage) {
  const MessageView& m = f.message;
  // The dock's frame is exactly what the reference would send the client
  // (one-way, id service@origin): relay the same bytes. Anything else (a
  // request-typed event, an id without '@') is re-encoded as the reference
  // re-encodes it.
  const bool as_is = f.header.type == FrameType::message && f.header.request_id == 0 && m.has_origin;
  std::string reencoded_id;
  if (!as_is) reencoded_id = std::string(m.service) + "@" + std::string(m.origin);
  auto send = [&](ConnState* c) {
    if (!c->peer) return;
    ++s.deliveries;
    if (as_is) c->peer->relay(f, storage);
    else c->peer->send_message(static_cast<Opcode>(m.opcode), reencoded_id, m.payload_text());
  };
  if (!s.subs.empty()) {  // skip hashing the id when only '*' is wanted
    auto it = s.subs.find(m.service);
    if (it != s.subs.end())
      for (ConnState* c : it->second)
        if (!c->globbing) send(c);  // '*' subscribers get it below, once
  }
  for (ConnState* c : s.star) send(c);
}

void HubImpl::add_local(Shard& s, ConnState* st, const std::string& id) {
  if (id == "*") {
    if (st->globbing) return;
    st->globbing = true;
    s.star.push_back(st);
  } else {
    if (!st->local_subs.insert(id).second) return;
    s.subs[id].push_back(st);
  }
  s.local_entries.fetch_add(1, std::memory_order_relaxed);
}

void HubImpl::remove_local(Shard& s, ConnState* st, const std::string& id) {
  auto drop = [st](std::vector<ConnState*>& v) {
    auto it = std::find(v.begin(), v.end(), st);
    if (it == v.end()) return false;
    *it = v.back();
    v.pop_back();
    return true;
  };
  bool removed = false;
  if (id == "*") {
    if (!st->globbing) return;
    st->globbing = false;
    removed = drop(s.star);
  } else {
    if (!st->local_subs.erase(id)) return;
    auto it = s.subs.find(id);
    if (it != s.subs.end()) {
      removed = drop(it->second);
      if (it->second.empty()) s.subs.erase(it);
    }
  }
  if (removed) s.local_entries.fetch_sub(1, std::memory_order_relaxed);
}

// ---------------------------------------------------------------- control

void HubImpl::answer(const Request& req, bool ok, std::string text) {
  auto reply = req.reply;
  run_on(*req.from, [reply, ok, text = std::move(text)] {
    if (ok) reply->ok(text);
    else reply->error(text);
  });
}

void HubImpl::dock_call(const std::shared_ptr<DockInfo>& d, Issue issue, std::function<void(Owned)> done) {
  run_on(*d->shard, [this, d, issue = std::move(issue), done = std::move(done)]() mutable {
    auto peer = d->peer.lock();
    if (!peer || peer->closed()) {
      to_control([done] { done(Owned{Result::Status::closed, std::string(kDestroyed)}); });
      return;
    }
    issue(*peer, [this, done](const Result& r) {
      Owned o{r.status, std::string(r.text)};
      to_control([done, o = std::move(o)] { done(o); });
    });
  });
}

void HubImpl::for_each(std::vector<std::shared_ptr<DockInfo>> list,
                       const std::function<Issue(const DockInfo&)>& make,
                       std::function<void(bool, std::string, std::vector<std::string>)> cb) {
  if (list.empty()) {
    cb(true, {}, {});
    return;
  }
  struct State {
    std::size_t missing;
    bool done = false;
    std::vector<std::string> results;
    std::function<void(bool, std::string, std::vector<std::string>)> cb;
  };
  auto state = std::make_shared<State>();
  state->missing = list.size();
  state->cb = std::move(cb);
  for (auto& d : list) {
    dock_call(d, make(*d), [state](Owned o) {
      if (state->done) return;  // the first error already answered
      if (!o.ok()) {
        state->done = true;
        state->cb(false, o.text, {});
        return;
      }
      state->results.push_back(std::move(o.text));
      if (--state->missing == 0) {
        state->done = true;
        state->cb(true, {}, std::move(state->results));
      }
    });
  }
}

std::vector<std::shared_ptr<DockInfo>> HubImpl::routed_docks(const std::optional<std::string>& route) const {
  if (!route) return docks_;
  std::vector<std::shared_ptr<DockInfo>> out;
  for (const auto& d : docks_) {
    if (d->id == *route || std::find(d->tags.begin(), d->tags.end(), *route) != d->tags.end())
      out.push_back(d);
  }
  return out;
}

bool HubImpl::save(const std::string& id, const Service& opts, std::string* err) {
  // xtend(stored || {id}, select(opts, keys)): only these keys are taken.
  Service s;
  if (const Service* cur = registry_->get(id)) s = *cur;
  s.id = id;
  if (opts.start) s.start = opts.start;
  if (opts.build) s.build = opts.build;
  if (opts.limit || opts.limit_raw) {
    s.limit = opts.limit;
    s.limit_raw = opts.limit_raw;
  }
  if (opts.docks) s.docks = opts.docks;
  if (opts.tags) s.tags = opts.tags;
  if (opts.revision) s.revision = opts.revision;
  if (opts.env) s.env = opts.env;
  if (!registry_->put(s)) {
    *err = "registry write failed: " + registry_->last_error();
    return false;
  }
  services_.store(registry_->size(), std::memory_order_relaxed);
  return true;
}

void HubImpl::handle(Request req) {
  JsonParser& parser = control().parser;
  const auto op = static_cast<Opcode>(req.op);
  std::string err;
  switch (op) {
    case Opcode::add: {
      if (registry_->has(req.id)) return answer(req, false, std::string(kExists));
      if (!valid_service_name(req.id)) return answer(req, false, std::string(kBadName));
      auto parsed = parse_service_copy(parser, req.payload);
      if (!parsed) return answer(req, false, std::string("Invalid service: ") + to_string(parsed.error));
      Service opts = std::move(*parsed.value);
      // env = xtend(defaultEnv, opts.env)
      std::vector<std::pair<std::string, std::string>> env = opts_.default_env;
      if (opts.env) {
        for (auto& [k, v] : *opts.env) {
          auto it = std::find_if(env.begin(), env.end(), [&](auto& e) { return e.first == k; });
          if (it != env.end()) it->second = v;
          else env.emplace_back(k, v);
        }
      }
      opts.env = std::move(env);
      HMS_LOG(info, "[%s] adding new service", req.id.c_str());
      if (!save(req.id, opts, &err)) return answer(req, false, err);
      return answer(req, true, {});
    }
    case Opcode::update: {
      if (!registry_->has(req.id)) return answer(req, false, std::string(kNotFound));
      auto parsed = parse_service_copy(parser, req.payload);
      if (!parsed) return answer(req, false, std::string("Invalid service: ") + to_string(parsed.error));
      HMS_LOG(info, "[%s] updating service", req.id.c_str());
      if (!save(req.id, *parsed.value, &err)) return answer(req, false, err);
      return answer(req, true, {});
    }
    case Opcode::get: {
      const Service* s = registry_->get(req.id);
      if (!s) return answer(req, false, std::string(kNotFound));
      return answer(req, true, to_json(*s));
    }
    case Opcode::list: {
      std::string out = "[";
      bool first = true;
      for (const Service* s : registry_->list()) {
        if (!first) out += ',';
        first = false;
        out += to_json(*s);
      }
      out += ']';
      return answer(req, true, std::move(out));
    }
    case Opcode::remove: {
      HMS_LOG(info, "[%s] removing service", req.id.c_str());
      const std::string id = req.id;
      return for_each(
          routed_docks(req.route),
          [id](const DockInfo&) -> Issue { return [id](Peer& p, ReplyCallback cb) { p.remove(id, std::move(cb)); }; },
          [this, req](bool ok, std::string e, std::vector<std::string>) {
            if (!ok) return answer(req, false, std::move(e));
            if (!registry_->del(req.id)) return answer(req, false, "registry write failed: " + registry_->last_error());
            services_.store(registry_->size(), std::memory_order_relaxed);
            answer(req, true, {});
          });
    }
    case Opcode::start:
    case Opcode::stop:
    case Opcode::restart:
      return status_change(std::move(req), op);
    case Opcode::ps:
      return for_each(
          routed_docks(req.route),
          [](const DockInfo&) -> Issue { return [](Peer& p, ReplyCallback cb) { p.ps(std::move(cb)); }; },
          [this, req](bool ok, std::string e, std::vector<std::string> parts) {
            if (!ok) return answer(req, false, std::move(e));
            // As the reference's forEach: an array reply is spliced in, any
            // other truthy value is one element, a falsy one is dropped.
            std::string out = "[";
            bool first = true;
            for (auto& part : parts) {
              std::string t(trim_json_space(part));
              std::string item;
              if (t.size() >= 2 && t.front() == '[' && t.back() == ']')
                item = trim_json_space(std::string_view(t).substr(1, t.size() - 2));
              else if (!json_falsy(t))
                item = std::move(t);
              if (item.empty()) continue;
              if (!first) out += ',';
              first = false;
              out += item;
            }
            out += ']';
            answer(req, true, std::move(out));
          });
    case Opcode::sync: {
      auto parsed = parse_service_or_null_copy(parser, req.payload);
      if (!parsed) return answer(req, false, std::string("Invalid service: ") + to_string(parsed.error));
      std::optional<Service> svc = std::move(*parsed.value);
      if (!svc) {
        const Service* cur = registry_->get(req.id);
        if (!cur) return answer(req, false, std::string(kNotFound));
        svc = *cur;
      }
      if (svc->id.empty()) svc->id = req.id;
      HMS_LOG(info, "[%s] syncing build to docks", req.id.c_str());
      return sync(std::move(req), std::move(*svc));
    }
    case Opcode::subscribe:
      return client_subscribe(std::move(req));
    case Opcode::unsubscribe:
      return client_unsubscribe(std::move(req));
    default:
      return answer(req, false, std::string(kNotSupported));
  }
}

void HubImpl::status_change(Request req, Opcode op) {
  const Service* cur = registry_->get(req.id);
  if (!cur) return answer(req, false, std::string(kNotFound));
  Service s = *cur;
  s.stopped = op == Opcode::stop;
  if (!registry_->put(s)) return answer(req, false, "registry write failed: " + registry_->last_error());
  std::string body = update_body(s);
  HMS_LOG(info, "[%s] sending %s to docks", req.id.c_str(), to_string(op));
  const std::string id = req.id;
  for_each(
      routed_docks(req.route),
      [id, body, op](const DockInfo&) -> Issue {
        return [id, body, op](Peer& p, ReplyCallback cb) {
          std::weak_ptr<Peer> wp = p.weak_from_this();
          p.update(id, body, [wp, id, op, cb = std::move(cb)](const Result& r) mutable {
            auto sp = wp.lock();
            if (!r.ok() || !sp) return cb(r);
            sp->request(op, id, {}, std::move(cb));
          });
        };
      },
      [this, req](bool ok, std::string e, std::vector<std::string>) { answer(req, ok, std::move(e)); });
}

void HubImpl::sync(Request req, Service service) {
  if (!service.deployed) return answer(req, true, {});  // never deployed: nothing to place
  auto eligible = [&](const DockInfo& d) {
    const std::vector<std::string> tags = service.tags.value_or(std::vector<std::string>{});
    if (tags.empty() && d.is_default) return true;
    if (std::find(tags.begin(), tags.end(), d.id) != tags.end()) return true;
    for (const auto& t : d.tags)
      if (std::find(tags.begin(), tags.end(), t) != tags.end()) return true;
    return false;
  };
  std::vector<std::string> valid;
  for (const auto& d : docks_)
    if (eligible(*d)) valid.push_back(d->id);
  std::vector<std::string> chosen;
  for (const auto& cur : service.docks.value_or(std::vector<std::string>{}))
    if (std::find(valid.begin(), valid.end(), cur) != valid.end()) chosen.push_back(cur);
  if (!service.limit) {
    chosen = valid;
  } else {
    const auto limit = static_cast<std::size_t>(std::max(0.0, *service.limit));
    if (chosen.size() > limit) chosen.resize(limit);
    std::shuffle(valid.begin(), valid.end(), rng_);
    for (std::size_t i = 0; i < valid.size() && chosen.size() < limit; ++i)
      if (std::find(chosen.begin(), chosen.end(), valid[i]) == chosen.end()) chosen.push_back(valid[i]);
  }
  service.docks = chosen;
  std::string err;
  if (!save(service.id, service, &err)) return answer(req, false, err);

  std::vector<std::shared_ptr<DockInfo>> selected, purged;
  for (const auto& id : chosen)
    for (const auto& d : docks_)
      if (d->id == id) {
        selected.push_back(d);
        break;
      }
  for (const auto& d : docks_)
    if (std::find(chosen.begin(), chosen.end(), d->id) == chosen.end()) purged.push_back(d);
  const std::string id = service.id;
  const std::string body = to_json(service);
  const bool stopped = service.stopped.value_or(false);

  auto purge = [this, req, id, purged](bool ok, std::string e, std::vector<std::string>) {
    if (!ok) return answer(req, false, std::move(e));
    for_each(
        purged,
        [id](const DockInfo&) -> Issue { return [id](Peer& p, ReplyCallback cb) { p.remove(id, std::move(cb)); }; },
        [this, req](bool ok2, std::string e2, std::vector<std::string>) { answer(req, ok2, std::move(e2)); });
  };
  for_each(
      selected,
      [id, body](const DockInfo&) -> Issue {
        return [id, body](Peer& p, ReplyCallback cb) { p.sync(id, body, std::move(cb)); };
      },
      [this, selected, id, stopped, purge](bool ok, std::string e, std::vector<std::string> r) {
        if (!ok || stopped) return purge(ok, std::move(e), std::move(r));
        for_each(
            selected,
            [id](const DockInfo&) -> Issue { return [id](Peer& p, ReplyCallback cb) { p.start(id, std::move(cb)); }; },
            purge);
      });
}

void HubImpl::client_subscribe(Request req) {
  if (!registry_->has(req.id) && req.id != "*") return answer(req, false, std::string(kNotFound));
  if (client_subs_[req.key].insert(req.id).second) {
    if (++sub_counts_[req.id] == 1) {
      HMS_LOG(info, "[%s] subscribing to service events and logs", req.id.c_str());
      for (const auto& d : docks_) dock_subscription(d, req.id, true);
    }
  }
  // The client's own shard records it, then answers.
  auto st = req.st;
  auto reply = req.reply;
  const std::string id = req.id;
  run_on(*req.from, [this, st, reply, id] {
    if (st->peer) add_local(*st->shard, st.get(), id);
    reply->ok();
  });
}

void HubImpl::dock_subscription(const std::shared_ptr<DockInfo>& d, const std::string& id, bool on) {
  // Fire and forget, as the reference: a dock that refuses still counts.
  dock_call(
      d,
      [id, on](Peer& p, ReplyCallback cb) {
        if (on) p.subscribe(id, std::move(cb));
        else p.unsubscribe(id, std::move(cb));
      },
      [](Owned) {});
}

void HubImpl::global_unsubscribe(const std::string& id) {
  auto it = sub_counts_.find(id);
  if (it == sub_counts_.end()) return;
  if (--it->second) return;
  sub_counts_.erase(it);
  HMS_LOG(info, "[%s] unsubscribing to service events and logs", id.c_str());
  for (const auto& d : docks_) dock_subscription(d, id, false);
}

void HubImpl::client_unsubscribe(Request req) {
  auto cs = client_subs_.find(req.key);
  if (cs != client_subs_.end() && cs->second.erase(req.id)) global_unsubscribe(req.id);
  auto st = req.st;
  auto reply = req.reply;
  const std::string id = req.id;
  run_on(*req.from, [this, st, reply, id] {
    if (st->peer) remove_local(*st->shard, st.get(), id);
    reply->ok();
  });
}

void HubImpl::client_gone(std::uint64_t key) {
  auto cs = client_subs_.find(key);
  if (cs == client_subs_.end()) return;
  const auto ids = std::move(cs->second);
  client_subs_.erase(cs);
  for (const auto& id : ids) global_unsubscribe(id);
}

// ---------------------------------------------------------------- metrics

std::string HubImpl::metrics() const {
  std::array<std::uint64_t, m_count> sum{};
  for (const auto& s : shards_)
    for (std::size_t i = 0; i < m_count; ++i) sum[i] += s->snap[i].load(std::memory_order_relaxed);
  std::string out;
  auto line = [&out](const char* name, const char* help, const char* type, const std::string& labels,
                     double v, bool header = true) {
    if (header) {
      out += "# HELP ";
      out += name;
      out += ' ';
      out += help;
      out += "\n# TYPE ";
      out += name;
      out += ' ';
      out += type;
      out += '\n';
    }
    out += name;
    out += labels;
    out += ' ';
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    out += buf;
    out += '\n';
  };
  line("hms_connections", "Open connections by kind.", "gauge", "{kind=\"dock\"}",
       static_cast<double>(docks_connected_.load(std::memory_order_relaxed)));
  line("hms_connections", "", "gauge", "{kind=\"client\"}",
       static_cast<double>(clients_connected_.load(std::memory_order_relaxed)), false);
  line("hms_connections", "", "gauge", "{kind=\"handshaking\"}",
       static_cast<double>(pending_connected_.load(std::memory_order_relaxed)), false);
  line("hms_services", "Services in the registry.", "gauge", "",
       static_cast<double>(services_.load(std::memory_order_relaxed)));
  line("hms_frames_in_total", "Frames received.", "counter", "", static_cast<double>(sum[m_frames_in]));
  line("hms_bytes_in_total", "Bytes received.", "counter", "", static_cast<double>(sum[m_bytes_in]));
  line("hms_frames_out_total", "Frames queued for sending.", "counter", "", static_cast<double>(sum[m_frames_out]));
  line("hms_bytes_out_total", "Bytes sent.", "counter", "", static_cast<double>(sum[m_bytes_out]));
  line("hms_log_frames_total", "Log and process events received from docks.", "counter", "",
       static_cast<double>(sum[m_log_frames]));
  line("hms_log_deliveries_total", "Log and process events queued to clients.", "counter", "",
       static_cast<double>(sum[m_deliveries]));
  line("hms_assembled_frames_total", "Frames that straddled receive buffers (copied once).", "counter",
       "", static_cast<double>(sum[m_assembled]));
  line("hms_pinned_copies_total", "Relayed frames copied out under receive-buffer pressure.", "counter",
       "", static_cast<double>(sum[m_pinned_copies]));
  line("hms_protocol_errors_total", "Connections closed for bad bytes.", "counter", "",
       static_cast<double>(sum[m_protocol_errors]));
  line("hms_handshake_errors_total", "Refused handshakes.", "counter", "",
       static_cast<double>(handshake_errors_.load(std::memory_order_relaxed)));
  line("hms_slow_client_disconnects_total", "Connections closed for exceeding output limits.", "counter",
       "", static_cast<double>(sum[m_slow_disconnects]));
  line("hms_recv_buffer_stalls_total", "Receives delayed for want of buffers.", "counter", "",
       static_cast<double>(sum[m_buffer_stalls]));
  line("hms_reactor_loop_iterations_total", "Reactor loop iterations.", "counter", "",
       static_cast<double>(sum[m_loop_iterations]));
  line("hms_reactor_busy_seconds_total", "Reactor time spent outside the wait.", "counter", "",
       static_cast<double>(sum[m_loop_busy_ns]) / 1e9);
  line("hms_reactor_threads", "Reactor threads.", "gauge", "", static_cast<double>(shards_.size()));
  return out;
}

// ---------------------------------------------------------------- facade

Hub::Hub(const HubOptions& opts) : impl_(std::make_unique<HubImpl>(opts)) {}
Hub::~Hub() { impl_->stop(); }
void Hub::start() { impl_->start(); }
void Hub::stop() { impl_->stop(); }
std::uint16_t Hub::port() const { return impl_->port; }
std::string Hub::metrics() const { return impl_->metrics(); }

bool parse_env_assignment(std::string_view text, std::pair<std::string, std::string>* out) {
  // The reference splits at every '=' and keeps parts 0 and 1 only.
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) return false;
  std::string_view rest = text.substr(eq + 1);
  const auto eq2 = rest.find('=');
  if (eq2 != std::string_view::npos) rest = rest.substr(0, eq2);
  std::string key(trim_json_space(text.substr(0, eq)));
  std::string val(trim_json_space(rest));
  if (key.empty() || val.empty()) return false;
  *out = {std::move(key), std::move(val)};
  return true;
}

}  // namespace hms::hub
