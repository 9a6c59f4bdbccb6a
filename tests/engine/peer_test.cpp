// Peer over a live loopback connection: every call, replies, errors,
// pipelining, ids, ping. Runs on both backends (see tests/CMakeLists.txt).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "engine/loop.hpp"
#include "hms/peer.hpp"

using namespace hms;
using hms::test::as_json_string;
using hms::test::LoopThread;
using hms::test::Waiter;

namespace {

struct Got {
  Result::Status status;
  std::string text;
};

// A server peer and a client peer on one reactor over loopback TCP.
struct Pair {
  LoopThread loop;
  std::shared_ptr<Peer> server;
  std::shared_ptr<Peer> client;
  std::shared_ptr<HandlerTable> table = std::make_shared<HandlerTable>();
  Waiter<int> accepted;
  std::uint16_t port = 0;

  explicit Pair(bool upgrade = true) {
    loop.call([&] {
      auto& l = loop.reactor().listen("127.0.0.1:0", ListenOptions{}, [this](Connection& c) {
        server = Peer::attach(c);
        server->set_handlers(table);
        accepted.set(1);
      });
      port = loop.reactor().listen_port(l);
      ConnectOptions co;
      co.upgrade = upgrade;
      co.origin = "dock-a";
      client = Peer::connect(loop.reactor(), "127.0.0.1:" + std::to_string(port), co);
    });
  }
  ~Pair() { loop.stop(); }

  // Issues a request on the reactor and waits for its result.
  Got ask(const std::function<void(Peer&, ReplyCallback)>& call) {
    std::promise<Got> p;
    auto f = p.get_future();
    loop.call([&] {
      call(*client, [&p](const Result& r) { p.set_value(Got{r.status, std::string(r.text)}); });
    });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return f.get();
  }
};

class PeerTest : public ::testing::TestWithParam<bool> {};

TEST_P(PeerTest, PingIsAnsweredByTheEngine) {
  Pair p(GetParam());
  const Got g = p.ask([](Peer& c, ReplyCallback cb) { c.ping(std::move(cb)); });
  EXPECT_EQ(g.status, Result::Status::ok);
  EXPECT_EQ(g.text, "");
}

TEST_P(PeerTest, EveryRequestOpcodeReachesItsHandler) {
  Pair p(GetParam());
  std::vector<std::string> seen;
  for (Opcode op : {Opcode::handshake, Opcode::add, Opcode::update, Opcode::remove, Opcode::list,
                    Opcode::ps, Opcode::start, Opcode::stop, Opcode::restart, Opcode::sync,
                    Opcode::subscribe, Opcode::unsubscribe, Opcode::get}) {
    p.table->set(op, [&seen](Peer&, const Message& m, Reply r) {
      seen.push_back(std::string(to_string(static_cast<Opcode>(m.opcode))) + ":" +
                     std::string(m.id) + ":" + std::string(m.payload));
      r.ok(R"({"ok":true})");
    });
  }
  auto expect_ok = [](const Got& g) {
    EXPECT_EQ(g.status, Result::Status::ok);
    EXPECT_EQ(g.text, R"({"ok":true})");
  };
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.handshake(R"({"type":"client"})", cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.add("web", R"({"start":"x"})", cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.update("web", R"({"a":1})", cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.remove("web", cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.list(cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.ps(cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.start("web", cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.stop("web", cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.restart("web", cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.sync("web", "null", cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.subscribe("", cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.unsubscribe("web", cb); }));
  expect_ok(p.ask([](Peer& c, ReplyCallback cb) { c.get("web", cb); }));
  const std::vector<std::string> want = {
      "handshake::{\"type\":\"client\",\"protocol\":1}", "add:web:{\"start\":\"x\"}",
      "update:web:{\"a\":1}", "remove:web:", "list::", "ps::", "start:web:", "stop:web:",
      "restart:web:", "sync:web:null", "subscribe:*:", "unsubscribe:web:", "get:web:"};
  EXPECT_EQ(p.loop.call([&] { return seen; }), want);
}

TEST_P(PeerTest, ErrorRepliesAndUnsupportedCommands) {
  Pair p(GetParam());
  p.table->set(Opcode::start, [](Peer&, const Message&, Reply r) { r.error("Service not found"); });
  Got g = p.ask([](Peer& c, ReplyCallback cb) { c.start("nope", cb); });
  EXPECT_EQ(g.status, Result::Status::error);
  EXPECT_EQ(g.text, "Service not found");
  g = p.ask([](Peer& c, ReplyCallback cb) { c.stop("web", cb); });
  EXPECT_EQ(g.status, Result::Status::error);
  EXPECT_EQ(g.text, "Command is not supported");
  // An unknown opcode gets the same answer.
  g = p.ask([](Peer& c, ReplyCallback cb) { c.request(static_cast<Opcode>(99), "x", "", cb); });
  EXPECT_EQ(g.status, Result::Status::error);
  EXPECT_EQ(g.text, "Command is not supported");
}

TEST_P(PeerTest, EventsCarryServiceOriginAndBytes) {
  Pair p(GetParam());
  Waiter<std::vector<std::string>> got;
  for (Opcode op : {Opcode::stdout_, Opcode::stderr_, Opcode::spawn, Opcode::exit}) {
    p.table->set(op, [&got](Peer&, const Message& m, Reply r) {
      EXPECT_FALSE(r.expects_reply());
      got.update([&](auto& v) {
        v.push_back(std::string(to_string(static_cast<Opcode>(m.opcode))) + "|" +
                    std::string(m.service) + "|" + std::string(m.origin) + "|" +
                    std::string(m.payload));
      });
    });
  }
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  p.loop.call([&] {
    p.client->write_stdout("web", "dock-1", "hello\n");
    p.client->write_stderr("web", "dock-1", binary);
    p.client->spawn("web", "dock-1", 900);
    p.client->exit("web", "dock-1", "\"SIGTERM\"");
    p.client->send_message(Opcode::stdout_, "web", "no origin");
  });
  ASSERT_TRUE(got.wait_for([](auto& v) { return v.size() == 5; }));
  const auto v = got.get();
  EXPECT_EQ(v[0], "stdout|web|dock-1|hello\n");
  EXPECT_EQ(v[1], "stderr|web|dock-1|" + binary);
  EXPECT_EQ(v[2], "spawn|web|dock-1|900");
  EXPECT_EQ(v[3], "exit|web|dock-1|\"SIGTERM\"");
  EXPECT_EQ(v[4], "stdout|web|unknown|no origin");
}

TEST_P(PeerTest, PipelinedRequestsWithOutOfOrderDeferredReplies) {
  Pair p(GetParam());
  // The server keeps every Reply and answers them in reverse order later.
  std::vector<std::pair<std::string, Reply>> held;
  constexpr int kCount = 10000;
  p.table->set(Opcode::start, [&](Peer&, const Message& m, Reply r) {
    held.emplace_back(std::string(m.id), std::move(r));
    if (held.size() == kCount) {
      for (auto it = held.rbegin(); it != held.rend(); ++it) it->second.ok(as_json_string(it->first));
      held.clear();
    }
  });
  Waiter<int> done;
  std::vector<std::string> answers(kCount);
  p.loop.call([&] {
    for (int i = 0; i < kCount; ++i) {
      p.client->start("svc" + std::to_string(i), [&, i](const Result& r) {
        EXPECT_TRUE(r.ok());
        answers[static_cast<std::size_t>(i)] = std::string(r.text);
        done.update([](int& n) { ++n; });
      });
    }
    EXPECT_EQ(p.client->in_flight(), static_cast<std::size_t>(kCount));
  });
  ASSERT_TRUE(done.wait_for([](int n) { return n == kCount; }));
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(answers[static_cast<std::size_t>(i)], as_json_string("svc" + std::to_string(i)));
  EXPECT_EQ(p.loop.call([&] { return p.client->in_flight(); }), 0u);
}

TEST_P(PeerTest, DroppedReplyHandleAnswersNoReply) {
  Pair p(GetParam());
  p.table->set(Opcode::start, [](Peer&, const Message&, Reply) {});
  const Got g = p.ask([](Peer& c, ReplyCallback cb) { c.start("x", cb); });
  EXPECT_EQ(g.status, Result::Status::error);
  EXPECT_EQ(g.text, "No reply");
}

TEST_P(PeerTest, PendingRequestsFailWhenTheConnectionEnds) {
  Pair p(GetParam());
  std::vector<Reply> held;
  p.table->set(Opcode::start, [&](Peer& peer, const Message&, Reply r) {
    held.push_back(std::move(r));
    if (held.size() == 3) peer.close();
  });
  Waiter<std::vector<std::string>> errs;
  p.loop.call([&] {
    for (int i = 0; i < 3; ++i)
      p.client->start("x", [&](const Result& r) {
        EXPECT_EQ(r.status, Result::Status::closed);
        errs.update([&](auto& v) { v.push_back(std::string(r.text)); });
      });
  });
  ASSERT_TRUE(errs.wait_for([](auto& v) { return v.size() == 3; }));
  for (auto& e : errs.get()) EXPECT_EQ(e, "cable was destroyed");
  // Answering after the close is harmless.
  p.loop.call([&] { held.clear(); });
  // New calls fail at once.
  const Got g = p.ask([](Peer& c, ReplyCallback cb) { c.start("y", cb); });
  EXPECT_EQ(g.status, Result::Status::closed);
}

TEST_P(PeerTest, SubscriptionsAreTrackedOnBothSides) {
  Pair p(GetParam());
  p.table->set(Opcode::subscribe, [](Peer&, const Message&, Reply r) { r.ok(); });
  p.table->set(Opcode::unsubscribe, [](Peer&, const Message&, Reply r) { r.ok(); });
  p.ask([](Peer& c, ReplyCallback cb) { c.subscribe("web", cb); });
  EXPECT_TRUE(p.loop.call([&] { return p.client->am_subscribing("web"); }));
  EXPECT_FALSE(p.loop.call([&] { return p.client->am_subscribing("api"); }));
  EXPECT_TRUE(p.loop.call([&] { return p.server->peer_subscribing("web"); }));
  EXPECT_FALSE(p.loop.call([&] { return p.server->peer_subscribing("api"); }));
  p.ask([](Peer& c, ReplyCallback cb) { c.subscribe("", cb); });
  EXPECT_TRUE(p.loop.call([&] { return p.client->am_subscribing("api"); }));
  EXPECT_TRUE(p.loop.call([&] { return p.server->peer_subscribing("api"); }));
  p.ask([](Peer& c, ReplyCallback cb) { c.unsubscribe("", cb); });
  p.ask([](Peer& c, ReplyCallback cb) { c.unsubscribe("web", cb); });
  EXPECT_FALSE(p.loop.call([&] { return p.client->am_subscribing("web"); }));
  EXPECT_FALSE(p.loop.call([&] { return p.server->peer_subscribing("web"); }));
}

INSTANTIATE_TEST_SUITE_P(Transport, PeerTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Connect" : "Raw"; });

}  // namespace
