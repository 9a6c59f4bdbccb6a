// Client commands against the hub with live docks: the registry (add,
// update, get, list, remove), the dock commands (start, stop, restart, ps)
// and the client's `route`. Error texts are the reference terminal's.
#include <gtest/gtest.h>

#include "hub/harness.hpp"

namespace hms::hubtest {
namespace {

constexpr std::string_view kNotFound = "Service not found";

struct CommandsTest : ::testing::Test {
  TempDir dir;
  RunningHub hub{[this] {
    auto o = hub_options(dir);
    o.default_env = {{"NODE_ENV", "production"}, {"REGION", "eu"}};
    return o;
  }()};
  LoopThread loop;
};

TEST_F(CommandsTest, AddMergesTheDefaultEnvUnderTheServiceEnv) {
  TestClient c(loop, hub.port);
  ASSERT_TRUE(c.add("web", R"({"start":"node app.js","env":{"REGION":"us","PORT":"8080"}})").ok());
  // xtend(defaultEnv, opts.env): default keys first, the service's values win.
  Got g = c.get("web");
  ASSERT_TRUE(g.ok()) << g;
  EXPECT_EQ(g.text,
            R"({"id":"web","start":"node app.js","env":{"NODE_ENV":"production","REGION":"us","PORT":"8080"}})");
  ASSERT_TRUE(c.add("api", R"({"start":"run"})").ok());
  EXPECT_EQ(c.get("api").text, R"({"id":"api","start":"run","env":{"NODE_ENV":"production","REGION":"eu"}})");
}

TEST_F(CommandsTest, AddKeepsOnlyTheServiceKeysInTheirOrder) {
  TestClient c(loop, hub.port);
  // select(opts, [start, build, limit, docks, tags, revision, env]); the
  // rest (an id in the payload, stopped, unknown keys) is not stored.
  ASSERT_TRUE(c.add("web", R"({"zzz":1,"env":{},"revision":"r1","tags":["eu"],"docks":["a"],"limit":2,)"
                           R"("build":"make","start":"run","stopped":true,"id":"other"})")
                  .ok());
  EXPECT_EQ(c.get("web").text,
            R"({"id":"web","start":"run","build":"make","limit":2,"docks":["a"],"tags":["eu"],"revision":"r1",)"
            R"("env":{"NODE_ENV":"production","REGION":"eu"}})");
}

TEST_F(CommandsTest, AddErrors) {
  TestClient c(loop, hub.port);
  ASSERT_TRUE(c.add("web", R"({"start":"a"})").ok());
  EXPECT_TRUE(c.add("web", R"({"start":"b"})").error("Service already exist"));
  EXPECT_EQ(c.get("web").text, R"({"id":"web","start":"a","env":{"NODE_ENV":"production","REGION":"eu"}})");
  for (const char* bad : {"we b", "web/1", "web_1", "wéb", "a:b", "web!", ""}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(c.add(bad, "{}").error("Service name should be alphanumericish"));
  }
  for (const char* good : {"A-z.0-9", "1", "my.service-2"}) {
    SCOPED_TRACE(good);
    EXPECT_TRUE(c.add(good, "{}").ok());
  }
  // "Already exist" is checked first, as the reference does.
  EXPECT_TRUE(c.add("1", "{}").error("Service already exist"));
  // The id is split at '@' as for any message: "web@x" names web.
  EXPECT_TRUE(c.add("web@x", "{}").error("Service already exist"));
}

TEST_F(CommandsTest, UpdateMergesAndNeedsAnExistingService) {
  TestClient c(loop, hub.port);
  EXPECT_TRUE(c.update("web", R"({"start":"x"})").error(kNotFound));
  EXPECT_TRUE(c.get("web").error(kNotFound));
  ASSERT_TRUE(c.add("web", R"({"start":"a","tags":["eu"]})").ok());
  ASSERT_TRUE(c.update("web", R"({"build":"make","env":{"A":"1"},"bogus":true})").ok());
  // Top-level merge: start and tags stay, env is replaced (no default env on
  // update), unknown keys are dropped.
  EXPECT_EQ(c.get("web").text, R"({"id":"web","start":"a","build":"make","tags":["eu"],"env":{"A":"1"}})");
  ASSERT_TRUE(c.update("web", R"({"start":"b","limit":1})").ok());
  EXPECT_EQ(c.get("web").text,
            R"({"id":"web","start":"b","build":"make","limit":1,"tags":["eu"],"env":{"A":"1"}})");
}

TEST_F(CommandsTest, ListIsEveryServiceInOrder) {
  TestClient c(loop, hub.port);
  EXPECT_EQ(c.list().text, "[]");
  ASSERT_TRUE(c.add("b", R"({"start":"1"})").ok());
  ASSERT_TRUE(c.add("a", R"({"start":"2"})").ok());
  ASSERT_TRUE(c.add("c", R"({"start":"3"})").ok());
  const std::string env = R"("env":{"NODE_ENV":"production","REGION":"eu"})";
  EXPECT_EQ(c.list().text, R"([{"id":"b","start":"1",)" + env + R"(},{"id":"a","start":"2",)" + env +
                               R"(},{"id":"c","start":"3",)" + env + "}]");
}

TEST_F(CommandsTest, RemoveAsksEveryDockThenDeletes) {
  TestClient c(loop, hub.port);
  TestDock a(loop, hub.port, "dock-a");
  TestDock b(loop, hub.port, "dock-b");
  ASSERT_TRUE(c.add("web", "{}").ok());
  ASSERT_TRUE(c.add("api", "{}").ok());
  // The reply waits for the slowest dock.
  b.hold("remove");
  auto pending = c.ask_async([](Peer& p, ReplyCallback cb) { p.remove("web", std::move(cb)); });
  ASSERT_TRUE(b.wait_call("remove", "web"));
  ASSERT_TRUE(a.wait_call("remove", "web"));
  EXPECT_NE(pending.wait_for(200ms), std::future_status::ready) << "answered before dock-b did";
  b.release();
  const Got g = TestPeer::await(pending);
  EXPECT_TRUE(g.ok()) << g;
  EXPECT_TRUE(c.get("web").error(kNotFound));
  EXPECT_EQ(ids_in(c.list().text), std::vector<std::string>{"api"});
  // A service the hub does not know is still removed from the docks.
  EXPECT_TRUE(c.remove("ghost").ok());
  EXPECT_EQ(a.count("remove", "ghost"), 1u);
  EXPECT_EQ(b.count("remove", "ghost"), 1u);
}

TEST_F(CommandsTest, RemoveFailsWithTheDockErrorAndKeepsTheService) {
  TestClient c(loop, hub.port);
  TestDock a(loop, hub.port, "dock-a");
  ASSERT_TRUE(c.add("web", "{}").ok());
  a.fail("remove", "web", "dock says no");
  EXPECT_TRUE(c.remove("web").error("dock says no"));
  EXPECT_TRUE(c.get("web").ok());
}

TEST_F(CommandsTest, StartStopRestartSendUpdateThenTheCommand) {
  TestClient c(loop, hub.port);
  TestDock a(loop, hub.port, "dock-a", DockOpts().tagged({"eu"}));
  TestDock b(loop, hub.port, "dock-b");
  ASSERT_TRUE(c.add("web", R"({"start":"node app.js","build":"make","tags":["eu"],"limit":1,"docks":["dock-a"],)"
                           R"("revision":"r9","env":{"PORT":"80"}})")
                  .ok());
  // What the reference sends: {start, build, env, tags, limit, docks}, in
  // that order (JSON.stringify of the object it builds), no revision.
  const std::string upd = R"({"start":"node app.js","build":"make","env":{"NODE_ENV":"production",)"
                          R"("REGION":"eu","PORT":"80"},"tags":["eu"],"limit":1,"docks":["dock-a"]})";
  for (const char* op : {"start", "stop", "restart"}) {
    SCOPED_TRACE(op);
    a.clear_calls();
    b.clear_calls();
    const std::string o = op;
    Got g = o == "start" ? c.start("web") : o == "stop" ? c.stop("web") : c.restart("web");
    ASSERT_TRUE(g.ok()) << g;
    EXPECT_EQ(g.text, "");
    for (TestDock* d : {&a, &b}) {
      // Both calls have been answered, so both arrived.
      EXPECT_EQ(d->trace(), (std::vector<std::string>{"update:web", o + ":web"})) << d->id();
      ASSERT_EQ(d->calls().size(), 2u);
      EXPECT_EQ(d->calls()[0].payload, upd);
      EXPECT_EQ(d->calls()[1].payload, "");
    }
    // stopped is recorded: true after stop, false after start/restart.
    const std::string stored = c.get("web").text;
    EXPECT_NE(stored.find(o == "stop" ? R"("stopped":true)" : R"("stopped":false)"), std::string::npos) << stored;
  }
  EXPECT_TRUE(c.start("nope").error(kNotFound));
  EXPECT_TRUE(c.stop("nope").error(kNotFound));
  EXPECT_TRUE(c.restart("nope").error(kNotFound));
  EXPECT_EQ(a.count("update", "nope") + b.count("update", "nope"), 0u);
}

TEST_F(CommandsTest, StartWithoutDocksSucceeds) {
  TestClient c(loop, hub.port);
  ASSERT_TRUE(c.add("web", R"({"start":"x"})").ok());
  EXPECT_TRUE(c.start("web").ok());
  EXPECT_EQ(c.get("web").text,
            R"({"id":"web","start":"x","env":{"NODE_ENV":"production","REGION":"eu"},"stopped":false})");
}

TEST_F(CommandsTest, StartReturnsTheFirstDockError) {
  TestClient c(loop, hub.port);
  TestDock a(loop, hub.port, "dock-a");
  TestDock b(loop, hub.port, "dock-b");
  ASSERT_TRUE(c.add("web", R"({"start":"x"})").ok());
  b.fail("start", "web", "cannot start web");
  EXPECT_TRUE(c.start("web").error("cannot start web"));
  // A failed update stops that dock's chain: no start follows it.
  a.fail("update", "web", "update refused");
  b.clear_calls();
  a.clear_calls();
  EXPECT_TRUE(c.restart("web").error("update refused"));
  ASSERT_TRUE(b.wait_call("restart", "web"));
  EXPECT_EQ(a.trace(), std::vector<std::string>{"update:web"});
  // The stored state changed all the same (it is written before the docks
  // are asked).
  EXPECT_NE(c.get("web").text.find(R"("stopped":false)"), std::string::npos);
}

TEST_F(CommandsTest, StartRepliesOnlyWhenEveryDockAnswered) {
  TestClient c(loop, hub.port);
  TestDock a(loop, hub.port, "dock-a");
  TestDock b(loop, hub.port, "dock-b");
  ASSERT_TRUE(c.add("web", "{}").ok());
  a.hold("stop");
  auto pending = c.ask_async([](Peer& p, ReplyCallback cb) { p.stop("web", std::move(cb)); });
  ASSERT_TRUE(a.wait_call("stop", "web"));
  ASSERT_TRUE(b.wait_call("stop", "web"));
  EXPECT_NE(pending.wait_for(200ms), std::future_status::ready);
  a.release();
  EXPECT_TRUE(TestPeer::await(pending).ok());
}

TEST_F(CommandsTest, PsConcatenatesEveryDocksArray) {
  TestClient c(loop, hub.port);
  EXPECT_EQ(c.ps().text, "[]");
  TestDock a(loop, hub.port, "dock-a");
  TestDock b(loop, hub.port, "dock-b");
  TestDock e(loop, hub.port, "dock-empty");
  const std::string pa = R"({"id":"dock-a","hostname":"ha","tags":["eu"],"list":[{"id":"web","pid":10}]})";
  const std::string pb1 = R"({"id":"dock-b","list":[]})";
  const std::string pb2 = R"({"id":"dock-b2","list":[{"id":"api","status":"running"}]})";
  a.set_ps("[" + pa + "]");
  b.set_ps("[" + pb1 + "," + pb2 + "]");
  e.set_ps("[]");
  const Got g = c.ps();
  ASSERT_TRUE(g.ok()) << g;
  // Replies are concatenated in the order they arrive.
  const std::set<std::string> allowed = {"[" + pa + "," + pb1 + "," + pb2 + "]", "[" + pb1 + "," + pb2 + "," + pa + "]"};
  EXPECT_TRUE(allowed.count(g.text)) << g.text;
  for (TestDock* d : {&a, &b, &e}) EXPECT_EQ(d->trace(), std::vector<std::string>{"ps:"});
  // A dock that fails is named with its error; the others still answer.
  b.fail("ps", "", "ps broke");
  const Got g2 = c.ps();
  ASSERT_TRUE(g2.ok()) << g2;
  const std::string broke = R"({"id":"dock-b","error":"ps broke","list":[]})";
  EXPECT_TRUE(g2.text == "[" + pa + "," + broke + "]" || g2.text == "[" + broke + "," + pa + "]") << g2.text;
}

TEST_F(CommandsTest, PsValidatesEachDocksAnswer) {
  // A falsy answer (null, false, 0, "", an empty list) is dropped, as the
  // reference does. Anything that is not a ps list (the reference would
  // splice it into everyone's reply) becomes an entry that names the dock.
  TestClient c(loop, hub.port);
  TestDock a(loop, hub.port, "dock-a");
  TestDock b(loop, hub.port, "dock-b");
  const std::string good = R"({"id":"dock-a","list":[]})";
  a.set_ps("[" + good + "]");
  for (const char* falsy : {"null", "false", "0", "\"\"", " [ ] "}) {
    SCOPED_TRACE(falsy);
    b.set_ps(falsy);
    const Got g = c.ps();
    ASSERT_TRUE(g.ok()) << g;
    EXPECT_EQ(g.text, "[" + good + "]");
  }
  const std::string bad = R"({"id":"dock-b","error":"Dock dock-b answered ps with something that is not a ps list","list":[]})";
  for (const char* odd : {R"("odd")", "1],[2", "not json", "[", R"({"id":"dock-b","list":[]})", "[1,2]"}) {
    SCOPED_TRACE(odd);
    b.set_ps(odd);
    const Got g = c.ps();
    ASSERT_TRUE(g.ok()) << g;
    EXPECT_TRUE(g.text == "[" + good + "," + bad + "]" || g.text == "[" + bad + "," + good + "]") << g.text;
  }
  EXPECT_GE(metric(hub.hub->metrics(), "hms_invalid_dock_answers_total"), 6);
}

TEST_F(CommandsTest, DockThatLeavesIsNoLongerAsked) {
  TestClient c(loop, hub.port);
  TestDock a(loop, hub.port, "dock-a");
  a.set_ps(R"([{"id":"dock-a","list":[]}])");
  {
    TestDock b(loop, hub.port, "dock-b");
    b.set_ps(R"([{"id":"dock-b","list":[]}])");
    EXPECT_EQ(ids_in(c.ps().text).size(), 2u);
  }
  ASSERT_TRUE(eventually([&] { return c.ps().text == R"([{"id":"dock-a","list":[]}])"; }));
}

// ------------------------------------------------------------------ route

TEST_F(CommandsTest, RouteLimitsWhichDocksACommandReaches) {
  TestDock a(loop, hub.port, "dock-a", DockOpts().tagged({"eu", "fast"}));
  TestDock b(loop, hub.port, "dock-b", DockOpts().tagged({"us"}));
  TestDock c3(loop, hub.port, "dock-c", DockOpts().tagged({"eu"}));
  for (TestDock* d : {&a, &b, &c3}) d->set_ps(R"([{"id":")" + d->id() + R"(","list":[]}])");
  TestClient all(loop, hub.port);
  TestClient eu(loop, hub.port, ClientOpts().via("eu"));
  TestClient only_b(loop, hub.port, ClientOpts().via("dock-b"));
  TestClient nobody(loop, hub.port, ClientOpts().via("mars"));
  ASSERT_TRUE(all.add("web", R"({"start":"x"})").ok());

  auto sorted_ids = [](const Got& g) {
    auto v = ids_in(g.text);
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted_ids(all.ps()), (std::vector<std::string>{"dock-a", "dock-b", "dock-c"}));
  EXPECT_EQ(sorted_ids(eu.ps()), (std::vector<std::string>{"dock-a", "dock-c"}));
  EXPECT_EQ(sorted_ids(only_b.ps()), (std::vector<std::string>{"dock-b"}));
  EXPECT_EQ(nobody.ps().text, "[]");

  for (TestDock* d : {&a, &b, &c3}) d->clear_calls();
  ASSERT_TRUE(eu.start("web").ok());
  EXPECT_EQ(a.trace(), (std::vector<std::string>{"update:web", "start:web"}));
  EXPECT_EQ(c3.trace(), (std::vector<std::string>{"update:web", "start:web"}));
  ASSERT_TRUE(only_b.stop("web").ok());
  EXPECT_EQ(b.trace(), (std::vector<std::string>{"update:web", "stop:web"}));
  ASSERT_TRUE(eu.remove("web").ok());
  EXPECT_EQ(a.count("remove", "web"), 1u);
  EXPECT_EQ(c3.count("remove", "web"), 1u);
  // Nothing else reached the other docks: b saw only its own stop, and a
  // and c only eu's start and remove (and a ping of the whole set proves the
  // queues are empty: ps goes after everything sent before).
  EXPECT_TRUE(all.ps().ok());
  EXPECT_EQ(b.trace(), (std::vector<std::string>{"update:web", "stop:web", "ps:"}));
  EXPECT_EQ(a.trace(), (std::vector<std::string>{"update:web", "start:web", "remove:web", "ps:"}));
  EXPECT_EQ(c3.trace(), (std::vector<std::string>{"update:web", "start:web", "remove:web", "ps:"}));
  // The registry is not routed: eu's remove deleted the service.
  EXPECT_TRUE(all.get("web").error(kNotFound));
}

}  // namespace
}  // namespace hms::hubtest
