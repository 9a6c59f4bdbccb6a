// Blocks: heap blocks and a reactor's pool of receive buffers.
#include "block_pool.hpp"

#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>
#include <system_error>

#include "reactor_impl.hpp"

namespace hms {

namespace {

constexpr std::size_t kBigBlock = std::size_t{1} << 20;
std::atomic<std::size_t> g_big_freed{0};  // relaxed: a hint for trim_memory

// A heap block: the Block header, then the bytes and their padding, in one
// allocation.
class HeapBlock final : public Block {
 public:
  static Block* make(std::size_t capacity) noexcept {
    if (capacity > (std::size_t{1} << 48)) return nullptr;  // no size_t wrap below
    void* mem = std::malloc(sizeof(HeapBlock) + capacity + kBlockPadding);
    if (!mem) return nullptr;
    auto* b = new (mem) HeapBlock();
    b->data_ = reinterpret_cast<std::uint8_t*>(b + 1);
    b->capacity_ = capacity;
    b->refs_.store(1, std::memory_order_relaxed);
    return b;
  }
  void destroy() noexcept {
    if (capacity_ >= kBigBlock) g_big_freed.fetch_add(capacity_, std::memory_order_relaxed);
    this->~HeapBlock();
    std::free(this);
  }
};

}  // namespace

std::size_t big_blocks_freed() noexcept { return g_big_freed.load(std::memory_order_relaxed); }
void reset_big_blocks_freed() noexcept { g_big_freed.store(0, std::memory_order_relaxed); }

Block* Block::try_heap(std::size_t capacity) noexcept { return HeapBlock::make(capacity); }

Block* Block::heap(std::size_t capacity) {
  Block* b = HeapBlock::make(capacity);
  if (!b) throw std::bad_alloc();
  return b;
}

void Block::recycle() noexcept {
  if (pool_) pool_->recycle(static_cast<PoolBlock*>(this));
  else static_cast<HeapBlock*>(this)->destroy();
}

// ---------------------------------------------------------------- pool

BlockPool::BlockPool(ReactorImpl* owner, std::uint32_t count, std::uint32_t size)
    : owner_(owner), count_(count), size_(size) {
  const std::size_t stride = std::size_t{size} + kBlockPadding;
  void* m = mmap(nullptr, stride * count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap receive buffers");
  mem_ = static_cast<std::uint8_t*>(m);
  blocks_ = std::make_unique<PoolBlock[]>(count);
  for (std::uint32_t i = 0; i < count; ++i)
    blocks_[i].init(mem_ + stride * i, size, this, static_cast<std::uint16_t>(i));
}

BlockPool::~BlockPool() {
  if (mem_) munmap(mem_, (std::size_t{size_} + kBlockPadding) * count_);
}

void BlockPool::fill_sink() noexcept {
  for (std::uint32_t i = 0; i < count_; ++i) give_back(&blocks_[i]);
}

void BlockPool::recycle(PoolBlock* b) noexcept {
  ReactorImpl* here = ReactorImpl::current();
  if (here == owner_) {
    give_back(b);
    return;
  }
  // Another reactor of our mesh: its lane to us, announced at the end of
  // its pass (one wake for the whole batch).
  if (here) {
    if (ReturnLane* lane = here->lane_to(this); lane && lane->try_push(b)) {
      here->wake_later(owner_);
      return;
    }
  }
  // Any other thread: the shared stack, and a wake if the owner sleeps.
  PoolBlock* head = returned_.load(std::memory_order_relaxed);
  do {
    b->next = head;
  } while (!returned_.compare_exchange_weak(head, b, std::memory_order_release,
                                            std::memory_order_relaxed));
  if (head == nullptr) owner_->wake();
}

bool BlockPool::has_returned() const noexcept {
  if (returned_.load(std::memory_order_relaxed) != nullptr) return true;
  for (const ReturnLane* lane : inbound_)
    if (!lane->empty()) return true;
  return false;
}

void BlockPool::drain_returned() noexcept {
  PoolBlock* b = returned_.exchange(nullptr, std::memory_order_acquire);
  while (b) {
    PoolBlock* next = b->next;
    give_back(b);
    b = next;
  }
  for (ReturnLane* lane : inbound_) lane->drain([this](PoolBlock* blk) { give_back(blk); });
}

void BlockPool::give_back(PoolBlock* b) noexcept {
  add_free(1);
  sink_->refill(*b);
}

}  // namespace hms
