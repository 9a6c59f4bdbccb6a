// Receive-buffer pressure (DESIGN.md section 5, the trap): frames relayed
// by reference to a subscriber that does not read pin the receive buffers
// they live in. With a tiny pool the ring would run dry and stall every
// connection on the reactor; the engine must copy the pinned frames out and
// keep receiving.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "engine/loop.hpp"
#include "engine/wire.hpp"
#include "hms/peer.hpp"

using namespace hms;
using namespace hms::test;
using namespace std::chrono_literals;

namespace {

constexpr int kSmallSocketBuffer = 16 * 1024;

// Relays every frame it receives, by reference, to `to`: directly when
// `to` lives on the same reactor, else posted to `to_loop` (the BufRef
// travels; the bytes are not copied).
class RelayHandler final : public ConnectionHandler {
 public:
  std::atomic<Connection*> to{nullptr};
  Reactor* to_loop = nullptr;
  Waiter<int> frames;
  void on_frame(Connection&, const FrameView& f, const BufRef& storage) override {
    const std::uint8_t* data = f.body - kHeaderSize;
    const std::size_t len = kHeaderSize + f.header.length;
    if (to_loop) {
      to_loop->post([this, keep = storage, data, len] {
        if (Connection* c = to.load()) c->send_ref(keep, data, len);
      });
    } else if (Connection* c = to.load()) {
      c->send_ref(storage, data, len);
    }
    frames.update([](int& n) { ++n; });
  }
  void on_close(Connection&, const CloseInfo&) override {}
};

// The subscriber's server side: reads nothing of interest.
class Sink final : public ConnectionHandler {
 public:
  RelayHandler* relay = nullptr;
  void on_frame(Connection&, const FrameView&, const BufRef&) override {}
  void on_close(Connection&, const CloseInfo&) override { relay->to = nullptr; }
};

struct RigOptions {
  std::uint32_t buffers = 4;
  double low_water = 0.25;
  bool sub_elsewhere = false;  // the subscriber lives on another reactor
};

std::string dock_stream(int frames, std::size_t payload) {
  std::string out;
  for (int i = 0; i < frames; ++i) {
    std::string line = "line " + std::to_string(i) + " ";
    line.resize(payload, static_cast<char>('a' + i % 26));
    out += message_bytes(FrameType::message, 0, Opcode::stdout_, "web@dock-a", line);
  }
  return out;
}

struct PressureRig {
  RelayHandler relay;
  Sink sink;
  std::shared_ptr<Peer> other_srv, other;  // a third connection: requests
  LoopThread loop;       // the reactor under pressure
  LoopThread peer_loop;  // the healthy client's reactor (and the
                         // subscriber's, with sub_elsewhere)
  RawSocket sub, dock;
  std::uint16_t other_port = 0;

  explicit PressureRig(const RigOptions& o) : loop(options(o)) {
    std::uint16_t sub_port = 0, dock_port = 0;
    sink.relay = &relay;
    LoopThread& sub_loop = o.sub_elsewhere ? peer_loop : loop;
    if (o.sub_elsewhere) relay.to_loop = &peer_loop.reactor();
    sub_port = sub_loop.call([&] {
      ListenOptions unlimited;
      unlimited.conn.limits.hard = 0;  // the subscriber must not be dropped
      unlimited.conn.limits.soft = 0;
      auto& sl = sub_loop.reactor().listen("127.0.0.1:0", unlimited, [this](Connection& c) {
        setsockopt(c.fd(), SOL_SOCKET, SO_SNDBUF, &kSmallSocketBuffer, sizeof kSmallSocketBuffer);
        c.set_handler(&sink);
        relay.to = &c;
      });
      return sub_loop.reactor().listen_port(sl);
    });
    loop.call([&] {
      Reactor& r = loop.reactor();
      auto& dl = r.listen("127.0.0.1:0", ListenOptions{}, [this](Connection& c) { c.set_handler(&relay); });
      auto& ol = r.listen("127.0.0.1:0", ListenOptions{}, [this](Connection& c) {
        other_srv = Peer::attach(c);
        other_srv->on(Opcode::get, [](Peer&, const Message& m, Reply rep) {
          rep.ok(as_json_string(m.id));
        });
      });
      dock_port = r.listen_port(dl);
      other_port = r.listen_port(ol);
    });
    sub = RawSocket::connect_tcp(sub_port, kSmallSocketBuffer);
    EXPECT_TRUE(eventually([&] { return relay.to.load() != nullptr; })) << "the subscriber was never accepted";
    dock = RawSocket::connect_tcp(dock_port);
    peer_loop.call([&] { other = Peer::connect(peer_loop.reactor(), "127.0.0.1:" + std::to_string(other_port)); });
  }

  static ReactorOptions options(const RigOptions& o) {
    ReactorOptions ro;
    ro.recv_buffers = o.buffers;
    ro.recv_buffer_size = 4096;
    ro.low_water = o.low_water;
    return ro;
  }

  bool other_round_trip(const std::string& id) {
    Waiter<std::string> got;
    peer_loop.call([&] { other->get(id, [&got](const Result& r) { got.set(std::string(r.text)); }); });
    return got.wait_for([](const std::string& s) { return !s.empty(); }) && got.get() == as_json_string(id);
  }
  const ReactorStats& stats() { return loop.reactor().stats(); }
};

void run_pressure(const RigOptions& o, int frames, std::size_t payload) {
  const std::uint32_t buffers = o.buffers;
  const std::string stream = dock_stream(frames, payload);
  PressureRig rig(o);
  ASSERT_TRUE(rig.other_round_trip("before"));
  std::thread writer([&] { EXPECT_TRUE(rig.dock.write_all(stream)); });
  // Every frame the dock sent is received while the subscriber reads
  // nothing: the pinned frames were moved out of the ring.
  const bool all_in = rig.relay.frames.wait_for([&](int n) { return n == frames; }, 30s);
  writer.join();
  ASSERT_TRUE(all_in) << "received " << rig.relay.frames.get() << " of " << frames
                      << " frames; buffer_stalls " << rig.stats().buffer_stalls;
  // A third connection on the same reactor is served too.
  EXPECT_TRUE(rig.other_round_trip("during"));
  // Copies are counted by the reactor that made them: the subscriber's.
  const std::uint64_t copies =
      rig.stats().pinned_copies +
      (o.sub_elsewhere ? rig.peer_loop.reactor().stats().pinned_copies.get() : 0);
  EXPECT_GT(copies, 0u);
  // The subscriber finally reads: every relayed frame, in order, byte for
  // byte (copied or not).
  std::string got;
  ASSERT_TRUE(rig.sub.read_exact(&got, stream.size()));
  EXPECT_TRUE(got == stream);
  EXPECT_TRUE(rig.other_round_trip("after"));
  // Nothing leaked: every receive buffer is back in the pool.
  EXPECT_TRUE(eventually([&] { return rig.loop.reactor().free_recv_buffers() == buffers; }))
      << rig.loop.reactor().free_recv_buffers() << " of " << buffers << " buffers free";
  rig.peer_loop.stop();
  rig.loop.stop();
}

TEST(BufferPressure, SlowSubscriberDoesNotStallTheRing) { run_pressure({.buffers = 4}, 4000, 1000); }

TEST(BufferPressure, SmallFramesManyPerBuffer) { run_pressure({.buffers = 4}, 20000, 100); }

TEST(BufferPressure, TwoBufferPool) {
  // 2 x 0.25 rounds down to a low mark of 0; the pool must still count as
  // low when it is empty.
  run_pressure({.buffers = 2}, 2000, 700);
}

TEST(BufferPressure, HighLowMarkMovesFramesAlreadyQueued) {
  // With half the pool as the low mark, the pool runs low while frames are
  // still queued by reference (some inside a send the kernel holds): those
  // are copied out, not only the frames relayed from then on.
  run_pressure({.buffers = 16, .low_water = 0.5}, 6000, 1000);
}

TEST(BufferPressure, SlowSubscriberOnAnotherReactor) {
  // The frames of the pressured reactor's pool sit in another reactor's
  // queue: that reactor must see the pool is low and copy them out.
  run_pressure({.buffers = 4, .sub_elsewhere = true}, 4000, 1000);
}

TEST(BufferPressure, SlowSubscriberOnAnotherReactorHighLowMark) {
  run_pressure({.buffers = 16, .low_water = 0.5, .sub_elsewhere = true}, 6000, 1000);
}

}  // namespace
