// hms/mesh.hpp: lock-free hand-off between the reactors of one process.
//
// A ShardMesh joins N reactors (one per core, say) with one single-producer
// single-consumer ring for every ordered pair, as Seastar's shards do. A
// reactor hands another small fixed records (Envelopes: a reference to
// bytes and two words) without locks and without a std::function per
// message; the receiver drains its rings once per loop pass, in batches,
// and is woken through its eventfd only when it sleeps, once per pass of the
// sender (Reactor::wake()). Receive buffers released on one reactor of the
// mesh and owned by another go back through the same kind of ring.
//
// ### Threads and lifetime
// Construct the mesh before the reactors run (it installs a source and a
// hook on each), call send() only on the sending reactor's thread, and
// destroy it after they have stopped and their threads have been joined,
// before the reactors themselves are destroyed.
//
// ### Bounds
// A ring holds `entries` envelopes. When it is full, envelopes wait in the
// sender's overflow list (in order) and are retried every pass; the sender
// keeps running passes while it has any. send() of a droppable envelope
// refuses it (returns false) once `max_overflow` are waiting for that
// receiver: a receiver that cannot keep up must not grow the sender without
// bound (log frames are dropped and counted by the caller; commands and
// answers are never droppable).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "hms/buffer.hpp"

namespace hms {

class Reactor;

// What one reactor hands another. `kind` means what the user says it does.
struct Envelope {
  std::uint32_t kind = 0;
  std::uint32_t len = 0;
  const std::uint8_t* data = nullptr;  // valid while `ref` is held
  BufRef ref;
  std::uint64_t word = 0;
  void* ptr = nullptr;
};

class ShardMesh {
 public:
  // Runs on reactor `to`'s thread for each envelope from reactor `from`.
  using Receiver = std::function<void(unsigned to, unsigned from, Envelope& e)>;
  // Runs, in the destructor, for each envelope never delivered (what `ptr`
  // owns is the user's to free).
  using Disposer = std::function<void(Envelope& e)>;

  ShardMesh(std::vector<Reactor*> reactors, Receiver receiver, Disposer disposer = {},
            std::size_t entries = 8192, std::size_t max_overflow = 1u << 16);
  ~ShardMesh();
  ShardMesh(const ShardMesh&) = delete;
  ShardMesh& operator=(const ShardMesh&) = delete;

  unsigned size() const noexcept;

  // On reactor `from`'s thread. Queues `e` for reactor `to` (never blocks).
  // Returns false only for a droppable envelope refused by the overflow
  // bound (see above); `e` is then left as it was.
  bool send(unsigned from, unsigned to, Envelope& e, bool droppable = false);

  // Envelopes refused so far (any thread, relaxed).
  std::uint64_t dropped() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hms
