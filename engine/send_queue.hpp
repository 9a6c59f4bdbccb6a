// Internal: a connection's output queue. Not installed.
//
// A ring of segments, each a view of bytes in a refcounted block: generated
// frames in the connection's scratch block, relayed frames in the receive
// buffer (or heap block) they arrived in. The queue counts its bytes and the
// segments that pin a receive buffer (what must be copied out when that
// buffer's pool runs low). Pure bookkeeping: limits, flushing and the
// kernel's view of the segments are the connection's business.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "hms/buffer.hpp"

namespace hms {

struct Segment {
  BufRef ref;
  const std::uint8_t* data = nullptr;
  std::size_t len = 0;
};

class SendQueue {
 public:
  std::size_t count() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  std::size_t bytes() const noexcept { return bytes_; }
  // Segments that reference a receive buffer (of any reactor's pool).
  std::size_t pooled() const noexcept { return pooled_; }

  // The i-th queued segment (0 is the oldest). cap_ is a power of two: a
  // mask, not a divide per access.
  Segment& at(std::size_t i) noexcept { return seg_[(head_ + i) & (cap_ - 1)]; }
  Segment& back() noexcept { return at(count_ - 1); }

  // Appends a segment; returns true when it pins a receive buffer that was
  // not pinned by this queue before (the first pooled segment).
  bool push(BufRef ref, const std::uint8_t* p, std::size_t n) {
    if (count_ == cap_) grow();
    Segment& s = seg_[(head_ + count_) & (cap_ - 1)];
    const bool pooled = ref && ref->is_pooled();
    s.ref = std::move(ref);
    s.data = p;
    s.len = n;
    ++count_;
    bytes_ += n;
    return pooled && pooled_++ == 0;
  }
  // The newest segment grew by n bytes (contiguous output).
  void extend_back(std::size_t n) noexcept {
    back().len += n;
    bytes_ += n;
  }
  // The kernel took `sent` bytes from the front.
  void consume(std::size_t sent) noexcept {
    bytes_ -= sent;
    while (sent && count_) {
      Segment& s = at(0);
      if (sent >= s.len) {
        sent -= s.len;
        pop_front();
      } else {
        s.data += sent;
        s.len -= sent;
        sent = 0;
      }
    }
  }
  // Drops the newest segment (not handed to the kernel).
  void drop_back() noexcept {
    Segment& s = back();
    bytes_ -= s.len;
    release(s);
    --count_;
  }
  void clear() noexcept {
    while (count_) pop_front();
    bytes_ = 0;
  }
  // Replaces a segment's storage with a private copy of its bytes (the
  // receive buffer it pinned goes back to its pool when its last reference
  // drops). Throws std::bad_alloc.
  void copy_out(Segment& s) {
    BufRef copy = BufRef::adopt(Block::heap(s.len));
    std::copy(s.data, s.data + s.len, copy->data());
    release(s);
    s.ref = std::move(copy);
    s.data = s.ref->data();
  }

  // ---- the scratch block generated frames are written into
  BufRef scratch;
  std::size_t scratch_used = 0;

 private:
  void release(Segment& s) noexcept {
    if (s.ref && s.ref->is_pooled()) --pooled_;
    s.ref.reset();
  }
  void pop_front() noexcept {
    release(seg_[head_]);
    head_ = (head_ + 1) & (cap_ - 1);
    --count_;
  }
  void grow() {
    const std::size_t cap = cap_ ? cap_ * 2 : 16;
    auto n = std::make_unique<Segment[]>(cap);
    for (std::size_t i = 0; i < count_; ++i) n[i] = std::move(at(i));
    seg_ = std::move(n);
    cap_ = cap;
    head_ = 0;
  }

  std::unique_ptr<Segment[]> seg_;
  std::size_t cap_ = 0, head_ = 0, count_ = 0;
  std::size_t bytes_ = 0;
  std::size_t pooled_ = 0;
};

}  // namespace hms
