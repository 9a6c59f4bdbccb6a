// Output limits: a peer that stops reading is disconnected once its queue
// passes the hard limit, or stays above the soft limit for soft_seconds; the
// queue never grows past the hard limit by more than one frame, and other
// connections on the same reactor are not slowed down.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "engine/loop.hpp"
#include "engine/wire.hpp"
#include "hms/peer.hpp"

using namespace hms;
using namespace hms::test;
using namespace std::chrono_literals;

namespace {

constexpr int kSmallSocketBuffer = 16 * 1024;

struct Closed {
  bool done = false;
  CloseInfo info;
  std::chrono::steady_clock::time_point at{};
};

// One reactor with two listeners: `slow` (the limits under test; its
// client never reads) and `good` (a healthy client/server pair that must
// keep working throughout).
struct Fixture {
  Waiter<Closed> closed;
  Waiter<int> good_accepted;
  Waiter<int> slow_accepted;
  std::shared_ptr<Peer> slow;       // server side of the slow connection
  std::shared_ptr<Peer> good_srv;
  std::shared_ptr<Peer> good;       // client side of the healthy pair
  LoopThread loop;
  RawSocket slow_client;

  explicit Fixture(const OutputLimits& limits) {
    std::uint16_t slow_port = 0;
    loop.call([&] {
      ListenOptions lo;
      lo.conn.limits = limits;
      auto& sl = loop.reactor().listen("127.0.0.1:0", lo, [this](Connection& c) {
        // A small send buffer: the queue grows after little data.
        setsockopt(c.fd(), SOL_SOCKET, SO_SNDBUF, &kSmallSocketBuffer, sizeof kSmallSocketBuffer);
        slow = Peer::attach(c);
        slow->on_close([this](const CloseInfo& ci) {
          closed.set(Closed{true, ci, std::chrono::steady_clock::now()});
        });
        slow_accepted.set(1);
      });
      slow_port = loop.reactor().listen_port(sl);
      auto& gl = loop.reactor().listen("127.0.0.1:0", ListenOptions{}, [this](Connection& c) {
        good_srv = Peer::attach(c);
        good_srv->on(Opcode::get, [](Peer&, const Message& m, Reply r) {
          r.ok(as_json_string(m.id));
        });
        good_accepted.set(1);
      });
      good = Peer::connect(loop.reactor(), "127.0.0.1:" + std::to_string(loop.reactor().listen_port(gl)));
    });
    slow_client = RawSocket::connect_tcp(slow_port, kSmallSocketBuffer);
    // The server side exists once accepted.
    EXPECT_TRUE(slow_accepted.wait_for([](int n) { return n == 1; }));
  }

  // A request over the healthy pair, answered end to end.
  bool good_round_trip(const std::string& id) {
    Waiter<std::string> got;
    loop.call([&] {
      good->get(id, [&got](const Result& r) { got.set(r.ok() ? std::string(r.text) : "error"); });
    });
    const bool ok = got.wait_for([](const std::string& s) { return !s.empty(); });
    return ok && got.get() == as_json_string(id);
  }
};

// Sends stdout frames to the slow peer from a periodic timer (so the loop
// flushes between bursts and the kernel buffers really fill) until `until`
// says stop. Records the largest queue seen after any send.
struct Pump {
  std::string chunk = std::string(16 * 1024, 'x');
  std::size_t frame = message_head_size(std::string_view("web@dock").size()) + 16 * 1024;
  std::size_t max_queued = 0;
  std::size_t frames = 0;
  TimerId timer = 0;
  Waiter<int> stopped;

  void start(Fixture& f, std::function<bool(Connection&)> until) {
    stopped.set(0);
    f.loop.call([&, until = std::move(until)] {
      timer = f.loop.reactor().add_periodic(1ms, [this, &f, until] {
        for (int i = 0; i < 8; ++i) {
          Connection* c = f.slow->connection();
          if (!c || c->closing() || until(*c)) {
            f.loop.reactor().cancel_timer(timer);
            stopped.set(1);
            return;
          }
          if (!f.slow->write_stdout("web", "dock", chunk)) continue;
          ++frames;
          if ((c = f.slow->connection())) max_queued = std::max(max_queued, c->queued_bytes());
        }
      });
    });
  }
  bool wait() {
    return stopped.wait_for([](int s) { return s == 1; });
  }
};

TEST(OutputLimits, HardLimitClosesASlowReaderAndOthersKeepWorking) {
  OutputLimits lim;
  lim.hard = 1u << 20;
  lim.soft = 0;
  Pump pump;
  Fixture f(lim);
  ASSERT_TRUE(f.slow_client);
  ASSERT_TRUE(f.good_round_trip("before"));
  // Phase 1: fill until the queue is clearly stuck (half the hard limit).
  pump.start(f, [&](Connection& c) { return c.queued_bytes() > lim.hard / 2; });
  ASSERT_TRUE(pump.wait());
  EXPECT_FALSE(f.closed.get().done);
  // The reactor still serves the healthy pair while the slow queue is stuck.
  EXPECT_TRUE(f.good_round_trip("during"));
  // Phase 2: keep sending until the limit closes the connection.
  pump.start(f, [](Connection&) { return false; });
  ASSERT_TRUE(pump.wait());
  ASSERT_TRUE(f.closed.wait_for([](const Closed& c) { return c.done; }));
  const Closed c = f.closed.get();
  EXPECT_EQ(c.info.reason, CloseReason::output_limit) << c.info.message;
  EXPECT_FALSE(c.info.message.empty());
  // Memory stayed bounded: never more than the limit plus the frame that
  // crossed it.
  EXPECT_LE(f.loop.call([&] { return pump.max_queued; }), lim.hard + pump.frame);
  EXPECT_GT(f.loop.call([&] { return pump.max_queued; }), lim.hard / 2);
  EXPECT_EQ(f.loop.call([&] { return f.loop.reactor().stats().slow_disconnects; }), 1u);
  // Calls on the closed peer fail at once.
  EXPECT_FALSE(f.loop.call([&] { return f.slow->write_stdout("web", "dock", "late"); }));
  EXPECT_TRUE(f.good_round_trip("after"));
  // The slow client sees the connection end.
  EXPECT_TRUE(f.slow_client.wait_closed());
  f.loop.stop();
}

TEST(OutputLimits, SoftLimitClosesAfterSoftSecondsWithoutFurtherWrites) {
  OutputLimits lim;
  lim.hard = 64u << 20;
  lim.soft = 256u << 10;
  lim.soft_seconds = 1s;
  Pump pump;
  std::chrono::steady_clock::time_point over{};
  Fixture f(lim);
  ASSERT_TRUE(f.slow_client);
  // Stop sending once the queue is well over the soft limit (the kernel's
  // small buffers cannot take it back under): the limit must fire on its
  // own, not only when more output is queued.
  pump.start(f, [&](Connection& c) {
    if (c.queued_bytes() <= 2 * lim.soft) return false;
    over = std::chrono::steady_clock::now();
    return true;
  });
  ASSERT_TRUE(pump.wait());
  EXPECT_TRUE(f.good_round_trip("while-over-soft"));
  ASSERT_TRUE(f.closed.wait_for([](const Closed& c) { return c.done; }, 10s));
  const Closed c = f.closed.get();
  EXPECT_EQ(c.info.reason, CloseReason::output_limit) << c.info.message;
  // Not before soft_seconds (100 ms slack for the loop's clock granularity).
  EXPECT_GE(c.at - f.loop.call([&] { return over; }), 900ms);
  EXPECT_EQ(f.loop.call([&] { return f.loop.reactor().stats().slow_disconnects; }), 1u);
  EXPECT_TRUE(f.good_round_trip("after"));
  f.loop.stop();
}

TEST(OutputLimits, SoftLimitForgivesAQueueThatDrainsInTime) {
  OutputLimits lim;
  lim.hard = 64u << 20;
  lim.soft = 256u << 10;
  lim.soft_seconds = 1s;
  Pump pump;
  Waiter<int> fence;
  Fixture f(lim);
  ASSERT_TRUE(f.slow_client);
  pump.start(f, [&](Connection& c) { return c.queued_bytes() > lim.soft; });
  ASSERT_TRUE(pump.wait());
  // Now the client reads everything that was sent; the queue drains.
  const std::size_t total = f.loop.call([&] { return pump.frames * pump.frame; });
  std::string all;
  ASSERT_TRUE(f.slow_client.read_exact(&all, total));
  EXPECT_EQ(f.loop.call([&] { return f.slow->connection()->queued_bytes(); }), 0u);
  // Past the soft deadline the connection is still up.
  f.loop.call([&] { f.loop.reactor().add_timer(1200ms, [&] { fence.set(1); }); });
  ASSERT_TRUE(fence.wait_for([](int v) { return v == 1; }));
  EXPECT_FALSE(f.closed.get().done);
  EXPECT_EQ(f.loop.call([&] { return f.loop.reactor().stats().slow_disconnects; }), 0u);
  f.loop.stop();
}

TEST(OutputLimits, GracefulCloseToAPeerThatNeverReadsEndsAfterCloseTimeout) {
  OutputLimits lim;
  lim.hard = 0;  // no limit: only the close timeout can end it
  lim.soft = 0;
  lim.close_timeout = 200ms;
  Pump pump;
  Fixture f(lim);
  ASSERT_TRUE(f.slow_client);
  pump.start(f, [&](Connection& c) { return c.queued_bytes() > (512u << 10); });
  ASSERT_TRUE(pump.wait());
  f.loop.call([&] { f.slow->close(); });
  ASSERT_TRUE(f.closed.wait_for([](const Closed& c) { return c.done; }));
  EXPECT_EQ(f.closed.get().info.reason, CloseReason::local);
  EXPECT_TRUE(f.good_round_trip("after"));
  f.loop.stop();
}

TEST(OutputLimits, AStuckSendDoesNotSpinTheLoop) {
  // A full socket must be waited on (POLLOUT / EPOLLOUT), not retried at
  // once: io_uring completes a send on a full non-blocking socket with
  // -EAGAIN immediately. Loose bound, as below.
  OutputLimits lim;
  lim.hard = 0;
  lim.soft = 0;
  Pump pump;
  Waiter<int> fence;
  Fixture f(lim);
  ASSERT_TRUE(f.slow_client);
  pump.start(f, [&](Connection& c) { return c.queued_bytes() > (512u << 10); });
  ASSERT_TRUE(pump.wait());
  const auto before = f.loop.call([&] {
    f.loop.reactor().add_timer(std::chrono::milliseconds(300), [&] { fence.set(1); });
    return f.loop.reactor().stats().loop_iterations;
  });
  // The reader does not read, but it still talks: pings (whose answers
  // join the stuck queue) wake the socket without making room.
  for (std::uint16_t i = 0; i < 10; ++i) ASSERT_TRUE(f.slow_client.write_all(frame_bytes(FrameType::ping, i, "")));
  ASSERT_TRUE(fence.wait_for([](int v) { return v == 1; }));
  const auto passes = f.loop.call([&] { return f.loop.reactor().stats().loop_iterations; }) - before;
  EXPECT_LT(passes, 2000u);
  // And the queue is intact: the reader gets every byte once it reads,
  // then the ten pongs.
  const std::size_t total = f.loop.call([&] { return pump.frames * pump.frame; });
  std::string all;
  ASSERT_TRUE(f.slow_client.read_exact(&all, total));
  for (std::uint16_t i = 0; i < 10; ++i) {
    auto pong = f.slow_client.read_frame();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->request_id, i);
  }
  EXPECT_FALSE(f.closed.get().done);
  f.loop.stop();
}

TEST(OutputLimits, AClosingConnectionDoesNotSpinOnInputItNoLongerReads) {
  // close() stops reading, but the peer keeps its unread bytes (and its
  // EOF) pending while our output waits: the loop must sleep meanwhile, not
  // wake for that input over and over. Loose bound: a spinning loop makes
  // hundreds of thousands of passes in the 300 ms.
  OutputLimits lim;
  lim.hard = 0;
  lim.soft = 0;
  lim.close_timeout = std::chrono::milliseconds(300);
  Pump pump;
  Fixture f(lim);
  ASSERT_TRUE(f.slow_client);
  pump.start(f, [&](Connection& c) { return c.queued_bytes() > (512u << 10); });
  ASSERT_TRUE(pump.wait());
  const auto before = f.loop.call([&] {
    f.slow->close();
    return f.loop.reactor().stats().loop_iterations;
  });
  ASSERT_TRUE(f.slow_client.write_all(std::string(1000, 'z')));
  f.slow_client.shutdown_write();
  ASSERT_TRUE(f.closed.wait_for([](const Closed& c) { return c.done; }));
  const auto passes = f.loop.call([&] { return f.loop.reactor().stats().loop_iterations; }) - before;
  EXPECT_LT(passes, 2000u);
  f.loop.stop();
}

TEST(OutputLimits, StoppingTheReactorDropsOutputAPeerNeverReads) {
  // Shutdown flushes for a bounded time, then drops what a dead reader
  // would never take: stop() returns.
  OutputLimits lim;
  lim.hard = 0;
  lim.soft = 0;
  Pump pump;
  Fixture f(lim);
  ASSERT_TRUE(f.slow_client);
  pump.start(f, [&](Connection& c) { return c.queued_bytes() > (512u << 10); });
  ASSERT_TRUE(pump.wait());
  f.loop.stop();
  ASSERT_TRUE(f.closed.get().done);
  EXPECT_EQ(f.closed.get().info.reason, CloseReason::shutdown);
}

}  // namespace
