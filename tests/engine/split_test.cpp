// Frames split at every boundary: a raw peer writes the golden vectors (the
// reference's exact bytes, a 70000-byte stdout frame among them) one byte
// at a time and in random chunks; the engine must hand each frame over
// whole and byte-exact, and count the frames it had to assemble.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/loop.hpp"
#include "engine/wire.hpp"
#include "hms/connection.hpp"
#include "hms/reactor.hpp"

using namespace hms;
using namespace hms::test;

namespace {

// Records every frame (header + body bytes) a connection delivers, and
// checks that the view lies inside the storage it came with.
class Recorder final : public ConnectionHandler {
 public:
  void on_frame(Connection&, const FrameView& f, const BufRef& storage) override {
    const auto* begin = f.body - kHeaderSize;
    const auto* end = f.body + f.header.length;
    if (!storage || begin < storage->data() || end > storage->data() + storage->capacity())
      bad_storage = true;
    frames.update([&](auto& v) {
      v.emplace_back(reinterpret_cast<const char*>(begin), static_cast<std::size_t>(end - begin));
    });
  }
  void on_close(Connection&, const CloseInfo& ci) override { closed.set(static_cast<int>(ci.reason) + 1); }

  Waiter<std::vector<std::string>> frames;
  Waiter<int> closed;
  bool bad_storage = false;  // read after the loop synchronised with it
};

struct Stream {
  std::string bytes;
  std::vector<std::string> frames;
  std::vector<std::size_t> starts;  // offset of each frame in `bytes`
};

// Every golden vector, back to back: 37 cases, frames of every type.
Stream golden_stream() {
  Stream s;
  for (auto& [name, b] : load_vectors()) {
    std::size_t off = 0;
    while (off < b.size()) {
      const auto r = decode_frame(reinterpret_cast<const std::uint8_t*>(b.data()) + off, b.size() - off);
      if (r.status != DecodeStatus::frame) throw std::runtime_error("bad vector " + name);
      s.starts.push_back(s.bytes.size() + off);
      s.frames.push_back(b.substr(off, r.size));
      off += r.size;
    }
    s.bytes += b;
  }
  return s;
}

struct Server {
  Recorder rec;
  LoopThread loop;
  RawSocket wire;

  explicit Server(const ReactorOptions& ro = {}) : loop(ro) {
    const std::uint16_t port = loop.call([&] {
      auto& l = loop.reactor().listen("127.0.0.1:0", ListenOptions{},
                                      [this](Connection& c) { c.set_handler(&rec); });
      return loop.reactor().listen_port(l);
    });
    wire = RawSocket::connect_tcp(port);
  }
  std::uint64_t bytes_in() { return loop.reactor().stats().bytes_in; }
  std::uint64_t assembled() { return loop.reactor().stats().assembled_frames; }
  // Waits until the reactor has read `n` bytes in all.
  bool sync(std::uint64_t n) {
    return eventually([&] { return bytes_in() >= n; });
  }
};

TEST(SplitFrames, TheGoldenStreamInOneWrite) {
  const Stream s = golden_stream();
  ASSERT_GE(s.frames.size(), 37u);
  Server srv;
  ASSERT_TRUE(srv.wire.write_all(s.bytes));
  ASSERT_TRUE(srv.rec.frames.wait_for([&](auto& v) { return v.size() == s.frames.size(); }));
  EXPECT_EQ(srv.rec.frames.get(), s.frames);
  srv.loop.stop();
  EXPECT_FALSE(srv.rec.bad_storage);
}

TEST(SplitFrames, OneByteAtATimeEveryBoundarySeparately) {
  // Each write of the bytes near a frame boundary (the first and last 64 of
  // every frame: header, opcode, id length, id) waits until the reactor has
  // read it, so every such byte arrives in a receive of its own. The middle
  // of the 70000-byte frame still goes one byte per write, unsynchronised.
  const Stream s = golden_stream();
  Server srv;
  std::size_t frame = 0;
  for (std::size_t i = 0; i < s.bytes.size(); ++i) {
    while (frame + 1 < s.starts.size() && s.starts[frame + 1] <= i) ++frame;
    const std::size_t in_frame = i - s.starts[frame];
    const std::size_t size = s.frames[frame].size();
    ASSERT_TRUE(srv.wire.write_all(std::string_view(s.bytes).substr(i, 1)));
    if (in_frame < 64 || in_frame + 64 >= size) {
      ASSERT_TRUE(srv.sync(i + 1)) << "byte " << i;
    }
  }
  ASSERT_TRUE(srv.rec.frames.wait_for([&](auto& v) { return v.size() == s.frames.size(); }));
  EXPECT_EQ(srv.rec.frames.get(), s.frames);
  // Every frame began in a receive of its own first byte, so every one was
  // assembled, once.
  EXPECT_EQ(srv.assembled(), s.frames.size());
  srv.loop.stop();
  EXPECT_FALSE(srv.rec.bad_storage);
}

void random_chunks(const ReactorOptions& ro, unsigned seed, std::size_t max_chunk) {
  const Stream s = golden_stream();
  Server srv(ro);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> len(1, max_chunk);
  std::size_t off = 0;
  while (off < s.bytes.size()) {
    const std::size_t n = std::min(len(rng), s.bytes.size() - off);
    ASSERT_TRUE(srv.wire.write_all(std::string_view(s.bytes).substr(off, n)));
    off += n;
  }
  ASSERT_TRUE(srv.rec.frames.wait_for([&](auto& v) { return v.size() == s.frames.size(); }));
  EXPECT_EQ(srv.rec.frames.get(), s.frames) << "seed " << seed;
  // The 70000-byte frame cannot arrive in one receive buffer.
  EXPECT_GE(srv.assembled(), 1u);
  srv.loop.stop();
  EXPECT_FALSE(srv.rec.bad_storage);
}

TEST(SplitFrames, RandomChunks) {
  for (unsigned seed = 1; seed <= 4; ++seed) random_chunks(ReactorOptions{}, seed, 64);
  for (unsigned seed = 5; seed <= 8; ++seed) random_chunks(ReactorOptions{}, seed, 3000);
}

TEST(SplitFrames, RandomChunksIntoSmallReceiveBuffers) {
  // 4 KiB receive buffers: most frames of the stream straddle buffers even
  // when written whole.
  ReactorOptions ro;
  ro.recv_buffers = 8;
  ro.recv_buffer_size = 4096;
  for (unsigned seed = 11; seed <= 14; ++seed) random_chunks(ro, seed, 10000);
}

}  // namespace
