// ShardMesh: envelopes between reactors arrive once, in order, across
// sleeps and full rings; droppable ones are refused past the bound; and a
// receive buffer released on another reactor goes home.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/loop.hpp"
#include "engine/wire.hpp"
#include "hms/mesh.hpp"
#include "hms/peer.hpp"

using namespace hms;
using namespace hms::test;
using namespace std::chrono_literals;

namespace {

// Reactors with their threads; the mesh is built before they run and
// destroyed after they stop (as hms/mesh.hpp asks).
struct Rig {
  explicit Rig(unsigned n, ShardMesh::Receiver rx, std::size_t entries = 8192, std::size_t max_overflow = 1u << 16,
               std::uint32_t buffers = 256) {
    for (unsigned i = 0; i < n; ++i) {
      ReactorOptions o;
      o.recv_buffers = buffers;
      reactors.push_back(std::make_unique<Reactor>(o));
    }
    std::vector<Reactor*> raw;
    for (auto& r : reactors) raw.push_back(r.get());
    mesh = std::make_unique<ShardMesh>(raw, std::move(rx), ShardMesh::Disposer{}, entries, max_overflow);
    for (auto& r : reactors) threads.emplace_back([p = r.get()] { p->run(); });
  }
  ~Rig() {
    for (auto& r : reactors) r->stop();
    for (auto& t : threads) t.join();
    mesh.reset();
  }
  // Runs fn on reactor i and waits for it.
  template <class F>
  void on(unsigned i, F fn) {
    std::promise<void> done;
    reactors[i]->post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
  std::vector<std::unique_ptr<Reactor>> reactors;
  std::vector<std::thread> threads;
  std::unique_ptr<ShardMesh> mesh;
};

struct Seen {
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> in_order{true};
  void take(const Envelope& e) {
    if (e.word != next.load()) in_order = false;
    next = e.word + 1;
    ++count;
  }
};


}  // namespace

TEST(ShardMesh, DeliversInOrderToASleepingReactor) {
  Seen seen;
  Rig rig(2, [&](unsigned to, unsigned from, Envelope& e) {
    EXPECT_EQ(to, 1u);
    EXPECT_EQ(from, 0u);
    seen.take(e);
  });
  // Reactor 1 is idle (asleep) when each batch goes out: only the wake-up
  // can bring it in.
  for (int batch = 0; batch < 20; ++batch) {
    rig.on(0, [&] {
      for (int i = 0; i < 100; ++i) {
        Envelope e;
        e.word = static_cast<std::uint64_t>(batch) * 100 + i;
        ASSERT_TRUE(rig.mesh->send(0, 1, e));
      }
    });
    ASSERT_TRUE(eventually([&] { return seen.count.load() == static_cast<std::uint64_t>(batch + 1) * 100; }))
        << "batch " << batch << " not delivered: " << seen.count.load();
  }
  EXPECT_TRUE(seen.in_order);
  EXPECT_GE(rig.reactors[1]->stats().wakeups, 1u) << "a sleeping receiver is woken";
}

TEST(ShardMesh, AFullRingSpillsAndEverythingStillArrivesInOrder) {
  Seen seen;
  Rig rig(2, [&](unsigned, unsigned, Envelope& e) { seen.take(e); }, /*entries=*/4);
  constexpr std::uint64_t kMany = 5000;
  rig.on(0, [&] {
    for (std::uint64_t i = 0; i < kMany; ++i) {
      Envelope e;
      e.word = i;
      ASSERT_TRUE(rig.mesh->send(0, 1, e));
    }
  });
  ASSERT_TRUE(eventually([&] { return seen.count.load() == kMany; })) << seen.count.load();
  EXPECT_TRUE(seen.in_order);
}

TEST(ShardMesh, DroppableEnvelopesAreRefusedPastTheBound) {
  std::atomic<bool> hold{true};
  std::atomic<std::uint64_t> got{0};
  Rig rig(2, [&](unsigned, unsigned, Envelope&) {
    while (hold.load()) std::this_thread::yield();  // a receiver that cannot keep up
    ++got;
  }, /*entries=*/4, /*max_overflow=*/8);
  std::uint64_t accepted = 0, refused = 0;
  rig.on(0, [&] {
    for (int i = 0; i < 100; ++i) {
      Envelope e;
      e.word = static_cast<std::uint64_t>(i);
      if (rig.mesh->send(0, 1, e, /*droppable=*/true)) ++accepted;
      else ++refused;
    }
  });
  EXPECT_EQ(accepted, 4u + 8u) << "the ring, then the overflow bound";
  EXPECT_EQ(refused, 100u - accepted);
  EXPECT_EQ(rig.mesh->dropped(), refused);
  hold = false;
  ASSERT_TRUE(eventually([&] { return got.load() == accepted; })) << got.load();
}

TEST(ShardMesh, EveryPairWorksBothWays) {
  std::atomic<std::uint64_t> got[3][3] = {};
  Rig rig(3, [&](unsigned to, unsigned from, Envelope& e) {
    EXPECT_EQ(e.word, from * 10 + to);
    ++got[from][to];
  });
  for (unsigned from = 0; from < 3; ++from)
    rig.on(from, [&] {
      for (unsigned to = 0; to < 3; ++to) {
        if (to == from) continue;
        Envelope e;
        e.word = from * 10 + to;
        rig.mesh->send(from, to, e);
      }
    });
  for (unsigned from = 0; from < 3; ++from) {
    for (unsigned to = 0; to < 3; ++to) {
      if (to == from) continue;
      EXPECT_TRUE(eventually([&] { return got[from][to].load() == 1; })) << from << "->" << to;
    }
  }
}

// A frame received on reactor 0 travels to reactor 1 by reference; when
// reactor 1 drops it, the receive buffer goes back to reactor 0's pool.
TEST(ShardMesh, ReceiveBuffersReleasedElsewhereGoHome) {
  std::atomic<int> held{0};
  std::vector<BufRef> kept;  // reactor 1's thread only
  // The connection's handler outlives the reactors (declared before the
  // rig): the close of sv[1] below reaches it while they stop.
  struct Sink final : ConnectionHandler {
    Rig* rig = nullptr;
    void on_frame(Connection&, const FrameView& f, const BufRef& storage) override {
      Envelope e;
      e.ref = storage;
      e.data = f.body;
      e.len = f.header.length;
      rig->mesh->send(0, 1, e);
    }
    void on_close(Connection&, const CloseInfo&) override {}
  } sink;
  Rig rig(2, [&](unsigned, unsigned, Envelope& e) {
    kept.push_back(std::move(e.ref));
    ++held;
  }, 8192, 1u << 16, /*buffers=*/8);
  sink.rig = &rig;

  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::size_t full = 0;
  rig.on(0, [&] {
    rig.reactors[0]->adopt(sv[0], ConnectionOptions{}, &sink);
    full = rig.reactors[0]->free_recv_buffers();
  });
  // Six frames in six separate writes: up to six receive buffers held on
  // reactor 1.
  for (int i = 0; i < 6; ++i) {
    std::uint8_t frame[kHeaderSize + 4];
    encode_header(frame, FrameType::reply, static_cast<std::uint16_t>(i), 4);
    std::memcpy(frame + kHeaderSize, "ping", 4);
    ASSERT_EQ(::write(sv[1], frame, sizeof frame), static_cast<ssize_t>(sizeof frame));
    ASSERT_TRUE(eventually([&] { return held.load() == i + 1; }));
  }
  std::size_t during = 0;
  rig.on(0, [&] { during = rig.reactors[0]->free_recv_buffers(); });
  EXPECT_LT(during, full) << "frames held on reactor 1 pin reactor 0's buffers";
  rig.on(1, [&] { kept.clear(); });
  ASSERT_TRUE(eventually([&] {
    std::size_t now = 0;
    rig.on(0, [&] { now = rig.reactors[0]->free_recv_buffers(); });
    return now == full;
  })) << "buffers did not come home";
  ::close(sv[1]);
}

// Envelopes never delivered (the receiver stopped first) are handed to the
// disposer when the mesh goes, from the ring and from the overflow alike.
TEST(ShardMesh, UndeliveredEnvelopesAreDisposed) {
  std::vector<std::unique_ptr<Reactor>> reactors;
  for (int i = 0; i < 2; ++i) reactors.push_back(std::make_unique<Reactor>());
  std::atomic<int> disposed{0};
  auto mesh = std::make_unique<ShardMesh>(
      std::vector<Reactor*>{reactors[0].get(), reactors[1].get()}, [](unsigned, unsigned, Envelope&) {},
      [&](Envelope& e) {
        EXPECT_EQ(e.kind, 7u);
        delete static_cast<int*>(e.ptr);
        ++disposed;
      },
      /*entries=*/4);
  // Reactor 0 runs; reactor 1 never does.
  std::thread t([&] { reactors[0]->run(); });
  std::promise<void> sent;
  reactors[0]->post([&] {
    for (int i = 0; i < 10; ++i) {
      Envelope e;
      e.kind = 7;
      e.ptr = new int(i);
      mesh->send(0, 1, e);
    }
    sent.set_value();
  });
  sent.get_future().wait();
  reactors[0]->stop();
  t.join();
  mesh.reset();
  EXPECT_EQ(disposed.load(), 10);
}
