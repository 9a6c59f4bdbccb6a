// The HTTP around the protocol, at a live reactor: the CONNECT upgrade on
// both sides (bytes behind a head belong to the protocol), GET / and its
// banner, and heads that are bad or too large.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/loop.hpp"
#include "engine/wire.hpp"
#include "hms/http.hpp"
#include "hms/peer.hpp"

using namespace hms;
using namespace hms::test;

namespace {

constexpr std::string_view kBanner = "hms-terminal 1.2.3\n";

struct Server {
  Waiter<std::vector<CloseInfo>> closes;
  Waiter<int> upgrades;
  std::vector<std::shared_ptr<Peer>> peers;
  std::vector<bool> upgraded;  // Connection::upgraded() seen in on_upgrade
  LoopThread loop;
  std::uint16_t port = 0;

  explicit Server(bool allow_raw = true) {
    loop.call([&] {
      ListenOptions lo;
      lo.banner = std::string(kBanner);
      lo.allow_raw = allow_raw;
      auto& l = loop.reactor().listen("127.0.0.1:0", lo, [this](Connection& c) {
        auto p = Peer::attach(c);
        p->on(Opcode::get, [](Peer&, const Message& m, Reply r) { r.ok(as_json_string(m.id)); });
        p->on_close([this](const CloseInfo& ci) { closes.update([&](auto& v) { v.push_back(ci); }); });
        Connection* conn = &c;
        p->on_upgrade([this, conn] {
          upgraded.push_back(conn->upgraded());
          upgrades.update([](int& n) { ++n; });
        });
        peers.push_back(p);
      });
      port = loop.reactor().listen_port(l);
    });
  }
  CloseInfo wait_close(std::size_t n = 1) {
    EXPECT_TRUE(closes.wait_for([&](auto& v) { return v.size() >= n; }));
    auto v = closes.get();
    return v.size() >= n ? v[n - 1] : CloseInfo{};
  }
};

const std::string kDockHead =
    "CONNECT / HTTP/1.1\r\norigin: dock-a\r\nHost: 127.0.0.1:10002\r\nConnection: keep-alive\r\n\r\n";

void expect_upgrade_then_replies(RawSocket& s) {
  std::string head;
  ASSERT_TRUE(s.read_exact(&head, kUpgradeResponse.size()));
  EXPECT_EQ(head, kUpgradeResponse);
  auto r0 = s.read_frame();
  ASSERT_TRUE(r0);
  EXPECT_EQ(r0->type, FrameType::reply);
  EXPECT_EQ(r0->request_id, 0);
  EXPECT_EQ(r0->payload, "\"web\"");
  auto r1 = s.read_frame();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->type, FrameType::reply);
  EXPECT_EQ(r1->request_id, 1);
  EXPECT_EQ(r1->bytes.size(), kHeaderSize);
}

TEST(Http, ConnectWithFramesInTheSamePacketAsTheHead) {
  Server srv;
  RawSocket s = RawSocket::connect_tcp(srv.port);
  // One write: the head, a request and a ping. The bytes behind the blank
  // line are frames, not part of the head.
  ASSERT_TRUE(s.write_all(kDockHead + message_bytes(FrameType::request, 0, Opcode::get, "web", "") +
                          frame_bytes(FrameType::ping, 1, "")));
  expect_upgrade_then_replies(s);
  ASSERT_TRUE(srv.upgrades.wait_for([](int n) { return n == 1; }));
  EXPECT_EQ(srv.loop.call([&] { return srv.upgraded; }), std::vector<bool>{true});
  srv.loop.stop();
}

TEST(Http, ConnectHeadAndFramesOneByteAtATime) {
  Server srv;
  RawSocket s = RawSocket::connect_tcp(srv.port);
  const std::string all = kDockHead + message_bytes(FrameType::request, 0, Opcode::get, "web", "") +
                          frame_bytes(FrameType::ping, 1, "");
  // Each byte in a read of its own: the next goes once the server has read
  // this one (as split_test drives its split reads).
  for (std::size_t k = 0; k < all.size(); ++k) {
    ASSERT_TRUE(s.write_all(std::string_view(&all[k], 1)));
    ASSERT_TRUE(eventually([&] { return srv.loop.reactor().stats().bytes_in >= k + 1; })) << "byte " << k;
  }
  expect_upgrade_then_replies(s);
  srv.loop.stop();
}

TEST(Http, ClientConnectsAndReadsFramesBehindThe101) {
  // Client side: our CONNECT head is the reference dock's, byte for byte;
  // frames that arrive in the same read as the 101 are handled.
  RawListener raw;
  Waiter<int> upgraded;
  LoopThread loop;
  std::shared_ptr<Peer> client;
  loop.call([&] {
    ConnectOptions co;
    co.origin = "dock-a";
    client = Peer::connect(loop.reactor(), raw.endpoint(), co);
    client->on_upgrade([&] { upgraded.set(1); });
  });
  RawSocket s = raw.accept();
  ASSERT_TRUE(s);
  const std::string want = "CONNECT / HTTP/1.1\r\norigin: dock-a\r\nHost: " + raw.endpoint() +
                           "\r\nConnection: keep-alive\r\n\r\n";
  std::string head;
  ASSERT_TRUE(s.read_exact(&head, want.size()));
  EXPECT_EQ(head, want);
  ASSERT_TRUE(s.write_all(std::string(kUpgradeResponse) + frame_bytes(FrameType::ping, 9, "") +
                          message_bytes(FrameType::request, 4, Opcode::get, "x", "")));
  auto pong = s.read_frame();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->type, FrameType::reply);
  EXPECT_EQ(pong->request_id, 9);
  auto err = s.read_frame();
  ASSERT_TRUE(err);
  EXPECT_EQ(err->type, FrameType::error);
  EXPECT_EQ(err->request_id, 4);
  EXPECT_EQ(err->payload, kNotSupported);
  EXPECT_TRUE(upgraded.wait_for([](int v) { return v == 1; }));
  loop.stop();
}

TEST(Http, ClientWhoseUpgradeIsRefusedCloses) {
  RawListener raw;
  Waiter<std::vector<std::string>> events;
  LoopThread loop;
  std::shared_ptr<Peer> client;
  loop.call([&] {
    client = Peer::connect(loop.reactor(), raw.endpoint());
    client->on_close([&](const CloseInfo& ci) {
      events.update([&](auto& v) { v.push_back(std::string("close:") + to_string(ci.reason)); });
    });
    // Queued behind the head at once; fails when the upgrade is refused.
    client->list([&](const Result& r) {
      events.update([&](auto& v) {
        v.push_back(std::string(r.status == Result::Status::closed ? "closed:" : "other:") +
                    std::string(r.text));
      });
    });
  });
  RawSocket s = raw.accept();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s.write_all("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
  ASSERT_TRUE(events.wait_for([](auto& v) { return v.size() == 2; }));
  EXPECT_EQ(events.get(), (std::vector<std::string>{"closed:cable was destroyed", "close:bad http head"}));
  EXPECT_TRUE(s.wait_closed());
  loop.stop();
}

TEST(Http, GetRootIsAnsweredWithTheBannerAndClosed) {
  Server srv;
  RawSocket s = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(s.write_all("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n"));
  const std::string got = s.read_to_eof();
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
  EXPECT_NE(got.find("\r\nContent-Length: " + std::to_string(kBanner.size()) + "\r\n"), std::string::npos) << got;
  EXPECT_TRUE(got.ends_with(std::string("\r\n\r\n") + std::string(kBanner))) << got;
  const CloseInfo ci = srv.wait_close();
  EXPECT_EQ(ci.reason, CloseReason::local);
  EXPECT_EQ(srv.upgrades.get(), 0);
  srv.loop.stop();
}

TEST(Http, OtherPathsAre404) {
  Server srv;
  RawSocket s = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(s.write_all("GET /nope HTTP/1.1\r\n\r\n"));
  const std::string got = s.read_to_eof();
  EXPECT_TRUE(got.starts_with("HTTP/1.1 404 ")) << got;
  srv.loop.stop();
}

TEST(Http, BadHeadIsAnswered400AndClosed) {
  Server srv;
  RawSocket s = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(s.write_all("GET  / HTTP/1.1\r\n\r\n"));  // two spaces
  const std::string got = s.read_to_eof();
  EXPECT_TRUE(got.starts_with("HTTP/1.1 400 ")) << got;
  const CloseInfo ci = srv.wait_close();
  EXPECT_EQ(ci.reason, CloseReason::http_error) << ci.message;
  EXPECT_EQ(srv.loop.call([&] { return srv.loop.reactor().stats().protocol_errors; }), 1u);
  srv.loop.stop();
}

TEST(Http, HeadOver8KiBIsClosed) {
  Server srv;
  RawSocket s = RawSocket::connect_tcp(srv.port);
  // A head that never ends: the server gives up after 8 KiB instead of
  // buffering (and rescanning) it for ever.
  std::string head = "CONNECT / HTTP/1.1\r\nX-Long: " + std::string(kMaxHeadSize, 'a');
  s.write_all(head);  // may fail part way if the server already closed
  EXPECT_TRUE(s.wait_closed());
  const CloseInfo ci = srv.wait_close();
  EXPECT_EQ(ci.reason, CloseReason::http_error) << ci.message;
  srv.loop.stop();
}

TEST(Http, HeadOver8KiBInSmallPiecesIsClosed) {
  Server srv;
  RawSocket s = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(s.write_all("GET / HTTP/1.1\r\n"));
  const std::string line = "X-Pad: " + std::string(90, 'p') + "\r\n";
  for (int i = 0; i < 100; ++i)
    if (!s.write_all(line)) break;
  EXPECT_TRUE(s.wait_closed());
  const CloseInfo ci = srv.wait_close();
  EXPECT_EQ(ci.reason, CloseReason::http_error) << ci.message;
  srv.loop.stop();
}

TEST(Http, RawFramesOnAListenerThatRequiresConnect) {
  Server srv(/*allow_raw=*/false);
  RawSocket s = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(s.write_all(frame_bytes(FrameType::ping, 0, "")));
  bool reset = false;
  const std::string got = s.read_to_eof(&reset);
  EXPECT_TRUE(reset || got.starts_with("HTTP/1.1 400 ")) << got;
  EXPECT_EQ(srv.wait_close().reason, CloseReason::http_error);
  srv.loop.stop();
}

}  // namespace
