// Blocks and the receive-buffer pool, on their own (the engine's internal
// classes; the end-to-end pressure tests are in buffer_pressure_test.cpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "block_pool.hpp"
#include "hms/control.hpp"
#include "reactor_impl.hpp"

using namespace hms;

namespace {

// A reactor's state without a running loop: its pool and backend as a
// Reactor would have them.
struct Pool {
  explicit Pool(std::uint32_t n = 8, double low = 0.25) {
    ReactorOptions o;
    o.recv_buffers = n;
    o.recv_buffer_size = 4096;
    o.low_water = low;
    loop = std::make_unique<ReactorImpl>(o);
  }
  BlockPool& pool() { return loop->pool; }
  // What a receive does: the next free block, with one reference.
  BufRef fill(std::uint16_t bid) {
    PoolBlock& b = pool().block(bid);
    b.set_refs(1);
    pool().taken();
    return BufRef::adopt(&b);
  }
  std::unique_ptr<ReactorImpl> loop;
};

}  // namespace

TEST(Block, HeapBlockHasItsCapacityAndPadding) {
  BufRef b = BufRef::adopt(Block::heap(100));
  EXPECT_EQ(b->capacity(), 100u);
  EXPECT_FALSE(b->is_pooled());
  EXPECT_EQ(b->refs(), 1u);
  // The padding is readable and writable memory of the block.
  for (std::size_t i = 0; i < 100 + kBlockPadding; ++i) b->data()[i] = static_cast<std::uint8_t>(i);
  BufRef c = b;
  EXPECT_EQ(b->refs(), 2u);
}

TEST(Block, PaddingCoversSimdjson) { EXPECT_GE(kBlockPadding, kJsonPadding); }

TEST(Block, CapacityDoesNotWrapAt32Bits) {
  // 4 GiB + 1: a 32-bit capacity would say 1. malloc'd, never touched.
  const std::size_t big = (std::size_t{1} << 32) + 1;
  Block* b = Block::try_heap(big);
  if (!b) GTEST_SKIP() << "this machine refused a 4 GiB allocation (overcommit off), nothing to check";
  EXPECT_EQ(b->capacity(), big);
  BufRef::adopt(b).reset();
}

TEST(Block, AnAbsurdSizeIsRefusedNotWrapped) {
  EXPECT_EQ(Block::try_heap(~std::size_t{0}), nullptr);
  EXPECT_EQ(Block::try_heap(~std::size_t{0} - kBlockPadding + 1), nullptr);
  EXPECT_THROW(Block::heap(~std::size_t{0}), std::bad_alloc);
}

TEST(BlockPool, StartsWithEveryBufferFreeAndCountsTakenOnes) {
  Pool p(8);
  EXPECT_EQ(p.pool().free_count(), 8u);
  EXPECT_FALSE(p.pool().low());
  {
    BufRef a = p.fill(0);
    BufRef b = p.fill(1);
    EXPECT_EQ(p.pool().free_count(), 6u);
    EXPECT_TRUE(a->is_pooled());
    EXPECT_EQ(a->pool(), &p.pool());
    EXPECT_EQ(a->capacity(), 4096u);
  }
  // Dropped on a thread that is not the pool's loop: they wait on the
  // returned list until the owner drains it.
  EXPECT_TRUE(p.pool().has_returned());
  EXPECT_EQ(p.pool().free_count(), 6u);
  p.pool().drain_returned();
  EXPECT_FALSE(p.pool().has_returned());
  EXPECT_EQ(p.pool().free_count(), 8u);
}

TEST(BlockPool, IsLowBelowItsMarkAndPinningHurtsOnlyThen) {
  Pool p(8, 0.25);  // low below 2 free
  std::vector<BufRef> held;
  for (std::uint16_t i = 0; i < 6; ++i) held.push_back(p.fill(i));
  EXPECT_FALSE(p.pool().low());
  EXPECT_FALSE(BlockPool::pinning_hurts(*held[0].get()));
  held.push_back(p.fill(6));
  EXPECT_TRUE(p.pool().low());
  EXPECT_TRUE(BlockPool::pinning_hurts(*held[0].get()));
  BufRef heap = BufRef::adopt(Block::heap(8));
  EXPECT_FALSE(BlockPool::pinning_hurts(*heap.get())) << "heap blocks never pin a pool";
  held.clear();
  p.pool().drain_returned();
  EXPECT_FALSE(p.pool().low());
}

TEST(BlockPool, ReferencesDroppedOnManyThreadsAllComeBack) {
  Pool p(64);
  std::vector<BufRef> held;
  for (std::uint16_t i = 0; i < 64; ++i) held.push_back(p.fill(i));
  EXPECT_EQ(p.pool().free_count(), 0u);
  // Each block shared with a few threads that drop their copies at once.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    std::vector<BufRef> mine(held.begin(), held.end());
    threads.emplace_back([mine = std::move(mine)]() mutable { mine.clear(); });
  }
  held.clear();
  for (auto& t : threads) t.join();
  p.pool().drain_returned();
  EXPECT_EQ(p.pool().free_count(), 64u) << "every block back exactly once";
}
