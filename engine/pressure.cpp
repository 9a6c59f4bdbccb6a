// Receive-buffer pressure (DESIGN.md section 5, the trap): frames relayed by
// reference pin the receive buffers they live in. When a pool runs low, the
// frames queued anywhere that pin its buffers are moved out (one counted
// copy each), on the threads of the reactors whose queues hold them.
#include <atomic>

#include "hms/log.hpp"
#include "reactor_impl.hpp"

namespace hms {

namespace {

// How many pools are below their low mark right now. Relaxed: it only tells
// a reactor to look for pinned frames of a low pool on its loop passes; the
// wake-up from wake_others() makes a sleeping reactor look promptly, and
// the per-pool count decides what is copied.
std::atomic<int> g_low_pools{0};

}  // namespace

void note_pool_low(bool low) noexcept { g_low_pools.fetch_add(low ? 1 : -1, std::memory_order_relaxed); }

void ReactorImpl::note_pinner(Conn& c) {
  if (c.has(kPinner)) return;
  c.set(kPinner);
  pinners_.push_back(&c);
}

void ReactorImpl::check_pool() {
  const bool low = pool.low();
  if (low != pool_was_low_) {
    pool_was_low_ = low;
    note_pool_low(low);
    // Other reactors may hold our buffers in their queues; only they can
    // move them out.
    if (low) wake_others();
  }
  if (pinners_.empty() || (!low && g_low_pools.load(std::memory_order_relaxed) == 0)) return;
  // Move pinned frames out of every pool that is low (ours or another's),
  // and forget connections that no longer pin anything.
  std::size_t keep = 0;
  for (Conn* c : pinners_) {
    if (c->out.pooled() && !c->has(kFreed)) unpin(*c);
    if (c->out.pooled() && !c->has(kFreed)) pinners_[keep++] = c;
    else c->clear(kPinner);
  }
  pinners_.resize(keep);
}

void ReactorImpl::unpin(Conn& c) {
  // The segments of a send the kernel holds are its own until it completes,
  // and a reader that stopped means it never does: take it back (the send
  // goes again after this pass) and move those segments on a later pass.
  std::size_t first = 0;
  if (io_->kernel_holds_send(c)) {
    first = c.in_flight_segs;
    bool held = false;
    for (std::size_t i = 0; i < first && i < c.out.count() && !held; ++i) {
      const Segment& seg = c.out.at(i);
      held = seg.ref && BlockPool::pinning_hurts(*seg.ref.get());
    }
    if (held) {
      HMS_LOG(debug, "%s: taking back a stuck send that pins receive buffers", c.peer_name.c_str());
      io_->cancel_send(c);
    }
  }
  for (std::size_t i = first; i < c.out.count(); ++i) {
    Segment& seg = c.out.at(i);
    if (!seg.ref || !BlockPool::pinning_hurts(*seg.ref.get())) continue;
    c.out.copy_out(seg);
    ++stats.pinned_copies;
  }
}

}  // namespace hms
