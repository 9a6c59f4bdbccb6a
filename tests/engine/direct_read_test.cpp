// Frames bigger than a receive buffer, back to back: every one arrives
// whole and unchanged on both backends. On epoll, which reads straight into
// the block a big frame is assembled in and on past its end, the frames
// that follow in the same read are handed over in place: far fewer
// assemblies than frames (one per frame before).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/loop.hpp"
#include "engine/wire.hpp"
#include "hms/peer.hpp"

using namespace hms;
using namespace hms::test;

namespace {

constexpr int kFrames = 96;
constexpr std::size_t kPayload = 64 * 1024;  // with its head, a frame is past one 64 KiB receive buffer

std::string payload_of(int i) {
  std::string p(kPayload, '\0');
  for (std::size_t k = 0; k < p.size(); ++k) p[k] = static_cast<char>((k * 31 + static_cast<std::size_t>(i) * 7) & 0xff);
  return p;
}

TEST(DirectReads, BigFramesBackToBackArriveWholeAndMostlyUncopied) {
  LoopThread loop;
  Waiter<int> got;
  std::atomic<int> wrong{0};
  std::vector<std::shared_ptr<Peer>> peers;
  const std::uint16_t port = loop.call([&] {
    auto& l = loop.reactor().listen("127.0.0.1:0", ListenOptions{}, [&](Connection& c) {
      auto p = Peer::attach(c);
      p->on(Opcode::stdout_, [&](Peer&, const Message& m, Reply) {
        const int i = got.get();
        if (m.service != "web" || m.origin != "dock" || m.payload != payload_of(i)) ++wrong;
        got.update([](int& n) { ++n; });
      });
      peers.push_back(p);
    });
    return loop.reactor().listen_port(l);
  });
  std::string all;
  for (int i = 0; i < kFrames; ++i) all += message_bytes(FrameType::message, 0, Opcode::stdout_, "web@dock", payload_of(i));
  RawSocket s = RawSocket::connect_tcp(port);
  ASSERT_TRUE(s.write_all(all));
  ASSERT_TRUE(got.wait_for([](const int& n) { return n >= kFrames; })) << "got " << got.get() << " of " << kFrames;
  EXPECT_EQ(wrong.load(), 0) << "frames arrived changed or out of order";
  const std::uint64_t assembled = loop.call([&] { return loop.reactor().stats().assembled_frames; });
  if (loop.call([&] { return loop.reactor().backend(); }) == Backend::epoll) {
    EXPECT_LT(assembled, static_cast<std::uint64_t>(kFrames / 2)) << "epoll copied most frames into assembly blocks";
  }
  loop.call([&] {
    peers.clear();
    return 0;
  });
}

}  // namespace
