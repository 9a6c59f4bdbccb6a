// ShardMesh: one SPSC ring per ordered pair of reactors (hms/mesh.hpp).
#include "hms/mesh.hpp"

#include <atomic>
#include <deque>
#include <stdexcept>

#include "hms/reactor.hpp"
#include "reactor_impl.hpp"
#include "spsc_ring.hpp"

namespace hms {

namespace {

// One direction between two reactors: the ring, and what did not fit in
// it yet (the sender's thread only).
struct Lane {
  explicit Lane(std::size_t entries) : ring(entries) {}
  SpscRing<Envelope> ring;
  std::deque<Envelope> overflow;
};

}  // namespace

struct ShardMesh::Impl {
  std::vector<Reactor*> reactors;
  std::vector<ReactorImpl*> loops;
  Receiver receiver;
  Disposer disposer;
  std::size_t max_overflow;
  // lanes[from * n + to]; the diagonal is unused.
  std::vector<std::unique_ptr<Lane>> lanes;
  std::vector<std::unique_ptr<ReturnLane>> returns;  // same layout
  // Per sender: lanes with an overflow (a count, the sender's thread only).
  std::vector<std::size_t> spilled_lanes;
  std::atomic<std::uint64_t> dropped{0};

  unsigned n() const { return static_cast<unsigned>(loops.size()); }
  Lane& lane(unsigned from, unsigned to) { return *lanes[from * n() + to]; }

  // On `to`: every inbound ring, in sender order.
  void drain(unsigned to) {
    for (unsigned from = 0; from < n(); ++from) {
      if (from == to) continue;
      lane(from, to).ring.drain([&](Envelope&& e) { receiver(to, from, e); });
    }
  }
  bool pending(unsigned to) {
    for (unsigned from = 0; from < n(); ++from)
      if (from != to && !lane(from, to).ring.empty()) return true;
    return false;
  }
  // On `from`, once per pass: what waited moves into rings with room.
  void retry(unsigned from) {
    if (!spilled_lanes[from]) return;
    for (unsigned to = 0; to < n(); ++to) {
      if (to == from) continue;
      Lane& l = lane(from, to);
      if (l.overflow.empty()) continue;
      while (!l.overflow.empty() && l.ring.try_push(l.overflow.front())) l.overflow.pop_front();
      loops[from]->wake_later(loops[to]);
      if (l.overflow.empty()) --spilled_lanes[from];
    }
  }
};

ShardMesh::ShardMesh(std::vector<Reactor*> reactors, Receiver receiver, Disposer disposer, std::size_t entries,
                     std::size_t max_overflow)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.reactors = std::move(reactors);
  m.receiver = std::move(receiver);
  m.disposer = std::move(disposer);
  m.max_overflow = max_overflow;
  for (Reactor* r : m.reactors) {
    ReactorImpl* loop = find_impl(*r);
    if (!loop) throw std::invalid_argument("ShardMesh: unknown reactor");
    m.loops.push_back(loop);
  }
  const unsigned n = m.n();
  m.spilled_lanes.assign(n, 0);
  m.lanes.resize(std::size_t{n} * n);
  m.returns.resize(std::size_t{n} * n);
  for (unsigned from = 0; from < n; ++from) {
    for (unsigned to = 0; to < n; ++to) {
      if (from == to) continue;
      m.lanes[from * n + to] = std::make_unique<Lane>(entries);
      // Never full: no more blocks than the owner's pool can be in flight.
      auto ret = std::make_unique<ReturnLane>(m.loops[to]->pool.count());
      m.loops[from]->add_out_lane(&m.loops[to]->pool, ret.get());
      m.loops[to]->pool.add_inbound_lane(ret.get());
      m.returns[from * n + to] = std::move(ret);
    }
  }
  for (unsigned i = 0; i < n; ++i) {
    Impl* p = impl_.get();
    // Receiving: drained every pass; a sleep is skipped while a ring holds
    // something. Sending: overflow retried every pass, and the sender keeps
    // passing (no sleep) while it has any.
    m.reactors[i]->add_source([p, i] { p->drain(i); },
                              [p, i] { return p->pending(i) || p->spilled_lanes[i] != 0; });
    m.reactors[i]->add_before_flush([p, i] { p->retry(i); });
  }
}

ShardMesh::~ShardMesh() {
  // The reactors have stopped: what was never delivered is disposed of,
  // the blocks still in return lanes go back, and the lanes leave the
  // pools before they go.
  Impl& m = *impl_;
  for (auto& lane : m.lanes) {
    if (!lane) continue;
    auto dispose = [&m](Envelope& e) {
      if (m.disposer) m.disposer(e);
    };
    lane->ring.drain([&](Envelope&& e) { dispose(e); });
    for (Envelope& e : lane->overflow) dispose(e);
    lane->overflow.clear();
  }
  for (ReactorImpl* loop : impl_->loops) {
    loop->pool.drain_returned();
    loop->pool.clear_inbound_lanes();
    loop->clear_out_lanes();
  }
}

unsigned ShardMesh::size() const noexcept { return impl_->n(); }

bool ShardMesh::send(unsigned from, unsigned to, Envelope& e, bool droppable) {
  Impl& m = *impl_;
  Lane& l = m.lane(from, to);
  if (l.overflow.empty() && l.ring.try_push(e)) {
    m.loops[from]->wake_later(m.loops[to]);
    return true;
  }
  if (droppable && l.overflow.size() >= m.max_overflow) {
    m.dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (l.overflow.empty()) ++m.spilled_lanes[from];
  l.overflow.push_back(std::move(e));
  return true;
}

std::uint64_t ShardMesh::dropped() const noexcept { return impl_->dropped.load(std::memory_order_relaxed); }

}  // namespace hms
