#include "load.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <thread>
#include <utility>

#include "hms/peer.hpp"
#include "hms/reactor.hpp"
#include "procstat.hpp"

namespace hms::load {
namespace {

using namespace std::chrono_literals;

// The same clock on the sending and the receiving side (one machine), and
// the one a frame's stamp is taken with.
std::int64_t mono_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr std::uint64_t kNoSeq = ~std::uint64_t{0};
// Rate 0: frames one dock writes before the pump moves to the next dock, and
// frames one pump pass writes before the loop gets to read again.
constexpr std::uint64_t kBurst = 16;
constexpr std::uint64_t kPumpBudget = 2048;
// Blocking connects per loop pass: each takes a loopback round trip, and the
// reactor answers nothing meanwhile.
constexpr unsigned kConnectChunk = 32;
// Rate mode: at most this many overdue frames go out at once per dock (a
// dock that fell far behind skips the rest rather than bursting).
constexpr std::uint64_t kMaxCatchUp = 64;
constexpr std::size_t kMaxErrors = 8;

std::string service_name(unsigned k) { return "web" + std::to_string(k); }

struct Worker;

struct Dock {
  std::uint32_t index = 0;
  Worker* worker = nullptr;
  std::shared_ptr<Peer> peer;
  std::string service, origin;
  std::uint64_t seq = 0;
  std::int64_t next_due = 0;  // rate mode
  bool open = false;          // the connection is up
  bool streaming = false;     // the hub subscribed us to our service
  bool in_ready = false;      // on the worker's ready list (rate 0)
  bool in_heap = false;       // on the worker's schedule (rate mode)
};

// A client speaks to the hub on the engine's Connection directly, not
// through Peer: the hub sends it millions of frames a second and the
// generator must cost less per frame than the hub it measures. It needs only
// three requests (handshake, add, subscribe), sent one at a time.
struct Client final : ConnectionHandler {
  std::uint32_t index = 0;
  Worker* worker = nullptr;
  Connection* conn = nullptr;           // null once closed
  std::vector<std::uint64_t> last_seq;  // by dock index
  // Every stdout frame received, in the window or not. Written by the
  // client's thread only; read (relaxed, an estimate is enough) by the dock
  // pumps to compute the credit.
  std::atomic<std::uint64_t> received{0};
  // Subscribed and connected. Release-stored by the client's thread when the
  // subscribe reply arrives, acquire-loaded by pumps.
  std::atomic<bool> alive{false};
  // Set-up: 0 handshake, 1..services add web<step-1>, services+1 subscribe.
  unsigned step = 0;
  std::uint16_t next_rid = 0;
  std::uint16_t waiting_rid = 0;
  bool done = false;  // subscribed, or failed

  void on_frame(Connection& c, const FrameView& f, const BufRef& storage) override;
  void on_close(Connection& c, const CloseInfo& info) override;
};

struct Shared {
  Options opt;
  std::string hostname;
  std::int64_t t0 = 0;
  std::int64_t period_ns = 0;     // rate mode
  std::int64_t window_frames = 0;  // rate 0: credit per client; 0: none
  std::size_t frame_bytes = 0;
  // The measured window. Set once by the main thread; relaxed loads suffice
  // (a frame judged by a stale value just misses the window by a hair).
  std::atomic<std::int64_t> win_start{LLONG_MAX}, win_end{LLONG_MAX};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> sent_total{0};  // frames written by streaming docks (rate 0)
  std::atomic<std::uint32_t> next_dock{0};   // next dock index to connect
  std::atomic<std::int32_t> connecting{0};   // connected, handshake not answered
  std::atomic<std::uint32_t> docks_up{0}, docks_failed{0}, clients_up{0}, clients_failed{0};
  std::atomic<std::uint32_t> docks_lost{0}, clients_lost{0};
  std::atomic<std::uint32_t> parked{0};      // workers waiting for credit
  std::atomic<std::int64_t> first_connect{0}, last_handshake{0};
  std::vector<Client*> clients;              // fixed before the docks connect
  std::vector<std::unique_ptr<Worker>> workers;
  std::mutex err_mu;
  std::vector<std::string> errors;

  void error(std::string what) {
    std::lock_guard l(err_mu);
    if (errors.size() < kMaxErrors) errors.push_back(std::move(what));
  }
  bool in_window(std::int64_t t) const noexcept {
    return t >= win_start.load(std::memory_order_relaxed) && t < win_end.load(std::memory_order_relaxed);
  }
  // Frames the docks may still write before the slowest live client is
  // window_frames behind. INT64_MAX when there is no limit.
  std::int64_t credit() const noexcept {
    if (window_frames == 0) return LLONG_MAX;
    std::uint64_t slowest = kNoSeq;
    for (const Client* c : clients)
      if (c->alive.load(std::memory_order_acquire))
        slowest = std::min(slowest, c->received.load(std::memory_order_relaxed));
    if (slowest == kNoSeq) return LLONG_MAX;  // no client listens: nothing to wait for
    const auto in_flight =
        static_cast<std::int64_t>(sent_total.load(std::memory_order_relaxed) - slowest);
    return window_frames - in_flight;
  }
  void kick();
};

// One reactor thread and the docks and clients it owns. Everything but the
// atomics is touched on that thread only (or after it was joined).
struct Worker {
  Shared* sh = nullptr;
  unsigned index = 0;
  Reactor reactor;
  std::thread thread;
  std::vector<std::unique_ptr<Dock>> docks;
  std::vector<std::unique_ptr<Client>> clients;
  std::shared_ptr<HandlerTable> dock_table = std::make_shared<HandlerTable>();
  std::string payload;  // filler; the stamp is rewritten per frame

  // rate 0
  std::vector<Dock*> ready;
  std::size_t rr = 0;
  bool pump_armed = false;
  std::atomic<bool> parked{false};  // exchange()d by whoever wakes it
  // rate mode: docks by next due time
  using Due = std::pair<std::int64_t, Dock*>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> schedule;
  bool connect_armed = false;

  // Measured in the window (this thread only).
  LatencyHistogram latency;
  std::uint64_t sent = 0, delivered = 0, skipped = 0, lost = 0, reordered = 0, malformed = 0;
  std::uint32_t kick_count = 0;
  // The receive time of the frames of one receive buffer: read once per
  // buffer (they arrived together), not once per frame.
  const Block* clock_block = nullptr;
  const std::uint8_t* clock_at = nullptr;
  std::int64_t clock_now = 0;
  unsigned clock_uses = 0;

  explicit Worker(Shared* s, unsigned i) : sh(s), index(i), reactor(ReactorOptions{}) {
    payload.assign(sh->opt.payload, 'x');
    setup_tables();
  }

  void setup_tables();
  void open_client(Client* c);
  void client_request(Client& c, Opcode op, std::string_view id, std::string_view body);
  void client_step(Client& c);
  void client_reply(Client& c, const FrameView& f);
  void client_failed(Client& c, const std::string& why);
  void client_closed(Client& c, const CloseInfo& info);
  void on_client_frame(Client& c, const FrameView& f, const BufRef& storage);

  void connect_some();
  void arm_connect(std::chrono::nanoseconds after);
  void open_dock(std::uint32_t dock_index);
  void on_subscription(Dock& d);
  void start_stream(Dock& d);
  std::uint64_t send_frames(Dock& d, std::uint64_t n, std::int64_t now);
  void arm_pump();
  void pump();
  void wake();
  void tick();
};

void Shared::kick() {
  // Resume once half the window is free again, not at the first free frame:
  // a pump pass then has something worth writing.
  if (credit() < window_frames / 2) return;
  for (auto& w : workers) w->wake();
}

// ---------------------------------------------------------------- handlers

void Worker::setup_tables() {
  // A dock answers every command the hub sends with ok, as a dock that has
  // nothing to run would; ps and list answer an empty array.
  for (Opcode op : {Opcode::add, Opcode::update, Opcode::remove, Opcode::start, Opcode::stop,
                    Opcode::restart, Opcode::sync, Opcode::get}) {
    dock_table->set(op, [](Peer&, const Message&, Reply r) { r.ok(); });
  }
  for (Opcode op : {Opcode::ps, Opcode::list})
    dock_table->set(op, [](Peer&, const Message&, Reply r) { r.ok("[]"); });
  // The Peer has recorded the (un)subscription before the handler runs.
  for (Opcode op : {Opcode::subscribe, Opcode::unsubscribe}) {
    dock_table->set(op, [this](Peer& p, const Message&, Reply r) {
      r.ok();
      on_subscription(*static_cast<Dock*>(p.user.get()));
    });
  }
}

// ---------------------------------------------------------------- clients

void Client::on_frame(Connection& c, const FrameView& f, const BufRef& storage) {
  switch (f.header.type) {
    case FrameType::message:
      if (f.message.opcode == static_cast<std::uint8_t>(Opcode::stdout_))
        worker->on_client_frame(*this, f, storage);
      return;
    case FrameType::reply:
    case FrameType::error:
      worker->client_reply(*this, f);
      return;
    case FrameType::request: {
      // A hub asks clients nothing; answer as a Peer without handlers does.
      const std::string_view why = kNotSupported;
      std::uint8_t* p = c.reserve(kHeaderSize + why.size());
      encode_header(p, FrameType::error, f.header.request_id, static_cast<std::uint32_t>(why.size()));
      std::memcpy(p + kHeaderSize, why.data(), why.size());
      c.commit(kHeaderSize + why.size());
      return;
    }
    case FrameType::ping: {
      std::uint8_t* p = c.reserve(kHeaderSize);
      encode_header(p, FrameType::reply, f.header.request_id, 0);
      c.commit(kHeaderSize);
      return;
    }
  }
}

void Client::on_close(Connection&, const CloseInfo& info) {
  conn = nullptr;
  worker->client_closed(*this, info);
}

void Worker::client_failed(Client& c, const std::string& why) {
  c.done = true;
  sh->clients_failed.fetch_add(1);
  sh->error("client " + std::to_string(c.index) + ": " + why);
  if (c.conn) c.conn->close();
}

void Worker::client_closed(Client& c, const CloseInfo& info) {
  const bool was_alive = c.alive.exchange(false);
  if (!c.done) {
    client_failed(c, "closed during set-up: " + info.message);
  } else if (was_alive && !sh->stopping.load()) {
    sh->clients_lost.fetch_add(1);
    sh->error("client " + std::to_string(c.index) + " closed: " + info.message);
  }
  // A pump may be parked waiting on this client's credit.
  sh->kick();
}

void Worker::open_client(Client* c) {
  ConnectOptions co;
  co.upgrade = !sh->opt.raw;
  try {
    c->conn = &reactor.connect(sh->opt.hub, co, c);
  } catch (const std::exception& e) {
    client_failed(*c, e.what());
    return;
  }
  client_step(*c);
}

void Worker::client_request(Client& c, Opcode op, std::string_view id, std::string_view body) {
  c.waiting_rid = c.next_rid++;
  const std::size_t head = message_head_size(id.size());
  std::uint8_t* p = c.conn->reserve(head + body.size());
  encode_message_head(p, FrameType::request, c.waiting_rid, op, id, body.size());
  if (!body.empty()) std::memcpy(p + head, body.data(), body.size());
  c.conn->commit(head + body.size());
}

// Handshake, then add every service, then subscribe: one request at a time.
void Worker::client_step(Client& c) {
  if (c.step == 0) {
    // What the reference client sends: its options plus "protocol":1.
    client_request(c, Opcode::handshake, {}, R"({"type":"client","protocol":1})");
  } else if (c.step <= sh->opt.services) {
    client_request(c, Opcode::add, service_name(c.step - 1), R"({"start":"hms-load"})");
  } else {
    client_request(c, Opcode::subscribe, sh->opt.subscribe, {});
  }
}

void Worker::client_reply(Client& c, const FrameView& f) {
  if (c.done || f.header.request_id != c.waiting_rid) return;
  const bool ok = f.header.type == FrameType::reply;
  const std::string_view text = f.body_text();
  if (c.step == 0) {
    if (!ok) return client_failed(c, "handshake: " + std::string(text));
  } else if (c.step <= sh->opt.services) {
    // Every client adds every service; all but the first find it there.
    if (!ok && text != "Service already exist")
      return client_failed(c, "add " + service_name(c.step - 1) + ": " + std::string(text));
  } else {
    if (!ok) return client_failed(c, "subscribe " + sh->opt.subscribe + ": " + std::string(text));
    c.done = true;
    c.alive.store(true, std::memory_order_release);
    sh->clients_up.fetch_add(1);
    return;
  }
  ++c.step;
  client_step(c);
}

void Worker::on_client_frame(Client& c, const FrameView& f, const BufRef& storage) {
  // A new receive buffer (another block, or the same block refilled: the
  // frame is not further in than the last one) or 64 frames since the last
  // read take a fresh time; a frame later in the same buffer arrived with it.
  if (storage.get() != clock_block || f.body <= clock_at || ++clock_uses >= 64) {
    clock_now = mono_ns();
    clock_block = storage.get();
    clock_uses = 0;
  }
  clock_at = f.body;
  const std::int64_t now = clock_now;
  c.received.store(c.received.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (sh->parked.load(std::memory_order_relaxed) && (++kick_count & 15) == 0) sh->kick();
  // Checked where counted: a frame that is not what a dock of ours sent
  // would make the numbers lie.
  const MessageView& m = f.message;
  if (m.payload_size != sh->opt.payload) {
    ++malformed;
    return;
  }
  std::int64_t sent_at;
  std::uint64_t seq;
  std::uint32_t dock;
  std::memcpy(&sent_at, m.payload, 8);
  std::memcpy(&seq, m.payload + 8, 8);
  std::memcpy(&dock, m.payload + 16, 4);
  if (dock >= c.last_seq.size()) {
    ++malformed;
    return;
  }
  const bool in = sh->in_window(now);
  std::uint64_t& last = c.last_seq[dock];
  if (last == kNoSeq || seq > last) {
    if (in && last != kNoSeq) lost += seq - last - 1;
    last = seq;
  } else if (in) {
    ++reordered;
  }
  if (in) {
    ++delivered;
    latency.record(now > sent_at ? static_cast<std::uint64_t>(now - sent_at) : 0);
  }
}

// ---------------------------------------------------------------- docks

void Worker::arm_connect(std::chrono::nanoseconds after) {
  if (connect_armed) return;
  connect_armed = true;
  reactor.add_timer(after, [this] {
    connect_armed = false;
    connect_some();
  });
}

void Worker::connect_some() {
  if (sh->stopping.load()) return;
  for (unsigned made = 0; made < kConnectChunk; ++made) {
    // Bounded: connected docks whose handshake is unanswered may still sit
    // in the hub's accept queue, and a full queue drops SYNs (a blocking
    // connect then waits a whole retransmit timeout).
    if (sh->connecting.load() >= static_cast<std::int32_t>(sh->opt.connect_window)) {
      arm_connect(1ms);
      return;
    }
    const std::uint32_t i = sh->next_dock.fetch_add(1);
    if (i >= sh->opt.docks) return;  // all claimed
    open_dock(i);
  }
  arm_connect(0ns);  // more to do: after the loop has read once
}

void Worker::open_dock(std::uint32_t dock_index) {
  auto owned = std::make_unique<Dock>();
  Dock* d = owned.get();
  docks.push_back(std::move(owned));
  d->index = dock_index;
  d->worker = this;
  d->service = service_name(dock_index % sh->opt.services);
  d->origin = "dock-" + std::to_string(dock_index);
  ConnectOptions co;
  co.upgrade = !sh->opt.raw;
  co.origin = d->origin;  // the reference dock names itself in the head
  sh->connecting.fetch_add(1);
  std::int64_t expected = 0;
  sh->first_connect.compare_exchange_strong(expected, mono_ns());
  try {
    d->peer = Peer::connect(reactor, sh->opt.hub, co);
  } catch (const std::exception& e) {
    sh->connecting.fetch_sub(1);
    sh->docks_failed.fetch_add(1);
    sh->error(d->origin + ": " + e.what());
    return;
  }
  d->open = true;
  d->peer->connection()->set_high_water(sh->opt.dock_high_water);
  d->peer->set_handlers(dock_table);
  d->peer->user = std::shared_ptr<void>(d, [](void*) {});
  d->peer->on_drain([this, d] {
    // Rate 0: back into the rotation. Rate mode: the next tick writes.
    if (sh->opt.rate == 0 && d->streaming && !d->in_ready) {
      d->in_ready = true;
      ready.push_back(d);
      arm_pump();
    }
  });
  d->peer->on_close([this, d](const CloseInfo& info) {
    d->open = false;
    d->streaming = false;
    if (!sh->stopping.load()) {
      sh->docks_lost.fetch_add(1);
      sh->error(d->origin + " closed: " + info.message);
    }
  });
  std::string hs = R"({"type":"dock","id":")" + d->origin + R"(","hostname":")" + sh->hostname +
                   R"(","tags":[],"default":false,"version":"hms-load"})";
  d->peer->handshake(hs, [this, d](const Result& r) {
    sh->connecting.fetch_sub(1);
    sh->last_handshake.store(mono_ns());
    if (!r.ok()) {
      sh->docks_failed.fetch_add(1);
      sh->error(d->origin + ": handshake: " + std::string(r.text));
      d->peer->close();
      return;
    }
    sh->docks_up.fetch_add(1);
  });
}

void Worker::on_subscription(Dock& d) {
  const bool want = d.open && d.peer->peer_subscribing(d.service);
  if (want == d.streaming) return;
  d.streaming = want;
  if (want) start_stream(d);
  // Stopping needs nothing: the pump and the tick drop non-streaming docks.
}

void Worker::start_stream(Dock& d) {
  if (sh->opt.rate == 0) {
    if (!d.in_ready && d.peer->writable()) {
      d.in_ready = true;
      ready.push_back(&d);
      arm_pump();
    }
    return;
  }
  if (d.in_heap) return;
  // Docks are spread evenly over one period (dock i at i/N of it), so 10,000
  // docks at 1/s make a steady 10,000 frames/s, not one burst a second.
  const std::int64_t period = sh->period_ns;
  const std::int64_t phase = static_cast<std::int64_t>(
      static_cast<double>(period) * d.index / std::max(1u, sh->opt.docks));
  const std::int64_t now = mono_ns();
  const std::int64_t base = sh->t0 + phase;
  const std::int64_t k = now > base ? (now - base + period - 1) / period : 0;
  d.next_due = base + k * period;
  d.in_heap = true;
  schedule.emplace(d.next_due, &d);
}

std::uint64_t Worker::send_frames(Dock& d, std::uint64_t n, std::int64_t now) {
  std::uint64_t done = 0;
  char* p = payload.data();
  const std::uint32_t idx = d.index;
  std::memcpy(p, &now, 8);
  std::memcpy(p + 16, &idx, 4);
  for (; done < n && d.peer->writable(); ++done) {
    std::memcpy(p + 8, &d.seq, 8);
    if (!d.peer->write_stdout(d.service, d.origin, payload)) break;
    ++d.seq;
  }
  if (sh->in_window(now)) sent += done;
  return done;
}

void Worker::arm_pump() {
  if (pump_armed) return;
  pump_armed = true;
  // A zero timer, not post(): it runs on the next loop pass after the
  // completions were read, and costs no eventfd write.
  reactor.add_timer(0ns, [this] {
    pump_armed = false;
    pump();
  });
}

void Worker::wake() {
  if (!parked.exchange(false)) return;
  sh->parked.fetch_sub(1);
  if (reactor.in_loop_thread()) arm_pump();
  else reactor.post([this] { arm_pump(); });
}

void Worker::pump() {
  if (sh->stopping.load(std::memory_order_relaxed) || ready.empty()) return;
  const std::int64_t credit = sh->credit();
  if (credit <= 0) {
    if (!parked.exchange(true)) sh->parked.fetch_add(1);
    return;
  }
  std::uint64_t budget = std::min<std::uint64_t>(static_cast<std::uint64_t>(credit), kPumpBudget);
  std::uint64_t total = 0;
  while (budget && !ready.empty()) {
    if (rr >= ready.size()) rr = 0;
    Dock* d = ready[rr];
    std::uint64_t n = 0;
    if (d->streaming) {
      // One clock read per burst: the frames of a burst leave together in
      // one sendmsg after this pass anyway.
      n = send_frames(*d, std::min(kBurst, budget), mono_ns());
    }
    total += n;
    budget -= n;
    if (!d->streaming || !d->peer->writable()) {
      // Out of the rotation until on_drain (or a new subscription).
      d->in_ready = false;
      ready[rr] = ready.back();
      ready.pop_back();
    } else {
      ++rr;
    }
  }
  sh->sent_total.fetch_add(total, std::memory_order_relaxed);
  if (!ready.empty()) arm_pump();
}

void Worker::tick() {
  if (sh->stopping.load(std::memory_order_relaxed)) return;
  if (sh->opt.rate == 0) {
    // The safety net for a parked pump whose last credit came back without
    // a client noticing (clients only check every 16th frame).
    if (parked.load(std::memory_order_relaxed)) sh->kick();
    return;
  }
  const std::int64_t now = mono_ns();
  const std::int64_t period = sh->period_ns;
  while (!schedule.empty() && schedule.top().first <= now) {
    Dock* d = schedule.top().second;
    schedule.pop();
    if (!d->open || !d->streaming) {
      d->in_heap = false;
      continue;
    }
    const auto due = static_cast<std::uint64_t>((now - d->next_due) / period + 1);
    d->next_due += static_cast<std::int64_t>(due) * period;
    const std::uint64_t n = send_frames(*d, std::min(due, kMaxCatchUp), now);
    if (sh->in_window(now)) skipped += due - n;
    schedule.emplace(d->next_due, d);
  }
}

std::string local_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  // The name goes into a JSON string unescaped: keep the characters a host
  // name may have.
  std::string out;
  for (const char* p = buf; *p; ++p) {
    const char ch = *p;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
        ch == '-' || ch == '_')
      out += ch;
  }
  return out.empty() ? "localhost" : out;
}

// Waits until pred() or the deadline, sampling the hub's memory meanwhile.
template <class Pred, class Sample>
bool wait_until(Pred pred, std::int64_t deadline, Sample sample) {
  while (!pred()) {
    if (mono_ns() >= deadline) return false;
    sample();
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

}  // namespace

Report run(const Options& o) {
  if (o.payload < kStampBytes)
    throw std::invalid_argument("--payload must be at least " + std::to_string(kStampBytes) + " bytes");
  if (o.threads == 0 || o.services == 0) throw std::invalid_argument("--threads and --services must be >= 1");
  Shared sh;
  sh.opt = o;
  sh.hostname = local_hostname();
  sh.t0 = mono_ns();
  sh.period_ns = o.rate > 0 ? std::max<std::int64_t>(1, static_cast<std::int64_t>(1e9 / o.rate)) : 0;
  // Service and origin of the longest id decide the frame size; the summary
  // shows the size of dock 0's frames.
  sh.frame_bytes = message_head_size(service_name(0).size() + 1 + std::string("dock-0").size()) + o.payload;
  if (o.rate == 0 && o.window_kb > 0 && o.clients > 0)
    sh.window_frames = std::max<std::int64_t>(
        static_cast<std::int64_t>(kBurst),
        static_cast<std::int64_t>(o.window_kb * 1024 / sh.frame_bytes));

  Report rep;
  rep.frame_bytes = sh.frame_bytes;

  // Memory of the hub over the whole run: connection set-up is often where
  // the peak is.
  std::uint64_t peak_kb = 0, last_kb = 0;
  auto sample = [&] {
    if (!o.hub_pid) return;
    if (auto m = read_memory(*o.hub_pid)) {
      peak_kb = std::max({peak_kb, m->rss_kb, m->hwm_kb});
      last_kb = m->rss_kb;
    }
  };
  std::int64_t next_sample = 0;
  auto sample_every_100ms = [&] {
    const std::int64_t now = mono_ns();
    if (now < next_sample) return;
    next_sample = now + 100'000'000;
    sample();
  };

  for (unsigned i = 0; i < o.threads; ++i) sh.workers.push_back(std::make_unique<Worker>(&sh, i));
  for (unsigned i = 0; i < o.clients; ++i) {
    Worker& w = *sh.workers[i % o.threads];
    auto c = std::make_unique<Client>();
    c->index = i;
    c->worker = &w;
    c->last_seq.assign(o.docks, kNoSeq);
    sh.clients.push_back(c.get());
    w.clients.push_back(std::move(c));
  }
  for (auto& w : sh.workers) {
    Worker* wp = w.get();
    w->thread = std::thread([wp] { wp->reactor.run(); });
    // Rate mode ticks every millisecond (the reactor's timers have
    // millisecond resolution); rate 0 uses it as the credit safety net.
    w->reactor.post([wp] { wp->reactor.add_periodic(1ms, [wp] { wp->tick(); }); });
  }
  auto finish = [&] {
    sh.stopping.store(true);
    sample();
    for (auto& w : sh.workers) w->reactor.stop();
    for (auto& w : sh.workers)
      if (w->thread.joinable()) w->thread.join();
  };
  const std::int64_t setup_deadline = mono_ns() + static_cast<std::int64_t>(o.setup_timeout * 1e9);

  // 1. Clients, all subscribed before the first dock exists.
  for (auto& w : sh.workers) {
    Worker* wp = w.get();
    wp->reactor.post([wp] {
      for (auto& c : wp->clients) wp->open_client(c.get());
    });
  }
  const bool clients_ok = wait_until(
      [&] { return sh.clients_up.load() + sh.clients_failed.load() >= o.clients; }, setup_deadline,
      sample_every_100ms);
  if (!clients_ok || sh.clients_failed.load()) {
    if (!clients_ok) sh.error("clients not subscribed within --setup-timeout");
    finish();
    rep.clients_up = sh.clients_up.load();
    rep.clients_failed = o.clients - rep.clients_up;
    rep.errors = sh.errors;
    return rep;
  }
  std::fprintf(stderr, "hms-load: %u client%s subscribed to '%s'\n", o.clients, o.clients == 1 ? "" : "s",
               o.subscribe.c_str());

  // 2. Docks, in a bounded window.
  for (auto& w : sh.workers) {
    Worker* wp = w.get();
    wp->reactor.post([wp] { wp->connect_some(); });
  }
  const bool docks_ok = wait_until(
      [&] { return sh.docks_up.load() + sh.docks_failed.load() >= o.docks; }, setup_deadline,
      sample_every_100ms);
  rep.docks_up = sh.docks_up.load();
  rep.docks_failed = o.docks - rep.docks_up;
  if (o.docks)
    rep.connect_seconds = static_cast<double>(sh.last_handshake.load() - sh.first_connect.load()) / 1e9;
  if (!docks_ok || sh.docks_failed.load()) {
    if (!docks_ok) sh.error("docks not up within --setup-timeout");
    finish();
    rep.clients_up = sh.clients_up.load();
    rep.errors = sh.errors;
    return rep;
  }
  std::fprintf(stderr, "hms-load: %u dock%s up in %.2f s\n", o.docks, o.docks == 1 ? "" : "s",
               rep.connect_seconds);

  // 3. Warm-up, then the window.
  const std::int64_t warm_end = mono_ns() + static_cast<std::int64_t>(o.warmup * 1e9);
  wait_until([&] { return mono_ns() >= warm_end; }, LLONG_MAX, sample_every_100ms);
  const std::int64_t start = mono_ns();
  const std::int64_t end = start + static_cast<std::int64_t>(o.duration * 1e9);
  const auto hub_cpu0 = o.hub_pid ? read_cpu_seconds(*o.hub_pid) : std::nullopt;
  const auto self_cpu0 = read_cpu_seconds(::getpid());
  const auto cpus0 = read_cpu_times();
  sh.win_start.store(start);
  sh.win_end.store(end);
  wait_until([&] { return mono_ns() >= end; }, LLONG_MAX, sample_every_100ms);
  const std::int64_t stopped = mono_ns();
  const auto hub_cpu1 = o.hub_pid ? read_cpu_seconds(*o.hub_pid) : std::nullopt;
  const auto self_cpu1 = read_cpu_seconds(::getpid());
  const auto cpus1 = read_cpu_times();
  finish();
  for (std::size_t i = 0; i < cpus0.size() && i < cpus1.size(); ++i) {
    const double total = static_cast<double>(cpus1[i].total - cpus0[i].total);
    rep.cpu_busy.push_back(total > 0 ? static_cast<double>(cpus1[i].busy - cpus0[i].busy) / total : 0);
  }

  rep.window_seconds = static_cast<double>(end - start) / 1e9;
  const double wall = static_cast<double>(stopped - start) / 1e9;
  if (hub_cpu0 && hub_cpu1 && wall > 0) rep.hub_cpu = (*hub_cpu1 - *hub_cpu0) / wall;
  if (self_cpu0 && self_cpu1 && wall > 0) rep.load_cpu = (*self_cpu1 - *self_cpu0) / wall;
  if (o.hub_pid && peak_kb) {
    rep.hub_rss_peak_mb = static_cast<double>(peak_kb) / 1024.0;
    rep.hub_rss_end_mb = static_cast<double>(last_kb) / 1024.0;
  }
  for (auto& w : sh.workers) {
    rep.sent += w->sent;
    rep.delivered += w->delivered;
    rep.skipped += w->skipped;
    rep.lost += w->lost;
    rep.reordered += w->reordered;
    rep.malformed += w->malformed;
    rep.latency.merge(w->latency);
  }
  rep.clients_up = sh.clients_up.load();
  rep.docks_lost = sh.docks_lost.load();
  rep.clients_lost = sh.clients_lost.load();
  rep.errors = sh.errors;
  return rep;
}

}  // namespace hms::load
