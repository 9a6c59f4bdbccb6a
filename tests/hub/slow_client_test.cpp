// A client that subscribes to everything and then never reads its socket.
// The hub must cut it off at the output limit instead of buffering without
// bound, and the dock and the other clients must not notice.
#include <gtest/gtest.h>

#include "hub/harness.hpp"

namespace hms::hubtest {
namespace {

constexpr std::size_t kHardLimit = 1u << 20;
constexpr std::size_t kFrame = 16 * 1024;
// Far beyond every buffer on the way, and beyond the RSS bound below: a hub
// that buffered it all would fail that check too.
constexpr std::size_t kTotal = 96u << 20;
// The dock runs at most this far ahead of the well-behaved client, so that
// client's own queue at the hub stays well under the limit.
constexpr std::size_t kWindow = 256 * 1024;

class SlowClientTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(SlowClientTest, NonReadingClientIsDisconnectedAndOthersGetEverything) {
  TempDir dir;
  auto opts = hub_options(dir, GetParam());
  opts.client_limits.hard = kHardLimit;
  opts.client_limits.soft = 0;
  RunningHub hub(opts);
  LoopThread loop;

  TestClient admin(loop, hub.port);
  ASSERT_TRUE(admin.add("web", "{}").ok());
  TestDock dock(loop, hub.port, "dock-a");
  TestClient fast(loop, hub.port, ClientOpts().count_only());
  ASSERT_TRUE(fast.subscribe("*").ok());

  // The slow client, by hand: CONNECT head, handshake and subscribe('*') in
  // one write, read the answers, then never read again. A small receive
  // buffer keeps the kernel from soaking up much on its side.
  RawSocket slow(hub.port, 4096);
  const std::string head = "CONNECT / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
  ASSERT_TRUE(slow.send_all(head +
                            message_frame(FrameType::request, 0, Opcode::handshake, "",
                                          R"({"type":"client","protocol":1})") +
                            message_frame(FrameType::request, 1, Opcode::subscribe, "*", "")));
  const std::string upgrade = "HTTP/1.1 101 Swiching Protocols\r\nUpgrade: hms-protocol\r\nConnection: Upgrade\r\n\r\n";
  const std::string answers = upgrade + plain_frame(FrameType::reply, 0, kTerminalReply) +
                              plain_frame(FrameType::reply, 1, "");
  ASSERT_TRUE(slow.read_at_least(answers.size()));
  ASSERT_EQ(slow.buffer(), answers);
  ASSERT_TRUE(dock.wait_call("subscribe", "*"));

  const std::size_t mem_before = memory_in_use();
  const std::string chunk = binary_payload(kFrame, 5);
  const std::uint64_t frame_bytes = event_bytes(Opcode::stdout_, "web", "dock-a", chunk).size();
  const std::size_t frames = kTotal / kFrame;

  // The pump runs on the loop thread: after each event the fast client
  // receives, and on a timer (for the start, and in case the window is
  // shut while the dock's own queue drains). It sends up to `target`
  // frames; `done` is set when the fast client has them all.
  std::size_t sent = 0, target = 0;
  std::uint64_t received = 0;
  Waiter<std::uint64_t> got;
  std::function<void()> pump = [&] {
    Peer& p = dock.peer();
    while (sent < target && p.writable() && sent * frame_bytes - received < kWindow) {
      ASSERT_TRUE(p.write_stdout("web", "dock-a", chunk));
      ++sent;
    }
  };
  fast.set_on_event([&] {
    received += frame_bytes;
    got.set(received);
    pump();
  });
  const TimerId timer = loop.call([&] { return loop.reactor().add_periodic(2ms, [&] { pump(); }); });
  auto stream_to = [&](std::size_t n) {
    loop.call([&] {
      target = n;
      pump();
    });
    return got.wait_for([&](std::uint64_t r) { return r == n * frame_bytes; }, 30s);
  };
  auto disconnects = [&] { return metric(hub.hub->metrics(), "hms_slow_client_disconnects_total"); };

  // Phase 1: 8 MiB, past the 1 MiB limit plus what the kernel holds on the
  // way (the slow side's window is a few KiB), but far below the 32 MiB
  // default: the configured limit is what cut the client off.
  ASSERT_TRUE(stream_to((8u << 20) / kFrame)) << "fast client got " << fast.bytes();
  EXPECT_TRUE(eventually([&] { return disconnects() >= 1; }, 3s)) << hub.hub->metrics();

  // Phase 2: the rest; the fast client and the dock never notice.
  const bool finished = stream_to(frames);
  loop.call([&] { loop.reactor().cancel_timer(timer); });
  fast.set_on_event(nullptr);
  ASSERT_TRUE(finished) << "fast client got " << fast.bytes() << " of " << frames * frame_bytes;
  EXPECT_EQ(fast.count(), frames);
  EXPECT_EQ(fast.bytes(), frames * frame_bytes);
  EXPECT_FALSE(fast.is_closed());
  EXPECT_FALSE(dock.is_closed());
  EXPECT_EQ(disconnects(), 1) << "only the slow client was cut off";

  // What it can still read is what was in flight when it was dropped:
  // bounded, then the end of the stream.
  slow.buffer().clear();
  std::size_t drained = 0;
  bool ended = false;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!ended && std::chrono::steady_clock::now() < deadline) {
    ended = !slow.read_some(100ms);
    drained += slow.buffer().size();
    slow.buffer().clear();
  }
  EXPECT_TRUE(ended) << "the hub must close the slow client's connection";
  EXPECT_LT(drained, kTotal / 2) << "the slow client got most of the stream: it was not cut off";

  // Memory: the 96 MiB that went past the slow client did not pile up.
  const std::size_t mem_after = memory_in_use();
  EXPECT_LT(mem_after, mem_before + (64u << 20)) << "memory in use grew from " << mem_before << " to " << mem_after;
  // And the hub still serves.
  EXPECT_TRUE(admin.list().ok());
}

INSTANTIATE_TEST_SUITE_P(Shards, SlowClientTest, ::testing::Values(1u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& i) {
                           return std::to_string(i.param) + "thread" + (i.param == 1 ? "" : "s");
                         });

}  // namespace
}  // namespace hms::hubtest
