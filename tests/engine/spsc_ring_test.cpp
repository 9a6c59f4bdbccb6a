// The single-producer single-consumer ring under the shard mesh.
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "spsc_ring.hpp"

using hms::SpscRing;

TEST(SpscRing, CapacityRoundsUpToAPowerOfTwo) {
  EXPECT_EQ(SpscRing<int>(5).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(8).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(1).capacity(), 2u);
}

TEST(SpscRing, KeepsOrderAcrossWrapAndRefusesWhenFull) {
  SpscRing<int> ring(4);
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 10; ++round) {
    int v;
    for (int i = 0; i < 4; ++i) {
      v = next_in;
      ASSERT_TRUE(ring.try_push(v)) << "round " << round << " item " << i;
      ++next_in;
    }
    v = 999;
    EXPECT_FALSE(ring.try_push(v)) << "a full ring must refuse";
    EXPECT_EQ(v, 999) << "a refused item stays with the caller";
    EXPECT_FALSE(ring.empty());
    const std::size_t got = ring.drain([&](int&& x) { EXPECT_EQ(x, next_out++); }, 3);
    EXPECT_EQ(got, 3u);
    EXPECT_EQ(ring.drain([&](int&& x) { EXPECT_EQ(x, next_out++); }), 1u);
    EXPECT_TRUE(ring.empty());
  }
}

TEST(SpscRing, DestroysWhatWasNeverPopped) {
  auto token = std::make_shared<int>(7);
  {
    SpscRing<std::shared_ptr<int>> ring(4);
    for (int i = 0; i < 3; ++i) {
      auto copy = token;
      ASSERT_TRUE(ring.try_push(copy));
    }
    EXPECT_EQ(token.use_count(), 4);
  }
  EXPECT_EQ(token.use_count(), 1) << "the ring's destructor must drop its items";
}

TEST(SpscRing, TwoThreadsSeeEveryItemOnceInOrder) {
  constexpr std::uint64_t kItems = 2'000'000;
  SpscRing<std::uint64_t> ring(1024);
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kItems;) {
      std::uint64_t v = i;
      if (ring.try_push(v)) ++i;
      else std::this_thread::yield();
    }
  });
  std::uint64_t expect = 0;
  bool in_order = true;
  while (expect < kItems) {
    const std::size_t n = ring.drain([&](std::uint64_t&& v) {
      if (v != expect) in_order = false;
      ++expect;
    });
    if (n == 0) std::this_thread::yield();
  }
  producer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(expect, kItems);
  EXPECT_TRUE(ring.empty());
}
