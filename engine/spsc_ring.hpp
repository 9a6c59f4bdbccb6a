// Internal: a bounded single-producer single-consumer ring. Not installed.
//
// One thread pushes, one thread pops; no locks, no allocation after
// construction. The producer publishes an item with a release store of the
// tail; the consumer takes it after an acquire load of the tail, and frees
// the slot with a release store of the head, which the producer reads with
// acquire before reusing it. Each side caches the other's index and reloads
// it only when the ring looks full (producer) or empty (consumer), so a
// busy ring costs one shared cache line transfer per batch, not per item.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <stdexcept>
#include <utility>

namespace hms {

template <class T>
class SpscRing {
 public:
  // `capacity` is rounded up to a power of two.
  explicit SpscRing(std::size_t capacity) {
    std::size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    slots_ = std::make_unique<Slot[]>(cap);
  }
  ~SpscRing() {
    // Items never popped are destroyed (their BufRefs dropped).
    drain([](T&&) {});
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // Producer thread. False (and `v` untouched) when the ring is full.
  bool try_push(T& v) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ > mask_) {
      // acquire: pairs with the consumer's release of the head, so the slot
      // it freed is no longer read.
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ > mask_) return false;
    }
    new (slots_[tail & mask_].bytes) T(std::move(v));
    // release: the item is complete before the consumer can see the tail.
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer thread. Pops up to `max` items into fn(T&&); returns how many.
  template <class F>
  std::size_t drain(F&& fn, std::size_t max = static_cast<std::size_t>(-1)) {
    std::size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      // acquire: pairs with the producer's release of the tail.
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return 0;
    }
    std::size_t n = 0;
    while (head != tail_cache_ && n < max) {
      T* item = std::launder(reinterpret_cast<T*>(slots_[head & mask_].bytes));
      fn(std::move(*item));
      item->~T();
      ++head;
      ++n;
    }
    // release: our reads of the slots happen before the producer reuses them.
    head_.store(head, std::memory_order_release);
    return n;
  }

  // Any thread: whether items are waiting (exact on the consumer thread when
  // used after a seq_cst fence, a hint elsewhere).
  bool empty() const noexcept {
    return head_.load(std::memory_order_relaxed) == tail_.load(std::memory_order_acquire);
  }

 private:
  struct Slot {
    alignas(T) unsigned char bytes[sizeof(T)];
  };
  // Consumer-owned line.
  alignas(64) std::atomic<std::size_t> head_{0};
  std::size_t tail_cache_ = 0;
  // Producer-owned line.
  alignas(64) std::atomic<std::size_t> tail_{0};
  std::size_t head_cache_ = 0;
  alignas(64) std::size_t mask_ = 0;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace hms
