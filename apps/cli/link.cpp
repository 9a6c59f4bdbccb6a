#include "link.hpp"

#include <atomic>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "dial.hpp"
#include "hms/peer.hpp"
#include "hms/reactor.hpp"
#include "jsvalue.hpp"
#include "log_tail.hpp"
#include "spinner.hpp"
#include "text.hpp"
#include "ssh_tunnel.hpp"
#include "version.hpp"

namespace hms::cli {

using namespace std::chrono_literals;

// The reference's pingable: a ping every 15 s, dropped after 5 s unanswered.
constexpr auto kPingEvery = 15s;
constexpr auto kPingTimeout = 5s;

struct Link::State {
  Reactor* reactor = nullptr;  // made, run and destroyed by the thread; set before open() returns
  std::thread thread;
  std::shared_ptr<Peer> peer;  // I/O thread only
  std::shared_ptr<LogTail> tail;
  bool pinging = false;
  TimerId ping_deadline = 0;

  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;

  void set_closed() {
    std::lock_guard l(mu);
    closed = true;
    cv.notify_all();
  }
  // Runs fn on the I/O thread (in order with every other post).
  void post(std::function<void()> fn) { reactor->post(std::move(fn)); }
};

Outcome<HttpRoute> route_to(const Remote& r, const Timeouts& t, std::unique_ptr<SshTunnel>* tunnel) {
  HttpRoute route;
  route.host_header = r.authority();
  if (r.ssh) {
    if (!*tunnel) {
      auto opened = SshTunnel::open(r, t.ssh);
      if (!opened) return Failure{opened.error()};
      *tunnel = std::move(opened.value());
    }
    route.unix_path = (*tunnel)->socket_path();
  } else {
    route.host = r.host;
    route.port = r.port;
  }
  return route;
}

Link::Link() : st_(std::make_unique<State>()) {}

Link::~Link() {
  if (st_->thread.joinable()) {
    State* st = st_.get();
    st->post([st] {
      // What the tail has formatted goes out before we do.
      if (st->tail) st->tail->flush();
      if (st->peer && !st->peer->closed()) st->peer->close();
      st->reactor->stop();
    });
  }
  if (st_->thread.joinable()) st_->thread.join();
}

Outcome<std::unique_ptr<Link>> Link::open(const Remote& r, const Timeouts& t, bool tail) {
  std::unique_ptr<Link> link(new Link());
  link->timeouts_ = t;
  auto route = route_to(r, t, &link->tunnel_);
  if (!route) return Failure{route.error()};
  link->route_ = route.value();

  const Deadline deadline = after(t.connect);
  DialTarget dt{route->host, route->port, route->unix_path};
  auto sock = dial(dt, deadline);
  if (!sock) return Failure{sock.error()};
  if (auto up = http_connect(sock.value(), route->host_header, deadline); !up) return Failure{up.error()};

  // The reactor is made, run and destroyed on its own thread (io_uring
  // wants one issuer).
  State* st = link->st_.get();
  std::promise<Reactor*> made;
  auto ready = made.get_future();
  st->thread = std::thread([st, tail, &made] {
    ReactorOptions ro;
    // epoll unless HMS_BACKEND says otherwise: for one connection it is as
    // fast as io_uring (log tails measured the same), and setting up and
    // tearing down a ring costs about 1 ms of a command's ~3 ms.
    if (!std::getenv("HMS_BACKEND")) ro.backend = Backend::epoll;
    ro.recv_buffers = tail ? 32 : 4;
    ro.recv_buffer_size = 64 * 1024;
    ro.ring_entries = 64;
    std::unique_ptr<Reactor> reactor;
    try {
      reactor = std::make_unique<Reactor>(ro);
    } catch (...) {
      made.set_exception(std::current_exception());
      return;
    }
    // Published through the promise (set_value happens-before get()); the
    // pointer stays valid until ~Link has joined this thread.
    st->reactor = reactor.get();
    made.set_value(reactor.get());
    reactor->run();
    st->set_closed();
    st->peer.reset();  // before its reactor goes
  });
  try {
    ready.get();
  } catch (const std::exception& e) {
    st->thread.join();
    return Failure{std::string("cannot start the event loop: ") + e.what()};
  }

  const int fd = sock->release();
  auto hs = std::make_shared<std::promise<Reply>>();
  auto hs_f = hs->get_future().share();
  st->post([st, fd, hs] {
    Connection& c = st->reactor->adopt(fd, ConnectionOptions{}, nullptr);
    st->peer = Peer::attach(c);
    st->peer->on_close([st](const CloseInfo&) { st->set_closed(); });
    // Clients of the reference send exactly this (hostname is a function
    // there, which JSON drops).
    std::string json = R"({"type":"client","version":")";
    json += kVersion;
    json += "\"}";
    st->peer->handshake(json, [hs](const hms::Result& res) {
      hs->set_value(Reply{res.ok(), res.status == hms::Result::Status::closed && res.text.empty()
                                        ? std::string(kDestroyed)
                                        : std::string(res.text)});
    });
  });
  if (hs_f.wait_until(deadline) != std::future_status::ready)
    return Failure{"Timed out waiting for the remote's handshake"};
  const Reply& h = hs_f.get();
  if (!h.ok) return Failure{h.text};
  const JsParse p = parse_json(h.text);
  const JsValue* type = p.ok() && p.value.is_object() ? p.value.get("type") : nullptr;
  if (!type || !type->truthy()) return Failure{"Server sent invalid handshake"};
  return link;
}

std::shared_future<Reply> Link::send(Opcode op, std::string id, std::string payload) {
  auto pr = std::make_shared<std::promise<Reply>>();
  auto f = pr->get_future().share();
  State* st = st_.get();
  st->post([st, op, id = std::move(id), payload = std::move(payload), pr] {
    if (!st->peer || st->peer->closed()) {
      pr->set_value(Reply{false, std::string(kDestroyed)});
      return;
    }
    auto cb = [pr](const hms::Result& res) {
      std::string text(res.text);
      if (!res.ok() && text.empty()) text = res.status == hms::Result::Status::closed ? kDestroyed : "unknown error";
      pr->set_value(Reply{res.ok(), std::move(text)});
    };
    if (op == Opcode::subscribe) st->peer->subscribe(id, cb);  // keeps the peer's bookkeeping
    else st->peer->request(op, id, payload, cb);
  });
  return f;
}

Reply Link::wait(const std::shared_future<Reply>& f, Spinner* spin) {
  const Deadline deadline = after(timeouts_.reply);
  for (;;) {
    const Deadline step = std::min(deadline, after(500ms));
    if (f.wait_until(step) == std::future_status::ready) return f.get();
    if (Clock::now() >= deadline) {
      return Reply{false, "Timed out after " + duration_text(timeouts_.reply) + " waiting for the remote (see --timeout)"};
    }
    if (spin) spin->tick();
  }
}

void Link::attach(std::shared_ptr<LogTail> tail) {
  State* st = st_.get();
  std::promise<void> done;
  auto f = done.get_future();
  st->post([st, tail = std::move(tail), &done] {
    const bool first = !st->tail;
    st->tail = tail;
    if (st->peer) {
      LogTail* t = tail.get();
      for (Opcode op : {Opcode::stdout_, Opcode::stderr_, Opcode::spawn, Opcode::exit})
        st->peer->on(op, [t](Peer&, const Message& m, hms::Reply) { t->on_event(m); });
    }
    if (first) {
      st->reactor->add_before_flush([st] {
        if (st->tail) st->tail->flush();
      });
      schedule_ping(st);
    }
    done.set_value();
  });
  f.wait();
}

void Link::set_tail_mode(LogTail::Mode mode) {
  State* st = st_.get();
  std::promise<void> done;
  auto f = done.get_future();
  st->post([st, mode, &done] {
    if (st->tail) st->tail->set_mode(mode);
    done.set_value();
  });
  f.wait();
}

void Link::schedule_ping(State* st) {
  st->reactor->add_timer(kPingEvery, [st] {
    if (!st->peer || st->peer->closed()) return;
    st->pinging = true;
    st->ping_deadline = st->reactor->add_timer(kPingTimeout, [st] {
      if (st->pinging && st->peer && !st->peer->closed()) st->peer->close();
    });
    st->peer->ping([st](const hms::Result& r) {
      st->pinging = false;
      st->reactor->cancel_timer(st->ping_deadline);
      if (r.ok()) schedule_ping(st);
    });
  });
}

void Link::wait_closed() {
  std::unique_lock l(st_->mu);
  st_->cv.wait(l, [&] { return st_->closed; });
}

bool Link::closed() const {
  std::lock_guard l(st_->mu);
  return st_->closed;
}

}  // namespace hms::cli
