// Request ids as the reference's cable hands them out, checked on the wire:
// fresh ids count up from 0, freed ids come back last-freed-first, and at
// most 65536 requests may be in flight (the next one fails at once and is
// never sent).
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

// A client Peer on a reactor, connected (raw frames, no CONNECT) to a plain
// socket the test reads and writes itself.
struct RawServerClient {
  RawListener raw;
  LoopThread loop;
  std::shared_ptr<Peer> client;
  RawSocket wire;

  RawServerClient() {
    loop.call([&] {
      ConnectOptions co;
      co.upgrade = false;
      client = Peer::connect(loop.reactor(), raw.endpoint(), co);
    });
    wire = raw.accept();
  }
};

TEST(RequestIds, FreshIdsCountUpAndFreedIdsAreReusedLastFreedFirst) {
  // The golden vector `request-id-reuse`: three starts get ids 0, 1, 2; the
  // replies to 1 and then 0 arrive; the next two starts get 0, then 1.
  const std::string want = vector_bytes("request-id-reuse");
  Waiter<std::vector<std::string>> answers;
  RawServerClient t;
  ASSERT_TRUE(t.wire);
  t.loop.call([&] {
    for (const char* id : {"a", "b", "c"})
      t.client->start(id, [&answers, id](const Result& r) {
        answers.update([&](auto& v) { v.push_back(std::string(id) + "=" + std::string(r.text)); });
      });
  });
  for (std::uint16_t i = 0; i < 3; ++i) {
    auto f = t.wire.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->type, FrameType::request);
    EXPECT_EQ(f->request_id, i);
    EXPECT_EQ(f->opcode, static_cast<std::uint8_t>(Opcode::start));
    EXPECT_EQ(f->id, std::string(1, static_cast<char>('a' + i)));
  }
  ASSERT_TRUE(t.wire.write_all(frame_bytes(FrameType::reply, 1, "\"one\"") +
                               frame_bytes(FrameType::reply, 0, "\"zero\"")));
  ASSERT_TRUE(answers.wait_for([](auto& v) { return v.size() == 2; }));
  EXPECT_EQ(answers.get(), (std::vector<std::string>{"b=\"one\"", "a=\"zero\""}));
  t.loop.call([&] {
    EXPECT_EQ(t.client->in_flight(), 1u);
    t.client->start("d", nullptr);
    t.client->start("e", nullptr);
  });
  std::string got;
  ASSERT_TRUE(t.wire.read_exact(&got, want.size()));
  EXPECT_EQ(got, want);
  t.loop.stop();
}

TEST(RequestIds, PingSharesTheRequestIdSpace) {
  Waiter<int> pongs;
  RawServerClient t;
  ASSERT_TRUE(t.wire);
  t.loop.call([&] {
    t.client->start("a", nullptr);                                    // id 0
    t.client->ping([&](const Result& r) {                             // id 1
      EXPECT_TRUE(r.ok());
      pongs.update([](int& n) { ++n; });
    });
  });
  auto a = t.wire.read_frame();
  auto p = t.wire.read_frame();
  ASSERT_TRUE(a && p);
  EXPECT_EQ(a->request_id, 0);
  EXPECT_EQ(p->type, FrameType::ping);
  EXPECT_EQ(p->request_id, 1);
  EXPECT_EQ(p->bytes.size(), kHeaderSize);
  ASSERT_TRUE(t.wire.write_all(frame_bytes(FrameType::reply, 1, "")));
  ASSERT_TRUE(pongs.wait_for([](int n) { return n == 1; }));
  t.loop.call([&] { t.client->stop("b", nullptr); });  // reuses 1
  auto b = t.wire.read_frame();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->request_id, 1);
  t.loop.stop();
}

TEST(RequestIds, AtMost65536InFlightTheNextFailsAtOnceAndIsNotSent) {
  // State the callbacks touch outlives the loop (declared first).
  std::vector<Result::Status> late;  // statuses of the requests past the limit
  std::size_t rejected_inline = 0;
  Waiter<std::vector<std::uint16_t>> replied;
  RawServerClient t;
  ASSERT_TRUE(t.wire);

  t.loop.call([&] {
    for (std::size_t i = 0; i < kMaxInFlight; ++i) {
      // The callback learns its own id from the order the replies arrive in;
      // the test matches them by reply body.
      t.client->start("s", [&replied](const Result& r) {
        if (r.status != Result::Status::ok) return;  // the shutdown at the end
        replied.update([&](auto& v) { v.push_back(static_cast<std::uint16_t>(std::stoi(std::string(r.text)))); });
      });
    }
    EXPECT_EQ(t.client->in_flight(), kMaxInFlight);
    bool called = false;
    t.client->start("overflow", [&](const Result& r) {
      called = true;
      late.push_back(r.status);
      EXPECT_EQ(r.status, Result::Status::rejected);
    });
    // "Fails at once": the callback ran inside the call.
    if (called) ++rejected_inline;
    t.client->ping([&](const Result& r) { late.push_back(r.status); });
    EXPECT_EQ(t.client->in_flight(), kMaxInFlight);
    // A one-way message as a marker: it is queued right behind the last
    // request, so anything sent for the rejected calls would precede it.
    t.client->write_stdout("marker", "test", "end");
  });
  EXPECT_EQ(rejected_inline, 1u);
  EXPECT_EQ(t.loop.call([&] { return late; }),
            (std::vector<Result::Status>{Result::Status::rejected, Result::Status::rejected}));

  for (std::size_t i = 0; i < kMaxInFlight; ++i) {
    auto f = t.wire.read_frame();
    ASSERT_TRUE(f) << "frame " << i;
    ASSERT_EQ(f->type, FrameType::request);
    ASSERT_EQ(f->request_id, i);  // fresh ids count up from 0
  }
  auto marker = t.wire.read_frame();
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->type, FrameType::message);
  EXPECT_EQ(marker->opcode, static_cast<std::uint8_t>(Opcode::stdout_));
  EXPECT_EQ(marker->id, "marker@test");

  // Replies free 100, then 7, then 65535; the next three requests must get
  // them back last-freed-first: 65535, 7, 100.
  std::string replies;
  for (std::uint16_t id : {100, 7, 65535})
    replies += frame_bytes(FrameType::reply, id, std::to_string(id));
  ASSERT_TRUE(t.wire.write_all(replies));
  ASSERT_TRUE(replied.wait_for([](auto& v) { return v.size() == 3; }));
  EXPECT_EQ(replied.get(), (std::vector<std::uint16_t>{100, 7, 65535}));
  t.loop.call([&] {
    EXPECT_EQ(t.client->in_flight(), kMaxInFlight - 3);
    for (const char* id : {"x", "y", "z"}) t.client->start(id, nullptr);
    EXPECT_EQ(t.client->in_flight(), kMaxInFlight);
  });
  std::vector<std::uint16_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto f = t.wire.read_frame();
    ASSERT_TRUE(f);
    ids.push_back(f->request_id);
  }
  EXPECT_EQ(ids, (std::vector<std::uint16_t>{65535, 7, 100}));
  t.loop.stop();
}

}  // namespace
