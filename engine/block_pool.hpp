// Internal: a reactor's receive buffers. Not installed.
//
// One mmap'd slab of `count` buffers of `size` bytes, each followed by
// kBlockPadding bytes (the simdjson padding contract, checked below). A
// buffer is free (the kernel or the epoll reader may fill it) or taken (a
// BufRef holds it). When its last reference drops:
//   - on the owner's thread, it is refilled at once (the backend puts it
//     back in the kernel's provided-buffer ring, or on the epoll free list);
//   - on a reactor thread of the same ShardMesh, it goes into that thread's
//     single-producer return lane to the owner;
//   - on any other thread, onto a lock-free stack;
// and the owner is woken only if it sleeps (Reactor::wake()).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "hms/buffer.hpp"
#include "hms/control.hpp"
#include "spsc_ring.hpp"

namespace hms {

static_assert(kBlockPadding >= kJsonPadding,
              "receive and heap blocks must carry simdjson's padding so JSON parses in place");

class ReactorImpl;

// A receive buffer: a Block that knows its slot and can sit on a list.
class PoolBlock final : public Block {
 public:
  PoolBlock() = default;
  void init(std::uint8_t* bytes, std::size_t cap, BlockPool* owner, std::uint16_t slot) noexcept {
    data_ = bytes;
    capacity_ = cap;
    pool_ = owner;
    bid = slot;
  }
  // A receive filled it: one reference, held by the BufRef made from it.
  void set_refs(std::uint32_t n) noexcept { refs_.store(n, std::memory_order_relaxed); }

  std::uint16_t bid = 0;       // slot, as the kernel names it
  PoolBlock* next = nullptr;   // epoll free list / returned stack
};

// Where a block that may be filled again goes: the backend.
class BufferSink {
 public:
  virtual void refill(PoolBlock& b) noexcept = 0;

 protected:
  ~BufferSink() = default;
};

// Blocks handed back by one reactor thread to another's pool.
using ReturnLane = SpscRing<PoolBlock*>;

class BlockPool {
 public:
  BlockPool(ReactorImpl* owner, std::uint32_t count, std::uint32_t size);
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  std::uint32_t count() const noexcept { return count_; }
  std::uint32_t size() const noexcept { return size_; }
  PoolBlock& block(std::uint16_t bid) noexcept { return blocks_[bid]; }
  ReactorImpl* owner() const noexcept { return owner_; }

  // Owner thread, before any receive: where freed blocks go.
  void set_sink(BufferSink* sink) noexcept { sink_ = sink; }
  // Owner thread: hands every block to the sink (start-up).
  void fill_sink() noexcept;

  // Block::recycle, on any thread.
  void recycle(PoolBlock* b) noexcept;
  // Owner thread: blocks returned by other threads go back now.
  void drain_returned() noexcept;
  // Whether another thread has returned blocks not drained yet (any thread).
  bool has_returned() const noexcept;
  // Owner thread: a buffer left the pool (a receive filled it).
  void taken() noexcept { add_free(-1); }

  // Buffers the kernel (or the epoll free list) can fill now.
  std::uint32_t free_count() const noexcept { return nfree_.load(std::memory_order_relaxed); }
  // Fewer free buffers than the low mark: frames must not pin more of them.
  bool low() const noexcept { return free_count() < low_mark_; }
  void set_low_mark(std::uint32_t n) noexcept { low_mark_ = n; }
  // Whether `b` is a receive buffer of a pool that is running low. Any
  // thread: a frame of one reactor may be queued on another's connection.
  static bool pinning_hurts(const Block& b) noexcept { return b.pool() && b.pool()->low(); }

  // Return lanes into this pool, one per producing reactor (set by a
  // ShardMesh before the reactors run; read by the owner when draining).
  void add_inbound_lane(ReturnLane* lane) { inbound_.push_back(lane); }
  void clear_inbound_lanes() noexcept { inbound_.clear(); }

 private:
  void give_back(PoolBlock* b) noexcept;  // owner thread
  // Only the owner thread writes the count, so a load and a store are
  // enough (no read-modify-write). Other threads read it relaxed: it is a
  // hint for whether to copy a frame, nothing is published through it.
  void add_free(int d) noexcept {
    nfree_.store(static_cast<std::uint32_t>(static_cast<int>(nfree_.load(std::memory_order_relaxed)) + d),
                 std::memory_order_relaxed);
  }

  std::atomic<std::uint32_t> nfree_{0};
  std::uint32_t low_mark_ = 1;
  ReactorImpl* owner_;
  BufferSink* sink_ = nullptr;
  std::uint32_t count_, size_;
  std::uint8_t* mem_ = nullptr;
  std::unique_ptr<PoolBlock[]> blocks_;
  // Blocks whose last reference dropped on a thread with no lane: a
  // Treiber stack. Producers push with release; the owner takes the whole
  // stack with exchange(acquire), pairing with those releases.
  std::atomic<PoolBlock*> returned_{nullptr};
  std::vector<ReturnLane*> inbound_;
};

}  // namespace hms
