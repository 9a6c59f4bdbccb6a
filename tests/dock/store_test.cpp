// The dock's store: writes are visible at once, on disk after their
// callback, batched per flush (one fsync for many writes), and survive a
// reopen; unknown members are kept.
#include <gtest/gtest.h>

#include "dock/harness.hpp"
#include "dock/store.hpp"
#include "engine/loop.hpp"

namespace hms::dock {
namespace {

using docktest::TempDir;
using hms::test::LoopThread;

Service service(const std::string& id, const std::string& start) {
  Service s;
  s.id = id;
  s.start = start;
  s.cwd = "builds/" + id + "@t";
  s.extra.push_back(RawMember{"custom", "[1,2]"});
  return s;
}

TEST(StoreTest, GroupCommitAndReopen) {
  TempDir dir;
  const std::string db = dir.file("dock.db");
  {
    LoopThread loop;
    auto store = std::make_unique<Store>(db, loop.reactor());
    std::promise<int> acked;
    loop.call([&] {
      auto n = std::make_shared<int>(0);
      for (int i = 0; i < 500; ++i) {
        // Appended, not "s" + to_string(i): GCC 12 at -O3 flags that
        // (a -Wrestrict false positive).
        std::string id = "s", start = "run ";
        id += std::to_string(i);
        start += std::to_string(i);
        store->put(service(id, start), [n, &acked](bool ok, const std::string&) {
          if (ok && ++*n == 500) acked.set_value(*n);
        });
      }
      // Readable before they are on disk.
      EXPECT_EQ(store->size(), 500u);
      EXPECT_EQ(*store->get("s7")->start, "run 7");
      store->del("s1");
      store->put(service("s2", "changed"));
      store->flush();
    });
    auto f = acked.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    // 500 writes, at most a couple of transactions.
    EXPECT_LE(loop.call([&] { return store->commits(); }), 2u);
    loop.stop();
    store->drain();
    store.reset();
  }
  LoopThread loop;
  auto store = std::make_unique<Store>(db, loop.reactor());
  loop.call([&] {
    EXPECT_EQ(store->size(), 499u);
    EXPECT_FALSE(store->has("s1"));
    EXPECT_EQ(*store->get("s2")->start, "changed");
    ASSERT_TRUE(store->get("s3"));
    EXPECT_EQ(store->get("s3")->extra, (std::vector<RawMember>{{"custom", "[1,2]"}}));
    const auto all = store->list();
    EXPECT_EQ(all.front()->id, "s0");
    EXPECT_EQ(all[1]->id, "s2");  // first-written order, as the reference's keys()
  });
  loop.stop();
  store->drain();
}

TEST(StoreTest, BadPathThrows) {
  LoopThread loop;
  EXPECT_THROW(Store("/nonexistent-dir/x/dock.db", loop.reactor()), std::runtime_error);
}

}  // namespace
}  // namespace hms::dock
