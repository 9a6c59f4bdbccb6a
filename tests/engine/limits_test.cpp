// What a peer can make the engine hold, and for how long: assembly memory
// grows with the bytes that arrived (not the size announced) within a
// process-wide budget; a frame begun must finish within read_timeout; an
// allocation failure closes only its connection; the output limits count
// what waits behind the frame in flight; a half-close gets its answers.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "engine/loop.hpp"
#include "engine/wire.hpp"
#include "hms/peer.hpp"

using namespace hms;
using namespace hms::test;
using namespace std::chrono_literals;

namespace {

// A server whose connections use `copts` and record how they close.
struct Server {
  Waiter<std::vector<CloseInfo>> closes;
  Waiter<int> frames;
  std::vector<std::shared_ptr<Peer>> peers;
  std::function<void(Peer&)> on_peer;  // extra set-up, on the loop thread
  LoopThread loop;
  std::uint16_t port = 0;

  explicit Server(ConnectionOptions copts = {}, std::function<void(Peer&)> setup = {}) : on_peer(std::move(setup)) {
    port = loop.call([&] {
      ListenOptions lo;
      lo.conn = copts;
      auto& l = loop.reactor().listen("127.0.0.1:0", lo, [this](Connection& c) {
        auto p = Peer::attach(c);
        p->on(Opcode::get, [this](Peer&, const Message& m, Reply r) {
          frames.update([](int& n) { ++n; });
          r.ok(as_json_string(m.id));
        });
        p->on_close([this](const CloseInfo& ci) { closes.update([&](auto& v) { v.push_back(ci); }); });
        if (on_peer) on_peer(*p);
        peers.push_back(p);
      });
      return loop.reactor().listen_port(l);
    });
  }
  const ReactorStats& stats() { return loop.reactor().stats(); }
  CloseInfo wait_close(std::size_t n = 1) {
    EXPECT_TRUE(closes.wait_for([&](auto& v) { return v.size() >= n; })) << "no close";
    auto v = closes.get();
    return v.size() >= n ? v[n - 1] : CloseInfo{};
  }
};

// A get request for `id` whose frame is padded to `total` bytes of body.
std::string big_get(std::string_view id, std::size_t total) {
  std::string payload(total - kMessagePrefix - id.size(), 'x');
  return message_bytes(FrameType::request, 7, Opcode::get, id, payload);
}

// Restores the process-wide budget a test changed.
struct BudgetGuard {
  std::size_t saved = partial_budget();
  ~BudgetGuard() { set_partial_budget(saved); }
};

}  // namespace

TEST(Assembly, MemoryFollowsTheBytesThatArrivedNotTheSizeAnnounced) {
  Server srv;
  const std::size_t before = partial_bytes();
  const std::string frame = big_get("web", 8u << 20);  // 8 MiB announced
  RawSocket s = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(s.write_all(std::string_view(frame).substr(0, 100)));
  ASSERT_TRUE(eventually([&] { return srv.stats().bytes_in >= 100; }));
  ASSERT_TRUE(eventually([&] { return partial_bytes() > before; }));
  EXPECT_LE(partial_bytes() - before, 64u * 1024) << "a header announcing 8 MiB must not take 8 MiB";
  // The rest arrives: the frame is whole, assembled once, and the budget
  // is given back.
  ASSERT_TRUE(s.write_all(std::string_view(frame).substr(100)));
  const auto reply = s.read_frame();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body(), "\"web\"");
  EXPECT_TRUE(eventually([&] { return partial_bytes() == before; })) << partial_bytes() - before;
  EXPECT_EQ(srv.stats().assembled_frames, 1u);
}

TEST(Assembly, TheBudgetClosesTheConnectionThatWouldPassIt) {
  BudgetGuard guard;
  // Blocks double as bytes arrive: a's 4 MiB frame, 3 MiB in, holds a
  // 4 MiB block; b's block reaches 1 MiB (5 MiB in all), then wants 2.
  set_partial_budget(partial_bytes() + (5u << 20));
  Server srv;
  const std::string frame = big_get("web", 4u << 20);
  RawSocket a = RawSocket::connect_tcp(srv.port);
  RawSocket b = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(a.write_all(std::string_view(frame).substr(0, 3u << 20)));
  ASSERT_TRUE(eventually([&] { return srv.stats().bytes_in >= (3u << 20); }));
  b.write_all(std::string_view(frame).substr(0, 2u << 20));  // may meet a closed socket
  const CloseInfo ci = srv.wait_close();
  EXPECT_EQ(ci.message, "memory budget for partial frames exceeded");
  EXPECT_EQ(srv.stats().budget_closes, 1u);
  EXPECT_TRUE(b.wait_closed());
  // a finishes its frame (within its block) and is answered.
  ASSERT_TRUE(a.write_all(std::string_view(frame).substr(3u << 20)));
  const auto reply = a.read_frame();
  ASSERT_TRUE(reply) << "the connection within the budget goes on";
  EXPECT_EQ(reply->body(), "\"web\"");
}

TEST(ReadTimeout, AFrameBegunAndNeverFinishedIsClosed) {
  ConnectionOptions copts;
  copts.read_timeout = 300ms;
  Server srv(copts);
  RawSocket quiet = RawSocket::connect_tcp(srv.port);   // sends nothing: not the engine's business
  RawSocket stuck = RawSocket::connect_tcp(srv.port);   // a header, then nothing
  RawSocket steady = RawSocket::connect_tcp(srv.port);  // whole frames, slowly
  ASSERT_TRUE(stuck.write_all(big_get("web", 1000).substr(0, 20)));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(steady.write_all(message_bytes(FrameType::request, 1, Opcode::get, "s", "")));
    ASSERT_TRUE(steady.read_frame());
  }
  const CloseInfo ci = srv.wait_close();
  EXPECT_EQ(ci.message, "read timeout");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
  EXPECT_TRUE(stuck.wait_closed());
  EXPECT_EQ(srv.stats().read_timeouts, 1u);
  // The others are still there.
  ASSERT_TRUE(steady.write_all(message_bytes(FrameType::request, 2, Opcode::get, "again", "")));
  const auto reply = steady.read_frame();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body(), "\"again\"");
  EXPECT_EQ(srv.closes.get().size(), 1u);
}

TEST(ReadTimeout, AnHttpHeadThatNeverEndsIsClosed) {
  ConnectionOptions copts;
  copts.read_timeout = 300ms;
  Server srv(copts);
  RawSocket s = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(s.write_all("CONNECT / HTTP/1.1\r\norigin: x\r\n"));
  EXPECT_EQ(srv.wait_close().message, "read timeout");
  EXPECT_TRUE(s.wait_closed());
}

TEST(MaxBody, CanBeRaisedPerConnection) {
  ConnectionOptions copts;
  copts.decode.max_body = 1024;  // as a hub before the handshake
  Server srv(copts, [](Peer& p) {
    p.on(Opcode::handshake, [](Peer& peer, const Message&, Reply r) {
      peer.connection()->set_max_body(1u << 20);
      r.ok("{}");
    });
  });
  RawSocket before = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(before.write_all(big_get("web", 4096)));
  EXPECT_EQ(srv.wait_close().decode, DecodeError::body_too_long);
  RawSocket after = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(after.write_all(message_bytes(FrameType::request, 0, Opcode::handshake, "", "{}")));
  ASSERT_TRUE(after.read_frame());
  ASSERT_TRUE(after.write_all(big_get("web", 4096)));
  const auto reply = after.read_frame();
  ASSERT_TRUE(reply) << "after the handshake the larger frame is taken";
  EXPECT_EQ(reply->body(), "\"web\"");
}

TEST(OutOfMemory, AHandlerThatRunsOutClosesOnlyItsConnection) {
  Server srv({}, [](Peer& p) {
    p.on(Opcode::add, [](Peer&, const Message&, Reply) { throw std::bad_alloc(); });
  });
  RawSocket bad = RawSocket::connect_tcp(srv.port);
  RawSocket good = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(bad.write_all(message_bytes(FrameType::request, 3, Opcode::add, "web", "{}")));
  EXPECT_EQ(srv.wait_close().message, "out of memory");
  EXPECT_EQ(srv.stats().oom_closes, 1u);
  EXPECT_TRUE(bad.wait_closed());
  ASSERT_TRUE(good.write_all(message_bytes(FrameType::request, 1, Opcode::get, "still", "")));
  const auto reply = good.read_frame();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body(), "\"still\"");
}

TEST(OutputLimits, AFrameAsLargeAsTheLimitReachesAReaderThatKeepsUp) {
  ConnectionOptions copts;
  copts.limits.hard = 1u << 20;
  copts.limits.soft = 0;
  const std::string big(3u << 20, 'z');  // three times the hard limit
  Server srv(copts, [&big](Peer& p) {
    p.on(Opcode::ps, [&big](Peer&, const Message&, Reply r) { r.ok(big); });
  });
  RawSocket s = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(s.write_all(message_bytes(FrameType::request, 9, Opcode::ps, "", "")));
  const auto reply = s.read_frame();
  ASSERT_TRUE(reply) << "the reply alone is the frame in flight: it must go out";
  EXPECT_EQ(reply->body().size(), big.size());
  EXPECT_EQ(srv.stats().slow_disconnects, 0u);
}

TEST(HalfClose, EveryRequestReadBeforeIsAnswered) {
  // Answers come later (from the loop, as a hub's do after asking docks).
  std::vector<std::shared_ptr<Reply>> held;
  Server srv({}, [&](Peer& p) {
    p.on(Opcode::add, [&](Peer&, const Message&, Reply r) { held.push_back(std::make_shared<Reply>(std::move(r))); });
  });
  constexpr int kRequests = 200;
  RawSocket s = RawSocket::connect_tcp(srv.port);
  std::string all;
  for (int i = 0; i < kRequests; ++i)
    all += message_bytes(FrameType::request, static_cast<std::uint16_t>(i), Opcode::add, numbered("s", i), "{}");
  ASSERT_TRUE(s.write_all(all));
  ::shutdown(s.fd(), SHUT_WR);
  ASSERT_TRUE(eventually([&] { return srv.loop.call([&] { return held.size(); }) == kRequests; }));
  srv.loop.call([&] {
    for (auto& r : held) r->ok();
    held.clear();
  });
  for (int i = 0; i < kRequests; ++i) {
    const auto f = s.read_frame();
    ASSERT_TRUE(f) << "answer " << i << " missing";
    EXPECT_EQ(f->type, FrameType::reply);
  }
  EXPECT_TRUE(s.wait_closed()) << "then the server closes";
  EXPECT_EQ(srv.wait_close().reason, CloseReason::peer_closed);
}
