// The engine side of the end-to-end benchmark: each program is one Reactor on
// the main thread with one Peer, written the way an application (a dock, a
// CLI) would use the public API. The backend comes from HMS_BACKEND, so the
// same binary measures io_uring and epoll.
//
// Connections are raw frames from the first byte (ConnectOptions::upgrade =
// false), as the Node reference programs speak: the CONNECT head is a one-time
// cost outside every measured window.
#include <cstdio>
#include <memory>
#include <string>
#include <system_error>

#include "hms/peer.hpp"
#include "hms/reactor.hpp"
#include "programs.hpp"

namespace bench {
namespace {

using hms::Connection;
using hms::HandlerTable;
using hms::Message;
using hms::Opcode;
using hms::Peer;
using hms::Reactor;
using hms::Reply;
using hms::Result;

std::string endpoint(const Options& o) { return "127.0.0.1:" + std::to_string(o.port); }

// Stats of the reactor on stderr: where the engine spent its loop, kept in the
// run's log for reading a surprising number.
void log_stats(const char* who, const Reactor& r) {
  const hms::ReactorStats& s = r.stats();
  std::fprintf(stderr,
               "%s [%s]: frames in %llu out %llu, bytes in %llu out %llu, assembled %llu, "
               "pinned copies %llu, buffer stalls %llu, loop iterations %llu, busy %.3f s\n",
               who, hms::to_string(r.backend()), static_cast<unsigned long long>(s.frames_in),
               static_cast<unsigned long long>(s.frames_out),
               static_cast<unsigned long long>(s.bytes_in),
               static_cast<unsigned long long>(s.bytes_out),
               static_cast<unsigned long long>(s.assembled_frames),
               static_cast<unsigned long long>(s.pinned_copies),
               static_cast<unsigned long long>(s.buffer_stalls),
               static_cast<unsigned long long>(s.loop_iterations),
               static_cast<double>(s.loop_busy_ns) / 1e9);
}

// Listens for exactly one connection and closes the listener once it came,
// so the port is free as soon as the pair is connected. The reactor stops
// when that connection closes, or at the hard deadline.
class OneServer {
 public:
  OneServer(Reactor& r, const Options& o, std::shared_ptr<HandlerTable> table)
      : r_(r), table_(std::move(table)) {
    listener_ = &r_.listen(endpoint(o), hms::ListenOptions{}, [this](Connection& c) {
      peer_ = Peer::attach(c);
      peer_->set_handlers(table_);
      peer_->on_close([this](const hms::CloseInfo&) { r_.stop(); });
      r_.close_listener(*listener_);
    });
    r_.add_timer(to_duration(o.hard_deadline_s()), [this] {
      std::fputs("hms_engine_bench: hard deadline reached\n", stderr);
      r_.stop();
    });
  }
  Peer* peer() const { return peer_.get(); }

 private:
  Reactor& r_;
  std::shared_ptr<HandlerTable> table_;
  hms::Listener* listener_ = nullptr;
  std::shared_ptr<Peer> peer_;
};

// Connects from inside the loop (Reactor::connect must run on the reactor's
// thread), retrying while the other side is not listening yet, then calls
// `ready` with the connected peer.
void connect_retry(Reactor& r, const Options& o, Clock::time_point deadline,
                   std::shared_ptr<Peer>* out, std::function<void()> ready) {
  r.post([&r, &o, deadline, out, ready = std::move(ready)]() mutable {
    hms::ConnectOptions co;
    co.upgrade = false;
    try {
      *out = Peer::connect(r, endpoint(o), co);
    } catch (const std::system_error& e) {
      if (e.code() == std::errc::connection_refused && Clock::now() < deadline) {
        r.add_timer(std::chrono::milliseconds(5), [&r, &o, deadline, out, ready]() mutable {
          connect_retry(r, o, deadline, out, std::move(ready));
        });
        return;
      }
      fail("connect %s: %s", endpoint(o).c_str(), e.what());
    }
    ready();
  });
}

}  // namespace

int hms_recv(const Options& o) {
  Reactor r;
  std::uint64_t frames = 0, bytes = 0;
  Window w;
  bool first = true;
  auto table = std::make_shared<HandlerTable>();
  table->set(Opcode::stdout_, [&](Peer&, const Message& m, Reply) {
    if (m.service != kService || m.origin != kOrigin || m.payload.size() != o.payload)
      fail("hms-recv: frame %llu is not the one that was sent", static_cast<unsigned long long>(frames));
    ++frames;
    bytes += m.payload.size();
    if (first) {
      // The clock starts at the first frame, as in the raw receiver.
      first = false;
      r.add_timer(to_duration(o.warmup), [&] { w.start(Clock::now(), frames, bytes); });
      r.add_timer(to_duration(o.warmup + o.duration), [&] {
        w.end(Clock::now(), frames, bytes);
        r.stop();
      });
    }
  });
  OneServer server(r, o, table);
  r.run();
  log_stats("hms-recv", r);
  report_stream(w, frames);
  return 0;
}

int hms_send(const Options& o) {
  Reactor r;
  const auto deadline = Clock::now() + to_duration(o.hard_deadline_s());
  const std::string payload(o.payload, 'x');
  std::shared_ptr<Peer> peer;
  // Fill the output queue up to the high-water mark, then wait for on_drain:
  // the backpressure contract a dock follows.
  auto pump = [&] {
    while (peer->writable())
      if (!peer->write_stdout(kService, kOrigin, payload)) return;
  };
  connect_retry(r, o, deadline, &peer, [&] {
    peer->connection()->set_high_water(o.high_water);
    peer->on_drain(pump);
    peer->on_close([&](const hms::CloseInfo&) { r.stop(); });
    pump();
  });
  r.add_timer(to_duration(o.hard_deadline_s()), [&] { r.stop(); });
  r.run();
  log_stats("hms-send", r);
  return 0;
}

int hms_rpc_server(const Options& o) {
  Reactor r;
  auto table = std::make_shared<HandlerTable>();
  table->set(Opcode::start, [](Peer&, const Message& m, Reply reply) {
    if (m.id != kRpcId || !reply.expects_reply()) fail("hms-rpc-server: unexpected request");
    reply.ok();
  });
  OneServer server(r, o, table);
  r.run();
  log_stats("hms-rpc-server", r);
  return 0;
}

namespace {

// The rpc client's state. Reply callbacks capture only a pointer to it and
// the send time (16 bytes), so std::function keeps them without allocating.
struct RpcClient {
  Reactor& r;
  const Options& o;
  std::shared_ptr<Peer> peer;
  Window w;
  Latencies lat;
  std::uint64_t done = 0;
  bool stopping = false;

  void issue() {
    const auto sent = o.window == 1 ? Clock::now() : Clock::time_point{};
    peer->start(kRpcId, [this, sent](const Result& res) { on_reply(sent, res); });
  }

  void on_reply(Clock::time_point sent, const Result& res) {
    if (stopping) return;  // requests cut off by our own close
    if (!res.ok() || !res.text.empty())
      fail("hms-rpc-client: request failed: %.*s", static_cast<int>(res.text.size()), res.text.data());
    ++done;
    if (o.window == 1 && w.started)
      lat.add(static_cast<std::uint64_t>(std::chrono::nanoseconds(Clock::now() - sent).count()));
    issue();
  }
};

}  // namespace

int hms_rpc_client(const Options& o) {
  Reactor r;
  const auto deadline = Clock::now() + to_duration(o.hard_deadline_s());
  RpcClient c{r, o, nullptr, {}, {}, 0, false};
  if (o.window == 1) c.lat.reserve(static_cast<std::size_t>(o.duration * 200000));
  connect_retry(r, o, deadline, &c.peer, [&] {
    c.peer->on_close([&](const hms::CloseInfo&) {
      if (!c.stopping) fail("hms-rpc-client: the server closed the connection");
    });
    for (std::size_t i = 0; i < o.window; ++i) c.issue();
    r.add_timer(to_duration(o.warmup), [&] { c.w.start(Clock::now(), c.done, 0); });
    r.add_timer(to_duration(o.warmup + o.duration), [&] {
      c.w.end(Clock::now(), c.done, 0);
      c.stopping = true;
      c.peer->close();
      r.stop();
    });
  });
  r.add_timer(to_duration(o.hard_deadline_s()), [&] { r.stop(); });
  r.run();
  log_stats("hms-rpc-client", r);
  report_rpc(c.w, c.lat);
  return 0;
}

}  // namespace bench
