// sync's choice of docks (apps/hub/placement.hpp), on its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "placement.hpp"

using namespace hms;
using namespace hms::hub;

namespace {

struct Dock {
  std::string id;
  std::vector<std::string> tags;
  bool is_default = false;
};

std::vector<std::string> choose(const Service& s, const std::vector<Dock>& docks, unsigned seed = 1) {
  std::vector<DockCandidate> c;
  for (const auto& d : docks) c.push_back(DockCandidate{d.id, &d.tags, d.is_default});
  std::mt19937 rng(seed);
  return choose_docks(s, c, rng);
}

Service with_tags(std::vector<std::string> tags) {
  Service s;
  s.id = "web";
  s.tags = std::move(tags);
  return s;
}

using V = std::vector<std::string>;

const std::vector<Dock> kDocks = {
    {"a", {"eu"}, true}, {"b", {"us"}, false}, {"c", {"eu", "gpu"}, true}, {"d", {}, false}};

}  // namespace

TEST(Placement, WithoutTagsOnlyDefaultDocksInDockOrder) {
  Service s;
  s.id = "web";
  EXPECT_EQ(choose(s, kDocks), (V{"a", "c"}));
  s.tags = V{};  // an empty list is no tags
  EXPECT_EQ(choose(s, kDocks), (V{"a", "c"}));
}

TEST(Placement, TagsMatchDockTagsOrDockIds) {
  EXPECT_EQ(choose(with_tags({"eu"}), kDocks), (V{"a", "c"}));
  EXPECT_EQ(choose(with_tags({"gpu"}), kDocks), (V{"c"}));
  EXPECT_EQ(choose(with_tags({"d"}), kDocks), (V{"d"})) << "a dock id works as a tag";
  EXPECT_EQ(choose(with_tags({"us", "d"}), kDocks), (V{"b", "d"}));
  EXPECT_EQ(choose(with_tags({"mars"}), kDocks), V{});
}

TEST(Placement, NoDocksNoPlacement) { EXPECT_EQ(choose(with_tags({"eu"}), {}), V{}); }

TEST(Placement, LimitKeepsCurrentEligibleDocksFirst) {
  Service s = with_tags({"eu", "us"});
  s.limit = 2;
  s.docks = V{"c", "a"};
  EXPECT_EQ(choose(s, kDocks), (V{"c", "a"}));
  s.limit = 1;
  EXPECT_EQ(choose(s, kDocks), (V{"c"})) << "more current docks than the limit: the first ones stay";
}

TEST(Placement, LimitDropsDocksNoLongerEligibleAndFillsAtRandom) {
  Service s = with_tags({"eu", "us"});  // a, b, c eligible
  s.limit = 2;
  s.docks = V{"d", "b"};  // d is not eligible any more
  std::set<std::string> seconds;
  for (unsigned seed = 0; seed < 64; ++seed) {
    const V got = choose(s, kDocks, seed);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], "b");
    EXPECT_NE(got[1], "b") << "the fill never repeats a chosen dock";
    EXPECT_TRUE(got[1] == "a" || got[1] == "c") << got[1];
    seconds.insert(got[1]);
  }
  EXPECT_EQ(seconds.size(), 2u) << "the fill is random among the eligible docks";
}

TEST(Placement, LimitAboveEligibleTakesThemAll) {
  Service s = with_tags({"eu"});
  s.limit = 10;
  V got = choose(s, kDocks);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (V{"a", "c"}));
}

TEST(Placement, ZeroAndNegativeLimitsPlaceNothing) {
  Service s = with_tags({"eu"});
  s.limit = 0;
  EXPECT_EQ(choose(s, kDocks), V{});
  s.limit = -3;
  s.docks = V{"a"};
  EXPECT_EQ(choose(s, kDocks), V{});
}

TEST(Placement, ANonNumericLimitIsNoLimit) {
  Service s = with_tags({"eu"});
  s.limit_raw = "\"2\"";  // the reference tests typeof limit === 'number'
  EXPECT_EQ(choose(s, kDocks), (V{"a", "c"}));
}
