// The loop itself: several reactors in one process, post() from many
// threads, timers, and a received frame relayed to a connection of another
// reactor (its buffer then comes home from a foreign thread).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/loop.hpp"
#include "engine/wire.hpp"
#include "hms/peer.hpp"

using namespace hms;
using namespace hms::test;
using namespace std::chrono_literals;

namespace {

TEST(Reactors, ClientOnOneReactorServerOnAnother) {
  Waiter<int> done;
  std::atomic<int> wrong_thread{0};
  LoopThread a, b;
  std::shared_ptr<Peer> server, client;
  const std::uint16_t port = a.call([&] {
    auto& l = a.reactor().listen("127.0.0.1:0", ListenOptions{}, [&](Connection& c) {
      server = Peer::attach(c);
      server->on(Opcode::get, [&](Peer&, const Message& m, Reply r) {
        if (!a.reactor().in_loop_thread()) ++wrong_thread;
        r.ok(as_json_string(m.id));
      });
    });
    return a.reactor().listen_port(l);
  });
  constexpr int kCount = 2000;
  b.call([&] {
    client = Peer::connect(b.reactor(), "127.0.0.1:" + std::to_string(port));
    for (int i = 0; i < kCount; ++i)
      client->get(numbered("s", i), [&, i](const Result& r) {
        if (!b.reactor().in_loop_thread()) ++wrong_thread;
        EXPECT_EQ(r.text, as_json_string(numbered("s", i)));
        done.update([](int& n) { ++n; });
      });
  });
  ASSERT_TRUE(done.wait_for([](int n) { return n == kCount; }));
  EXPECT_EQ(wrong_thread.load(), 0);
  EXPECT_FALSE(a.reactor().in_loop_thread());
  b.stop();
  a.stop();
}

TEST(Reactors, ManyReactorsManyClients) {
  // Four reactors; every one runs a server and connects a client to each of
  // the others' servers.
  constexpr int kLoops = 4;
  constexpr int kPerPair = 200;
  Waiter<int> done;
  std::vector<std::vector<std::shared_ptr<Peer>>> peers(kLoops);  // per loop, touched on it only
  std::vector<std::unique_ptr<LoopThread>> loops;
  for (int i = 0; i < kLoops; ++i) loops.push_back(std::make_unique<LoopThread>());
  std::vector<std::uint16_t> ports(kLoops);
  for (int i = 0; i < kLoops; ++i) {
    ports[static_cast<std::size_t>(i)] = loops[static_cast<std::size_t>(i)]->call([&, i] {
      auto& r = loops[static_cast<std::size_t>(i)]->reactor();
      auto& l = r.listen("127.0.0.1:0", ListenOptions{}, [&, i](Connection& c) {
        auto p = Peer::attach(c);
        p->on(Opcode::ps, [](Peer&, const Message&, Reply rep) { rep.ok("[]"); });
        peers[static_cast<std::size_t>(i)].push_back(p);
      });
      return r.listen_port(l);
    });
  }
  for (int i = 0; i < kLoops; ++i) {
    loops[static_cast<std::size_t>(i)]->call([&, i] {
      for (int j = 0; j < kLoops; ++j) {
        if (j == i) continue;
        auto c = Peer::connect(loops[static_cast<std::size_t>(i)]->reactor(),
                               "127.0.0.1:" + std::to_string(ports[static_cast<std::size_t>(j)]));
        for (int k = 0; k < kPerPair; ++k)
          c->ps([&](const Result& r) {
            EXPECT_EQ(r.text, "[]");
            done.update([](int& n) { ++n; });
          });
        peers[static_cast<std::size_t>(i)].push_back(c);
      }
    });
  }
  ASSERT_TRUE(done.wait_for([](int n) { return n == kLoops * (kLoops - 1) * kPerPair; }));
  for (auto& l : loops) l->stop();
}

TEST(Reactors, PostFromManyThreadsRunsEverythingInPerThreadOrder) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5000;
  std::vector<std::vector<int>> seen(kThreads);  // touched on the loop only
  Waiter<int> count;
  LoopThread loop;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        loop.reactor().post([&, t, i] {
          seen[static_cast<std::size_t>(t)].push_back(i);
          if (!loop.reactor().in_loop_thread()) ADD_FAILURE() << "posted task off the loop thread";
          count.update([](int& n) { ++n; });
        });
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(count.wait_for([](int n) { return n == kThreads * kPerThread; }));
  loop.call([&] {
    for (int t = 0; t < kThreads; ++t) {
      ASSERT_EQ(seen[static_cast<std::size_t>(t)].size(), static_cast<std::size_t>(kPerThread));
      for (int i = 0; i < kPerThread; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)], i);
    }
  });
  loop.stop();
}

TEST(Reactors, PostWakesAnIdleLoop) {
  // Each post lands once the loop has committed to sleeping (its iteration
  // count moves just before the wait, after its last look for work), with
  // nothing to do and no timers: only the eventfd can bring it back before
  // its one-second idle timeout. 50 posts take well under a second each.
  LoopThread loop;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) {
    const std::uint64_t before = loop.call([&] { return loop.reactor().stats().loop_iterations.get(); });
    ASSERT_TRUE(eventually([&] { return loop.reactor().stats().loop_iterations.get() > before; }));
    EXPECT_EQ(loop.call([i] { return i; }), i);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(25))
      << "posts waited for the idle timeout instead of waking the loop";
  EXPECT_GE(loop.reactor().stats().wakeups, 50u);
  loop.stop();
}

TEST(Timers, OneShotPeriodicAndCancel) {
  Waiter<std::vector<std::string>> log;
  Waiter<int> fence;
  LoopThread loop;
  auto note = [&](std::string s) { log.update([&](auto& v) { v.push_back(std::move(s)); }); };
  TimerId periodic = 0;
  int ticks = 0;
  loop.call([&] {
    Reactor& r = loop.reactor();
    r.add_timer(20ms, [&] { note("oneshot-20"); });
    r.add_timer(5ms, [&] { note("oneshot-5"); });
    const TimerId cancelled = r.add_timer(10ms, [&] { note("cancelled"); });
    r.cancel_timer(cancelled);
    r.cancel_timer(cancelled);  // twice is harmless
    r.cancel_timer(987654);     // unknown ids too
    periodic = r.add_periodic(3ms, [&] {
      ++ticks;
      if (ticks == 5) {
        note("periodic-5");
        loop.reactor().cancel_timer(periodic);  // from inside its own callback
      }
    });
    // A timer added from a timer callback runs later, not in this pass.
    r.add_timer(1ms, [&] {
      note("outer");
      loop.reactor().add_timer(0ms, [&] { note("inner"); });
    });
  });
  auto has = [](const std::vector<std::string>& v, const char* s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  ASSERT_TRUE(log.wait_for([&](auto& v) {
    return has(v, "oneshot-5") && has(v, "oneshot-20") && has(v, "periodic-5") && has(v, "inner");
  }));
  // Every deadline above has passed; a fence a little later gives a tick
  // after the cancel (or the cancelled one-shot) the chance to show up.
  loop.call([&] { loop.reactor().add_timer(20ms, [&] { fence.set(1); }); });
  ASSERT_TRUE(fence.wait_for([](int v) { return v == 1; }));
  const auto v = log.get();
  EXPECT_TRUE(has(v, "outer"));
  EXPECT_FALSE(has(v, "cancelled"));
  EXPECT_EQ(std::count(v.begin(), v.end(), "oneshot-5"), 1);
  // Deadlines order the one-shots.
  EXPECT_LT(std::find(v.begin(), v.end(), "oneshot-5"), std::find(v.begin(), v.end(), "oneshot-20"));
  EXPECT_LT(std::find(v.begin(), v.end(), "outer"), std::find(v.begin(), v.end(), "inner"));
  EXPECT_EQ(loop.call([&] { return ticks; }), 5);  // cancelled: no sixth tick
  loop.stop();
}

TEST(Timers, CancelAPeriodicTimerFromAnotherCallback) {
  Waiter<int> fence;
  LoopThread loop;
  int ticks = 0;
  loop.call([&] {
    Reactor& r = loop.reactor();
    const TimerId p = r.add_periodic(2ms, [&] { ++ticks; });
    r.add_timer(30ms, [&, p] { loop.reactor().cancel_timer(p); });
    r.add_timer(30ms, [&] {
      // Scheduled for the same instant as the cancel: count what ran so far.
      fence.set(1);
    });
  });
  ASSERT_TRUE(fence.wait_for([](int v) { return v == 1; }));
  const int at_cancel = loop.call([&] { return ticks; });
  EXPECT_GE(at_cancel, 1);
  Waiter<int> later;
  loop.call([&] { loop.reactor().add_timer(20ms, [&] { later.set(1); }); });
  ASSERT_TRUE(later.wait_for([](int v) { return v == 1; }));
  EXPECT_EQ(loop.call([&] { return ticks; }), at_cancel);
  loop.stop();
}

// A ConnectionHandler that counts stdout frames and hands each one, by
// reference (no copy), to a function.
class Relay final : public ConnectionHandler {
 public:
  std::function<void(const FrameView&, const BufRef&)> fn;
  void on_frame(Connection&, const FrameView& f, const BufRef& storage) override { fn(f, storage); }
  void on_close(Connection&, const CloseInfo&) override {}
};

TEST(Reactors, FrameRelayedToAConnectionOnAnotherReactor) {
  // A dock writes to reactor A; A's handler posts each frame (its BufRef,
  // not a copy) to reactor B, which queues it on a subscriber's connection.
  // The receive buffers of A are released on B's thread and must find
  // their way home; with a small pool A would stall if they did not.
  constexpr int kFrames = 3000;
  Relay relay;
  std::shared_ptr<Peer> sub_srv;  // on B
  ReactorOptions small;
  small.recv_buffers = 8;
  small.recv_buffer_size = 4096;
  LoopThread a(small), b;
  const std::uint16_t sub_port = b.call([&] {
    auto& l = b.reactor().listen("127.0.0.1:0", ListenOptions{}, [&](Connection& c) { sub_srv = Peer::attach(c); });
    return b.reactor().listen_port(l);
  });
  RawSocket sub = RawSocket::connect_tcp(sub_port);
  ASSERT_TRUE(eventually([&] { return b.call([&] { return sub_srv != nullptr; }); }));
  relay.fn = [&](const FrameView& f, const BufRef& storage) {
    BufRef keep = storage;
    const std::uint8_t* data = f.body - kHeaderSize;
    const std::size_t len = kHeaderSize + f.header.length;
    b.reactor().post([&, keep = std::move(keep), data, len] {
      sub_srv->connection()->send_ref(keep, data, len);
    });
  };
  const std::uint16_t dock_port = a.call([&] {
    auto& l = a.reactor().listen("127.0.0.1:0", ListenOptions{}, [&](Connection& c) { c.set_handler(&relay); });
    return a.reactor().listen_port(l);
  });
  RawSocket dock = RawSocket::connect_tcp(dock_port);
  std::string sent;
  for (int i = 0; i < kFrames; ++i)
    sent += message_bytes(FrameType::message, 0, Opcode::stdout_, "web@dock",
                          "line " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 700), '.') + "\n");
  std::thread writer([&] { EXPECT_TRUE(dock.write_all(sent)); });
  std::string got;
  EXPECT_TRUE(sub.read_exact(&got, sent.size()));
  writer.join();
  EXPECT_TRUE(got == sent);
  // Every buffer A lent to B came back.
  EXPECT_TRUE(eventually([&] { return a.reactor().free_recv_buffers() == small.recv_buffers; }))
      << a.reactor().free_recv_buffers() << " of " << small.recv_buffers << " buffers free";
  b.stop();
  a.stop();
}

}  // namespace
