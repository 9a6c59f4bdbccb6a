// sync: placing a deployed service on docks. Eligible docks are those whose
// id or tags meet the service's tags, or the `default:true` docks for an
// untagged service; `limit` keeps current eligible docks and fills up at
// random. Chosen docks get sync then start (not when stopped), the others
// remove.
#include <gtest/gtest.h>

#include <algorithm>

#include "hub/harness.hpp"

namespace hms::hubtest {
namespace {

constexpr const char* kDeployed = R"("deployed":"2024-01-01T00:00:00.000Z")";

struct SyncTest : ::testing::Test {
  TempDir dir;
  RunningHub hub{hub_options(dir)};
  LoopThread loop;
  // Connected in this order; the hub keeps docks in connection order.
  TestDock a{loop, hub.port, "dock-a", DockOpts().tagged({"eu"})};
  TestDock b{loop, hub.port, "dock-b", DockOpts().tagged({"us"})};
  TestDock c{loop, hub.port, "dock-c", DockOpts().as_default()};
  TestDock d{loop, hub.port, "dock-d", DockOpts().tagged({"eu"})};
  TestClient cli{loop, hub.port};

  std::vector<TestDock*> docks() { return {&a, &b, &c, &d}; }
  void clear() {
    for (TestDock* x : docks()) x->clear_calls();
  }
  // The docks whose calls on `id` are exactly `want`.
  std::vector<std::string> docks_with(const std::string& id, const std::vector<std::string>& want) {
    std::vector<std::string> out;
    for (TestDock* x : docks())
      if (x->trace(id) == want) out.push_back(x->id());
    return out;
  }
  // The "docks" member the registry holds for `id`.
  std::string stored_docks(const std::string& id) {
    const std::string s = cli.get(id).text;
    const std::size_t p = s.find(R"("docks":[)");
    if (p == std::string::npos) return "<none>";
    return s.substr(p + 8, s.find(']', p) - p - 7);
  }
};

const std::vector<std::string> kPlaced = {"sync:web", "start:web"};
const std::vector<std::string> kSyncedOnly = {"sync:web"};
const std::vector<std::string> kRemoved = {"remove:web"};

TEST_F(SyncTest, TaggedServiceRunsOnEveryDockWithTheTag) {
  ASSERT_TRUE(cli.add("web", R"({"start":"run","tags":["eu"]})").ok());
  const Got g = cli.sync("web", std::string(R"({"id":"web","start":"run","tags":["eu"],)") + kDeployed + "}");
  ASSERT_TRUE(g.ok()) << g;
  EXPECT_EQ(docks_with("web", kPlaced), (std::vector<std::string>{"dock-a", "dock-d"}));
  EXPECT_EQ(docks_with("web", kRemoved), (std::vector<std::string>{"dock-b", "dock-c"}));
  EXPECT_EQ(stored_docks("web"), R"(["dock-a","dock-d"])");
  // Docks get the service itself, with the placement and the deploy stamp.
  const DockCall sync = a.calls().at(0);
  EXPECT_NE(sync.payload.find(R"("docks":["dock-a","dock-d"])"), std::string::npos) << sync.payload;
  EXPECT_NE(sync.payload.find(kDeployed), std::string::npos) << sync.payload;
  EXPECT_NE(sync.payload.find(R"("id":"web")"), std::string::npos) << sync.payload;
  // The registry keeps the service keys only (deployed is the deploy
  // step's to write).
  EXPECT_EQ(cli.get("web").text.find("deployed"), std::string::npos);
}

TEST_F(SyncTest, UntaggedServiceRunsOnDefaultDocks) {
  ASSERT_TRUE(cli.add("web", R"({"start":"run"})").ok());
  ASSERT_TRUE(cli.sync("web", std::string("{") + kDeployed + "}").ok());
  EXPECT_EQ(docks_with("web", kPlaced), std::vector<std::string>{"dock-c"});
  EXPECT_EQ(docks_with("web", kRemoved), (std::vector<std::string>{"dock-a", "dock-b", "dock-d"}));
  EXPECT_EQ(stored_docks("web"), R"(["dock-c"])");
}

TEST_F(SyncTest, ATagCanNameADockById) {
  ASSERT_TRUE(cli.add("web", "{}").ok());
  ASSERT_TRUE(cli.sync("web", std::string(R"({"tags":["dock-b","nowhere"],)") + kDeployed + "}").ok());
  EXPECT_EQ(docks_with("web", kPlaced), std::vector<std::string>{"dock-b"});
  EXPECT_EQ(docks_with("web", kRemoved), (std::vector<std::string>{"dock-a", "dock-c", "dock-d"}));
}

TEST_F(SyncTest, LimitIsHonouredAndCurrentDocksAreKept) {
  ASSERT_TRUE(cli.add("web", "{}").ok());
  const std::string svc = std::string(R"({"tags":["eu"],"limit":1,)") + kDeployed;
  ASSERT_TRUE(cli.sync("web", svc + "}").ok());
  const auto placed = docks_with("web", kPlaced);
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_TRUE(placed[0] == "dock-a" || placed[0] == "dock-d") << placed[0];
  EXPECT_EQ(docks_with("web", kRemoved).size(), 3u);
  EXPECT_EQ(stored_docks("web"), "[\"" + placed[0] + "\"]");

  // The current dock stays while it is eligible, however often we sync.
  for (int i = 0; i < 8; ++i) {
    clear();
    ASSERT_TRUE(cli.sync("web", svc + R"(,"docks":[")" + placed[0] + "\"]}").ok());
    EXPECT_EQ(docks_with("web", kPlaced), placed);
  }
  // A current dock that is no longer eligible is dropped and replaced.
  clear();
  ASSERT_TRUE(cli.sync("web", svc + R"(,"docks":["dock-b"]})").ok());
  const auto again = docks_with("web", kPlaced);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0], "dock-b");
  EXPECT_EQ(b.trace("web"), kRemoved);

  // limit above the eligible count: every eligible dock, no more.
  clear();
  ASSERT_TRUE(cli.sync("web", std::string(R"({"tags":["eu","us"],"limit":5,)") + kDeployed + "}").ok());
  auto all = docks_with("web", kPlaced);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"dock-a", "dock-b", "dock-d"}));
  EXPECT_EQ(c.trace("web"), kRemoved);

  // limit 0: nothing runs it.
  clear();
  ASSERT_TRUE(cli.sync("web", std::string(R"({"tags":["eu"],"limit":0,)") + kDeployed + "}").ok());
  EXPECT_EQ(docks_with("web", kRemoved).size(), 4u);
  EXPECT_EQ(stored_docks("web"), "[]");
}

TEST_F(SyncTest, StoppedServiceIsSyncedButNotStarted) {
  ASSERT_TRUE(cli.add("web", "{}").ok());
  ASSERT_TRUE(cli.sync("web", std::string(R"({"tags":["eu"],"stopped":true,)") + kDeployed + "}").ok());
  EXPECT_EQ(docks_with("web", kSyncedOnly), (std::vector<std::string>{"dock-a", "dock-d"}));
  EXPECT_EQ(docks_with("web", kRemoved), (std::vector<std::string>{"dock-b", "dock-c"}));
}

TEST_F(SyncTest, NeverDeployedServiceIsNotPlaced) {
  ASSERT_TRUE(cli.add("web", R"({"start":"run","tags":["eu"]})").ok());
  const std::string before = cli.get("web").text;
  // null: the stored service, which was never deployed.
  EXPECT_TRUE(cli.sync("web", "null").ok());
  EXPECT_TRUE(cli.sync("web", R"({"start":"other","tags":["us"]})").ok());
  EXPECT_EQ(cli.get("web").text, before) << "nothing saved either";
  EXPECT_TRUE(cli.ps().ok());  // every dock has answered all it was sent
  for (TestDock* x : docks()) EXPECT_EQ(x->trace("web"), std::vector<std::string>{}) << x->id();
  EXPECT_TRUE(cli.sync("ghost", "null").error("Service not found"));
}

TEST_F(SyncTest, DockErrorIsReturnedAndStopsThePlacement) {
  ASSERT_TRUE(cli.add("web", "{}").ok());
  a.fail("sync", "web", "disk full");
  EXPECT_TRUE(cli.sync("web", std::string(R"({"tags":["eu"],)") + kDeployed + "}").error("disk full"));
  EXPECT_TRUE(cli.ps().ok());
  // No start anywhere, no remove to the others: the reference stops at the
  // first error.
  EXPECT_EQ(d.trace("web"), kSyncedOnly);
  EXPECT_EQ(b.trace("web"), std::vector<std::string>{});
  EXPECT_EQ(c.trace("web"), std::vector<std::string>{});
}

}  // namespace
}  // namespace hms::hubtest
