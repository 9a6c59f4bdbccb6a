// Bytes that are not frames, thrown at a live server (as Redis'
// tests/unit/protocol.tcl does): that connection alone is closed with
// CloseReason::protocol_error and the DecodeError, as soon as the offending
// bytes are in; another connection on the same reactor is untouched.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/loop.hpp"
#include "engine/wire.hpp"
#include "hms/peer.hpp"

using namespace hms;
using namespace hms::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kMaxBody = 1024;

struct Server {
  // Close info of every server-side connection, by accept order.
  Waiter<std::vector<CloseInfo>> closes;
  Waiter<int> accepted;
  std::vector<std::shared_ptr<Peer>> peers;
  std::shared_ptr<Peer> good;  // a well-behaved client on the same reactor
  LoopThread loop;
  std::uint16_t port = 0;

  Server() {
    loop.call([&] {
      ListenOptions lo;
      lo.conn.decode.max_body = kMaxBody;
      auto& l = loop.reactor().listen("127.0.0.1:0", lo, [this](Connection& c) {
        auto p = Peer::attach(c);
        p->on(Opcode::get, [](Peer&, const Message& m, Reply r) { r.ok(as_json_string(m.id)); });
        p->on_close([this](const CloseInfo& ci) { closes.update([&](auto& v) { v.push_back(ci); }); });
        peers.push_back(p);
        accepted.update([](int& n) { ++n; });
      });
      port = loop.reactor().listen_port(l);
      good = Peer::connect(loop.reactor(), "127.0.0.1:" + std::to_string(port));
    });
  }

  bool good_round_trip(const std::string& id) {
    Waiter<std::string> got;
    loop.call([&] { good->get(id, [&got](const Result& r) { got.set(std::string(r.text)); }); });
    return got.wait_for([](const std::string& s) { return !s.empty(); }) && got.get() == as_json_string(id);
  }

  std::uint64_t protocol_errors() { return loop.reactor().stats().protocol_errors; }
};

struct Case {
  const char* name;
  std::string bytes;
  DecodeError want;
};

std::string u8(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

std::vector<Case> garbage() {
  return {
      {"bad frame type", u8({9, 0, 0, 0, 0, 0, 0}), DecodeError::bad_frame_type},
      // Only the header: the length alone condemns it, no body needed.
      {"body over max_body", u8({1, 0, 0, 0x01, 0x04, 0, 0}), DecodeError::body_too_long},
      {"body of 4 GiB", u8({0, 0, 0, 0xff, 0xff, 0xff, 0xff}), DecodeError::body_too_long},
      // Body of 1000 announced (under the limit), id length 2000: condemned
      // after 10 bytes, without waiting for the 1000.
      {"id length overflow", u8({1, 0, 0, 0xe8, 0x03, 0, 0, 6, 0xd0, 0x07}), DecodeError::id_overflow},
      {"message shorter than its prefix", u8({0, 0, 0, 2, 0, 0, 0, 12, 0}), DecodeError::message_too_short},
  };
}

class ProtocolError : public ::testing::TestWithParam<bool> {};

// Each case on its own connection, written whole (false) or one byte per
// write (true); the healthy client keeps exchanging requests throughout.
TEST_P(ProtocolError, ClosesThatConnectionAloneWithTheDecodeError) {
  const bool bytewise = GetParam();
  Server srv;
  ASSERT_TRUE(srv.good_round_trip("first"));
  const auto cases = garbage();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    RawSocket s = RawSocket::connect_tcp(srv.port);
    if (bytewise) {
      // Each byte in a read of its own: the next goes once the server has
      // read this one. Bytes past the offending field may meet a closed
      // socket: the server does not wait for them.
      const std::uint64_t base = srv.loop.reactor().stats().bytes_in;
      for (std::size_t k = 0; k < cases[i].bytes.size(); ++k) {
        if (!s.write_all(std::string_view(&cases[i].bytes[k], 1))) break;
        ASSERT_TRUE(eventually([&] {
          return srv.loop.reactor().stats().bytes_in >= base + k + 1 || srv.closes.get().size() > i;
        })) << "byte " << k << " never read";
      }
    } else {
      ASSERT_TRUE(s.write_all(cases[i].bytes));
    }
    // The server closes without waiting for more bytes.
    EXPECT_TRUE(s.wait_closed());
    ASSERT_TRUE(srv.closes.wait_for([&](auto& v) { return v.size() == i + 1; }));
    const CloseInfo ci = srv.closes.get()[i];
    EXPECT_EQ(ci.reason, CloseReason::protocol_error) << ci.message;
    EXPECT_EQ(ci.decode, cases[i].want) << to_string(ci.decode);
    EXPECT_TRUE(srv.good_round_trip("after-" + std::to_string(i)));
  }
  EXPECT_EQ(srv.protocol_errors(), cases.size());
  srv.loop.stop();
}

INSTANTIATE_TEST_SUITE_P(Writes, ProtocolError, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Bytewise" : "Whole"; });

TEST(ProtocolErrors, OutputQueuedBeforeTheErrorIsFlushedFirst) {
  // A valid request, then garbage in the same write: the reply to the
  // request still goes out, then the connection closes.
  Server srv;
  RawSocket s = RawSocket::connect_tcp(srv.port);
  ASSERT_TRUE(s.write_all(message_bytes(FrameType::request, 3, Opcode::get, "web", "") + u8({7, 7, 7})));
  auto reply = s.read_frame();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->type, FrameType::reply);
  EXPECT_EQ(reply->request_id, 3);
  EXPECT_EQ(reply->payload, "\"web\"");
  EXPECT_TRUE(s.wait_closed());
  ASSERT_TRUE(srv.closes.wait_for([](auto& v) { return v.size() == 1; }));
  EXPECT_EQ(srv.closes.get()[0].decode, DecodeError::bad_frame_type);
  srv.loop.stop();
}

TEST(ProtocolErrors, GarbageOnManyConnectionsAtOnce) {
  // Twenty bad connections interleaved with good traffic.
  Server srv;
  std::vector<RawSocket> bad;
  for (int i = 0; i < 20; ++i) {
    bad.push_back(RawSocket::connect_tcp(srv.port));
    ASSERT_TRUE(bad.back().write_all(garbage()[static_cast<std::size_t>(i) % garbage().size()].bytes));
    if (i % 5 == 0) {
      EXPECT_TRUE(srv.good_round_trip("mid-" + std::to_string(i)));
    }
  }
  for (auto& s : bad) EXPECT_TRUE(s.wait_closed());
  ASSERT_TRUE(srv.closes.wait_for([](auto& v) { return v.size() == 20; }));
  for (auto& ci : srv.closes.get()) EXPECT_EQ(ci.reason, CloseReason::protocol_error);
  EXPECT_TRUE(srv.good_round_trip("end"));
  EXPECT_EQ(srv.protocol_errors(), 20u);
  srv.loop.stop();
}

}  // namespace
