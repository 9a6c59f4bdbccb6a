// Subscriptions and log fan-out: which docks the hub subscribes (and
// unsubscribes), and that stdout/stderr/spawn/exit frames reach exactly the
// clients subscribed to their service or to '*', once each, byte for byte.
// Everything runs with one shard and with two (clients and docks spread
// over both, so fan-out crosses threads).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "hub/harness.hpp"

namespace hms::hubtest {
namespace {

class FanoutTest : public ::testing::TestWithParam<unsigned> {
 protected:
  TempDir dir;
  RunningHub hub{hub_options(dir, GetParam())};
  LoopThread loop;
};

// ps is answered by every dock after everything the hub sent it earlier:
// after it returns, the docks' traces are complete.
void barrier(TestClient& c) { ASSERT_TRUE(c.ps().ok()); }

TEST_P(FanoutTest, FirstSubscriberSubscribesTheDocksAndTheLastOneUnsubscribes) {
  TestDock a(loop, hub.port, "dock-a");
  TestDock b(loop, hub.port, "dock-b");
  TestClient admin(loop, hub.port);
  ASSERT_TRUE(admin.add("web", "{}").ok());
  ASSERT_TRUE(admin.add("api", "{}").ok());

  auto c1 = std::make_unique<TestClient>(loop, hub.port);
  auto c2 = std::make_unique<TestClient>(loop, hub.port);
  EXPECT_TRUE(c1->subscribe("nope").error("Service not found"));
  ASSERT_TRUE(c1->subscribe("web").ok());
  ASSERT_TRUE(a.wait_call("subscribe", "web"));
  ASSERT_TRUE(b.wait_call("subscribe", "web"));
  ASSERT_TRUE(c2->subscribe("web").ok());
  ASSERT_TRUE(c1->subscribe("web").ok());  // again: no change
  barrier(admin);
  EXPECT_EQ(a.trace(), (std::vector<std::string>{"subscribe:web", "ps:"})) << "one subscribe per id, not per client";
  EXPECT_EQ(b.count("subscribe", "web"), 1u);

  // A dock that connects now hears about every id with subscribers.
  TestDock late(loop, hub.port, "dock-late");
  ASSERT_TRUE(late.wait_call("subscribe", "web"));
  barrier(admin);
  EXPECT_EQ(late.trace(), (std::vector<std::string>{"subscribe:web", "ps:"}));

  // One of two subscribers leaves: the docks keep forwarding.
  ASSERT_TRUE(c1->unsubscribe("web").ok());
  ASSERT_TRUE(c1->unsubscribe("api").ok());  // never subscribed: harmless
  barrier(admin);
  EXPECT_EQ(a.count("unsubscribe", "web") + b.count("unsubscribe", "web") + late.count("unsubscribe", "web"), 0u);

  // The last one disconnects: every dock is unsubscribed.
  c2.reset();
  for (TestDock* d : {&a, &b, &late}) EXPECT_TRUE(d->wait_call("unsubscribe", "web")) << d->id();

  // '*' works without a service, and '' means '*'.
  ASSERT_TRUE(c1->subscribe("").ok());
  for (TestDock* d : {&a, &b, &late}) EXPECT_TRUE(d->wait_call("subscribe", "*")) << d->id();
  ASSERT_TRUE(c1->unsubscribe("*").ok());
  for (TestDock* d : {&a, &b, &late}) EXPECT_TRUE(d->wait_call("unsubscribe", "*")) << d->id();
  // A dock connecting now is subscribed to nothing.
  TestDock later(loop, hub.port, "dock-later");
  barrier(admin);
  EXPECT_EQ(later.trace(), std::vector<std::string>{"ps:"});
}

TEST_P(FanoutTest, UnsubscribeOfTheLastSubscriberUnsubscribesDocks) {
  TestDock a(loop, hub.port, "dock-a");
  TestClient c(loop, hub.port);
  ASSERT_TRUE(c.add("web", "{}").ok());
  ASSERT_TRUE(c.subscribe("web").ok());
  ASSERT_TRUE(c.subscribe("*").ok());
  ASSERT_TRUE(c.unsubscribe("web").ok());
  ASSERT_TRUE(a.wait_call("unsubscribe", "web"));
  barrier(c);
  EXPECT_EQ(a.trace(), (std::vector<std::string>{"subscribe:web", "subscribe:*", "unsubscribe:web", "ps:"}));
  // Still on '*': events for web keep coming.
  a.write_stdout("web", "still here\n");
  ASSERT_TRUE(c.wait_count(1));
  EXPECT_EQ(c.events().at(0).payload, "still here\n");
}

// One dock's planned output: service and exact frame bytes, in send order.
struct Sent {
  std::string origin, service, bytes;
};

TEST_P(FanoutTest, EveryEventReachesExactlyTheSubscribersOnceAndIntact) {
  TestClient admin(loop, hub.port);
  ASSERT_TRUE(admin.add("web", "{}").ok());
  ASSERT_TRUE(admin.add("api", "{}").ok());
  ASSERT_TRUE(admin.add("quiet", "{}").ok());
  std::vector<std::unique_ptr<TestDock>> docks;
  for (int i = 0; i < 3; ++i) docks.push_back(std::make_unique<TestDock>(loop, hub.port, "dock-" + std::to_string(i)));

  // Two clients per role, so that with two shards each role very likely
  // has members on both.
  enum Role { web, star, both, api, none, quiet };
  const std::vector<std::pair<Role, std::vector<std::string>>> roles = {
      {web, {"web"}}, {star, {"*"}}, {both, {"web", "*"}}, {api, {"api"}}, {none, {}}, {quiet, {"quiet"}}};
  std::vector<std::pair<Role, std::unique_ptr<TestClient>>> clients;
  for (int copy = 0; copy < 2; ++copy)
    for (const auto& [role, ids] : roles) {
      auto c = std::make_unique<TestClient>(loop, hub.port);
      for (const auto& id : ids) ASSERT_TRUE(c->subscribe(id).ok());
      clients.emplace_back(role, std::move(c));
    }
  // Stream only once every dock forwards every id (as a real dock would).
  for (auto& d : docks)
    for (const char* id : {"web", "*", "api", "quiet"}) ASSERT_TRUE(d->wait_call("subscribe", id)) << d->id() << id;

  std::vector<Sent> sent;
  unsigned seed = 1;
  for (int round = 0; round < 4; ++round) {
    for (auto& d : docks) {
      for (const char* svc : {"web", "api"}) {
        auto note = [&](std::string bytes) { sent.push_back({d->id(), svc, std::move(bytes)}); };
        if (round == 0) note(d->spawn(svc, 1000 + seed));
        note(d->write_stdout(svc, binary_payload(300 + seed, seed)));
        ++seed;
        note(d->write_stderr(svc, binary_payload(17, seed)));
        ++seed;
        // Larger than a hub receive buffer (32 KiB): assembled, then
        // relayed whole.
        if (round == 1) note(d->write_stdout(svc, binary_payload(200 * 1024 + seed, seed)));
        note(d->write_stdout(svc, ""));  // empty payload is a valid frame too
        if (round == 3) note(d->exit(svc, seed % 2 ? "\"SIGTERM\"" : "0"));
      }
    }
  }

  auto wanted = [&](Role r, const std::string& svc) {
    switch (r) {
      case web: return svc == "web";
      case api: return svc == "api";
      case star:
      case both: return true;
      case none:
      case quiet: return false;
    }
    return false;
  };
  std::size_t deliveries = 0;
  for (auto& [role, c] : clients) {
    // Expected per origin, in that dock's send order.
    std::map<std::string, std::vector<std::string>> want;
    std::size_t n = 0;
    for (const auto& s : sent)
      if (wanted(role, s.service)) {
        want[s.origin].push_back(s.bytes);
        ++n;
      }
    deliveries += n;
    ASSERT_TRUE(c->wait_count(n)) << "role " << role << " got " << c->count() << " of " << n;
    std::map<std::string, std::vector<std::string>> got;
    for (const auto& e : c->events()) got[e.origin].push_back(e.bytes);
    EXPECT_EQ(got.size(), want.size()) << "role " << role;
    for (auto& [origin, frames] : want) {
      ASSERT_EQ(got[origin].size(), frames.size()) << "role " << role << " from " << origin;
      for (std::size_t i = 0; i < frames.size(); ++i)
        ASSERT_TRUE(got[origin][i] == frames[i]) << "role " << role << " from " << origin << " frame " << i;
    }
  }
  // A quiet service's subscribers got nothing; neither did the idle
  // clients. The hub counted every frame once and every delivery once (the
  // counters catch a duplicate that arrived after the waits above).
  // The counters are live: by the time every client has its frames, the
  // shard that queued them has counted them (a duplicate is queued, and
  // counted, in the same pass as the original).
  const std::string m = hub.hub->metrics();
  EXPECT_EQ(metric(m, "hms_log_frames_total"), static_cast<double>(sent.size())) << m;
  EXPECT_EQ(metric(m, "hms_log_deliveries_total"), static_cast<double>(deliveries)) << m;
  for (auto& [role, c] : clients) {
    std::size_t n = 0;
    for (const auto& s : sent) n += wanted(role, s.service);
    EXPECT_EQ(c->count(), n) << "role " << role;
  }
}

TEST_P(FanoutTest, EventWithoutOriginIsRelayedAsServiceAtUnknown) {
  TestDock d(loop, hub.port, "dock-a");
  TestClient c(loop, hub.port);
  ASSERT_TRUE(c.subscribe("*").ok());
  ASSERT_TRUE(d.wait_call("subscribe", "*"));
  // The reference re-emits such an event with origin 'unknown'.
  const std::string data = binary_payload(1000, 9);
  loop.call([&] { d.peer().send_message(Opcode::stdout_, "web", data); });
  ASSERT_TRUE(c.wait_count(1));
  const Event e = c.events().at(0);
  EXPECT_EQ(e.bytes, event_bytes(Opcode::stdout_, "web", "unknown", data));
}

TEST_P(FanoutTest, ClientsThatLeftOrUnsubscribedGetNothingMore) {
  TestDock d(loop, hub.port, "dock-a");
  TestClient admin(loop, hub.port);
  ASSERT_TRUE(admin.add("web", "{}").ok());
  TestClient stays(loop, hub.port);
  TestClient leaves(loop, hub.port);
  auto gone = std::make_unique<TestClient>(loop, hub.port);
  for (TestClient* c : {&stays, &leaves, gone.get()}) ASSERT_TRUE(c->subscribe("web").ok());
  ASSERT_TRUE(d.wait_call("subscribe", "web"));
  d.write_stdout("web", "one\n");
  for (TestClient* c : {&stays, &leaves, gone.get()}) ASSERT_TRUE(c->wait_count(1));
  ASSERT_TRUE(leaves.unsubscribe("web").ok());
  gone.reset();
  d.write_stdout("web", "two\n");
  d.write_stdout("web", "three\n");
  ASSERT_TRUE(stays.wait_count(3));
  // A round trip on `leaves` itself: a frame queued for it with "three"
  // would be ahead of this reply on its connection.
  barrier(leaves);
  EXPECT_EQ(leaves.count(), 1u);
  EXPECT_EQ(stays.events().at(2).payload, "three\n");
}

INSTANTIATE_TEST_SUITE_P(Shards, FanoutTest, ::testing::Values(1u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& i) {
                           return std::to_string(i.param) + "thread" + (i.param == 1 ? "" : "s");
                         });

}  // namespace
}  // namespace hms::hubtest
