// hms/buffer.hpp: refcounted byte blocks.
//
// Every byte the engine receives or queues for sending lives in a Block. A
// Block is either one of a reactor's receive buffers (registered with the
// kernel as a provided-buffer ring under io_uring) or a heap block (assembled
// frames, generated frames, copies). A BufRef is an owning handle; copying it
// adds a reference. When the last reference goes, a receive buffer goes back
// to its reactor's pool and a heap block is freed.
//
// ### Threads
// References may be taken and dropped on any thread (the count is atomic),
// which is how one received log frame is queued on connections of several
// reactors. A receive buffer whose last reference drops on a foreign thread
// is handed back to its reactor (through a single-producer ring when both
// threads are reactors of one ShardMesh, else a lock-free list), so the
// Reactor that received it must outlive every reference to it.
//
// ### Padding
// Every block has kBlockPadding readable bytes past `capacity`, so JSON that
// ends at the end of a block can be parsed in place (simdjson reads up to 64
// bytes ahead; hms/control.hpp's kJsonPadding, checked at compile time in
// the engine).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace hms {

inline constexpr std::size_t kBlockPadding = 64;

class BlockPool;

class Block {
 public:
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;

  std::uint8_t* data() const noexcept { return data_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool is_pooled() const noexcept { return pool_ != nullptr; }
  // The pool the block belongs to (a receive buffer), or nullptr.
  BlockPool* pool() const noexcept { return pool_; }

  // A heap block of `capacity` bytes (+ padding), with one reference.
  // heap() throws std::bad_alloc when memory is short; try_heap() returns
  // nullptr instead (what code that must survive a hostile size uses).
  static Block* heap(std::size_t capacity);
  static Block* try_heap(std::size_t capacity) noexcept;

  void ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void unref() noexcept {
    // acq_rel: the thread that frees must see every write made through the
    // other references (pairs with the release half of the other unrefs).
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) recycle();
  }
  std::uint32_t refs() const noexcept { return refs_.load(std::memory_order_relaxed); }

 protected:
  Block() = default;
  ~Block() = default;
  void recycle() noexcept;

  std::atomic<std::uint32_t> refs_{0};
  std::size_t capacity_ = 0;  // 64-bit: a capacity can never wrap
  std::uint8_t* data_ = nullptr;
  BlockPool* pool_ = nullptr;  // receive buffers only
};

// Owning handle to a Block (intrusive refcount).
class BufRef {
 public:
  BufRef() = default;
  // Adopts one existing reference (does not add one).
  static BufRef adopt(Block* b) noexcept { BufRef r; r.b_ = b; return r; }
  // Adds a reference.
  static BufRef share(Block* b) noexcept { if (b) b->ref(); return adopt(b); }
  BufRef(const BufRef& o) noexcept : b_(o.b_) { if (b_) b_->ref(); }
  BufRef(BufRef&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  BufRef& operator=(BufRef o) noexcept { std::swap(b_, o.b_); return *this; }
  ~BufRef() { if (b_) b_->unref(); }

  Block* get() const noexcept { return b_; }
  Block* operator->() const noexcept { return b_; }
  explicit operator bool() const noexcept { return b_ != nullptr; }
  void reset() noexcept { if (b_) { b_->unref(); b_ = nullptr; } }
  // Gives up the reference without dropping it (see adopt()).
  Block* release() noexcept { return std::exchange(b_, nullptr); }

 private:
  Block* b_ = nullptr;
};

}  // namespace hms
