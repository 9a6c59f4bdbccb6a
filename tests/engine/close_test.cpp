// Connection loss: requests still waiting fail with Status::closed and the
// reference's "cable was destroyed", in id order; a Reply answered after the
// connection is gone is harmless; new calls fail at once.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/loop.hpp"
#include "engine/wire.hpp"
#include "hms/peer.hpp"

using namespace hms;
using namespace hms::test;

namespace {

class ConnectionLoss : public ::testing::TestWithParam<bool> {};

// The raw peer reads our three requests, then goes away: with a FIN
// (false) or a RST (true).
TEST_P(ConnectionLoss, PendingRequestsFailWithCableWasDestroyed) {
  const bool rst = GetParam();
  Waiter<std::vector<std::string>> events;
  RawListener raw;
  LoopThread loop;
  std::shared_ptr<Peer> client;
  loop.call([&] {
    ConnectOptions co;
    co.upgrade = false;
    client = Peer::connect(loop.reactor(), raw.endpoint(), co);
    client->on_close([&](const CloseInfo& ci) {
      events.update([&](auto& v) { v.push_back(std::string("close:") + to_string(ci.reason)); });
    });
    for (const char* id : {"a", "b", "c"})
      client->start(id, [&events, id](const Result& r) {
        events.update([&](auto& v) {
          v.push_back(std::string(id) + ":" + (r.status == Result::Status::closed ? "closed:" : "?:") +
                      std::string(r.text));
        });
      });
  });
  RawSocket s = raw.accept();
  ASSERT_TRUE(s);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.read_frame());
  if (rst) s.reset();
  else s.close();
  ASSERT_TRUE(events.wait_for([](auto& v) { return v.size() == 4; }));
  EXPECT_EQ(events.get(), (std::vector<std::string>{"a:closed:cable was destroyed", "b:closed:cable was destroyed",
                                                    "c:closed:cable was destroyed", "close:peer closed"}));
  // After the close: calls fail at once, sends are refused.
  loop.call([&] {
    EXPECT_TRUE(client->closed());
    EXPECT_EQ(client->in_flight(), 0u);
    Result::Status st = Result::Status::ok;
    client->get("x", [&](const Result& r) { st = r.status; });
    EXPECT_EQ(st, Result::Status::closed);
    EXPECT_FALSE(client->write_stdout("x", "y", "z"));
    EXPECT_FALSE(client->writable());
  });
  EXPECT_EQ(loop.call([&] { return loop.reactor().connection_count(); }), 0u);
  loop.stop();
}

INSTANTIATE_TEST_SUITE_P(Ending, ConnectionLoss, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Reset" : "Eof"; });

TEST(ConnectionLoss, RepliesAnsweredAfterTheCloseAreHarmless) {
  // The server keeps the Reply handles of three requests; the raw client
  // leaves; the handles are answered (ok, error, dropped) afterwards. The
  // server waits for them (an EOF may be a half-close, whose requests are
  // owed answers), then closes.
  std::vector<Reply> held;
  Waiter<int> got, closed;
  std::shared_ptr<Peer> server;
  LoopThread loop;
  const std::uint16_t port = loop.call([&] {
    auto& l = loop.reactor().listen("127.0.0.1:0", ListenOptions{}, [&](Connection& c) {
      server = Peer::attach(c);
      server->on(Opcode::start, [&](Peer&, const Message&, Reply r) {
        held.push_back(std::move(r));
        got.update([](int& n) { ++n; });
      });
      server->on_close([&](const CloseInfo&) { closed.set(1); });
    });
    return loop.reactor().listen_port(l);
  });
  {
    RawSocket s = RawSocket::connect_tcp(port);
    for (std::uint16_t i = 0; i < 3; ++i)
      ASSERT_TRUE(s.write_all(message_bytes(FrameType::request, i, Opcode::start, "web", "")));
    ASSERT_TRUE(got.wait_for([](int n) { return n == 3; }));
  }
  loop.call([&] {
    EXPECT_FALSE(server->closed()) << "three answers are still owed";
    EXPECT_EQ(server->unanswered(), 3u);
    held[0].ok("\"late\"");
    held[1].error("late");
    held.pop_back();  // dropped: answers "No reply"
  });
  ASSERT_TRUE(closed.wait_for([](int v) { return v == 1; }));
  // With the last owner gone the Peer is freed; the remaining handles then
  // answer into nothing.
  loop.call([&] {
    EXPECT_TRUE(server->closed());
    server.reset();
    held.clear();
  });
  EXPECT_EQ(loop.call([&] { return loop.reactor().connection_count(); }), 0u);
  loop.stop();
}

TEST(ConnectionLoss, LocalCloseWithRequestsInFlight) {
  // close() from our side: queued output still goes out first, then the
  // waiting requests fail.
  Waiter<std::vector<std::string>> events;
  RawListener raw;
  LoopThread loop;
  std::shared_ptr<Peer> client;
  loop.call([&] {
    ConnectOptions co;
    co.upgrade = false;
    client = Peer::connect(loop.reactor(), raw.endpoint(), co);
    client->on_close([&](const CloseInfo& ci) {
      events.update([&](auto& v) { v.push_back(std::string("close:") + to_string(ci.reason)); });
    });
    client->list([&](const Result& r) { events.update([&](auto& v) { v.push_back(std::string(r.text)); }); });
    client->close();
  });
  RawSocket s = raw.accept();
  ASSERT_TRUE(s);
  auto f = s.read_frame();  // the request was flushed before the close
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, static_cast<std::uint8_t>(Opcode::list));
  EXPECT_TRUE(s.wait_closed());
  ASSERT_TRUE(events.wait_for([](auto& v) { return v.size() == 2; }));
  EXPECT_EQ(events.get(), (std::vector<std::string>{"cable was destroyed", "close:closed locally"}));
  loop.stop();
}

}  // namespace
