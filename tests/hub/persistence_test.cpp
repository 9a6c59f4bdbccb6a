// The registry outlives the hub: a clean restart of the Hub object, and a
// kill -9 of the hms-hub binary in the middle of a stream of adds (every
// add that was acknowledged must be there after the restart).
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "hub/harness.hpp"

namespace hms::hubtest {
namespace {

TEST(PersistenceTest, RegistrySurvivesARestartOfTheHub) {
  TempDir dir;
  auto opts = hub_options(dir);
  opts.default_env = {{"A", "1"}};
  std::string before;
  {
    RunningHub hub(opts);
    LoopThread loop;
    TestClient c(loop, hub.port);
    ASSERT_TRUE(c.add("web", R"({"start":"node web.js","tags":["eu"],"limit":2,"env":{"B":"x \"q\" \u00e9"}})").ok());
    ASSERT_TRUE(c.add("api", R"({"start":"api","build":"make"})").ok());
    ASSERT_TRUE(c.add("gone", "{}").ok());
    ASSERT_TRUE(c.add("worker", R"({"start":"w"})").ok());
    ASSERT_TRUE(c.update("api", R"({"revision":"abc","docks":["d1"]})").ok());
    ASSERT_TRUE(c.remove("gone").ok());
    ASSERT_TRUE(c.stop("worker").ok());
    before = c.list().text;
    EXPECT_EQ(ids_in(before), (std::vector<std::string>{"web", "api", "worker"}));
    c.shutdown();
    loop.stop();
    hub.hub->stop();
  }
  RunningHub hub(opts);
  LoopThread loop;
  TestClient c(loop, hub.port);
  EXPECT_EQ(c.list().text, before);
  EXPECT_EQ(metric(hub.hub->metrics(), "hms_services"), 3);
  // And it keeps working on the reloaded state.
  EXPECT_TRUE(c.add("web", "{}").error("Service already exist"));
  EXPECT_TRUE(c.add("gone", "{}").ok());
  EXPECT_NE(c.get("worker").text.find(R"("stopped":true)"), std::string::npos);
}

TEST(PersistenceTest, StopThenRestartOnTheSameDatabaseWhileTheOldObjectLives) {
  TempDir dir;
  auto opts = hub_options(dir);
  RunningHub first(opts);
  {
    LoopThread loop;
    TestClient c(loop, first.port);
    ASSERT_TRUE(c.add("web", R"({"start":"x"})").ok());
  }
  first.hub->stop();  // stopped, not destroyed: its database is still open
  RunningHub second(opts);
  LoopThread loop;
  TestClient c(loop, second.port);
  EXPECT_EQ(c.list().text, R"([{"id":"web","start":"x","env":{}}])");
}

// Runs the hms-hub binary on `db`, returns the port it printed.
std::uint16_t start_binary(std::unique_ptr<Child>& child, const std::string& db) {
  child = std::make_unique<Child>(HMS_HUB_BINARY,
                                  std::vector<std::string>{"--address", "127.0.0.1", "--port", "0", "--db", db,
                                                           "--threads", "2", "--log-level", "warn"});
  const auto line = child->read_line();
  const std::string prefix = "hms-hub listening on port ";
  if (!line || line->compare(0, prefix.size(), prefix) != 0) {
    ADD_FAILURE() << "hms-hub did not report its port: '" << line.value_or("<nothing>") << "'";
    return 0;
  }
  return static_cast<std::uint16_t>(std::stoi(line->substr(prefix.size())));
}

TEST(PersistenceTest, EveryAcknowledgedAddSurvivesKillDashNine) {
  TempDir dir;
  const std::string db = dir.file("hub.db");
  std::unique_ptr<Child> hub;
  const std::uint16_t port = start_binary(hub, db);
  ASSERT_NE(port, 0);

  // Adds keep flowing, 16 in flight at a time, until the connection dies.
  // Everything below runs on the loop thread except the waits.
  LoopThread loop;
  auto client = std::make_unique<TestClient>(loop, port);
  std::mutex mu;
  std::set<std::string> acked;
  std::size_t issued = 0;
  constexpr std::size_t kMaxAdds = 100000;  // bound, never reached
  Waiter<std::size_t> acks;
  std::function<void()> issue = [&] {
    if (issued >= kMaxAdds || client->peer().closed()) return;
    const std::string id = "svc-" + std::to_string(issued++);
    client->peer().add(id, R"({"start":"run )" + id + R"("})", [&, id](const Result& r) {
      if (!r.ok()) return;  // failed: the hub died with it in flight
      {
        std::lock_guard l(mu);
        acked.insert(id);
      }
      acks.update([](std::size_t& n) { ++n; });
      issue();
    });
  };
  loop.call([&] {
    for (int i = 0; i < 16; ++i) issue();
  });
  // Each add is on disk (fsync) before its ack, so a slow disk makes this
  // slow: a hundred is plenty.
  ASSERT_TRUE(acks.wait_for([](std::size_t n) { return n >= 100; }, 30s)) << "only " << acks.get() << " acks";
  // Mid-stream: adds are in flight right now.
  hub->kill9();
  ASSERT_TRUE(client->wait_closed());
  std::set<std::string> acknowledged;
  {
    std::lock_guard l(mu);
    acknowledged = acked;
  }
  const std::size_t sent = loop.call([&] { return issued; });
  EXPECT_GT(sent, acknowledged.size()) << "the kill should land with adds in flight";
  client.reset();

  const std::uint16_t port2 = start_binary(hub, db);
  ASSERT_NE(port2, 0);
  TestClient after(loop, port2);
  const Got g = after.list();
  ASSERT_TRUE(g.ok()) << g;
  const std::vector<std::string> listed = ids_in(g.text);
  const std::set<std::string> present(listed.begin(), listed.end());
  EXPECT_EQ(present.size(), listed.size()) << "no duplicates";
  std::size_t missing = 0;
  for (const auto& id : acknowledged)
    if (!present.count(id)) ++missing;
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged adds";
  // Nothing that was never sent; at most the in-flight ones beyond the acks.
  for (const auto& id : present) EXPECT_LT(std::stoul(id.substr(4)), sent) << id;
  EXPECT_LE(present.size(), sent);
  // The content, not only the ids, came back.
  EXPECT_EQ(after.get("svc-0").text, R"({"id":"svc-0","start":"run svc-0","env":{}})");
  // The restarted hub takes new work.
  EXPECT_TRUE(after.add("fresh", "{}").ok());
  after.shutdown();
  int status = hub->kill9();
  EXPECT_TRUE(WIFSIGNALED(status));
}

}  // namespace
}  // namespace hms::hubtest
