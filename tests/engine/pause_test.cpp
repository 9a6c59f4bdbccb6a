// Input flow control: a connection taken over from HTTP (an upload) stops
// reading while its consumer is paused, the sender's socket fills and
// blocks, and every byte arrives, in order, once reading resumes. Runs on
// both backends (HMS_BACKEND).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/loop.hpp"
#include "engine/wire.hpp"

using namespace hms;
using namespace hms::test;

namespace {

constexpr std::size_t kPauseAt = 1u << 20;
constexpr std::size_t kTotal = 64u << 20;

// Until the head is read, a connection needs a handler (the engine closes
// one without); the takeover replaces it.
struct Accepting final : ConnectionHandler {
  void on_frame(Connection&, const FrameView&, const BufRef&) override {}
  void on_close(Connection&, const CloseInfo&) override {}
};
Accepting accepting;

std::uint8_t pattern(std::size_t i) { return static_cast<std::uint8_t>((i * 131) >> 7); }

// Takes the upload's bytes, checks them against the pattern, pauses once
// kPauseAt bytes are in.
struct Upload final : ConnectionHandler {
  std::atomic<std::size_t> received{0};
  std::atomic<bool> in_order{true};
  std::atomic<bool> paused{false};
  std::atomic<int> closes{0};
  Connection* conn = nullptr;  // reactor thread only

  void on_bytes(Connection& c, const std::uint8_t* p, std::size_t n, const BufRef&) override {
    const std::size_t at = received.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i)
      if (p[i] != pattern(at + i)) in_order = false;
    received.store(at + n, std::memory_order_relaxed);
    if (at < kPauseAt && at + n >= kPauseAt) {
      c.pause_reading();
      paused = c.reading_paused();
    }
  }
  void on_frame(Connection&, const FrameView&, const BufRef&) override {}
  void on_read_end(Connection&) override {}
  void on_close(Connection&, const CloseInfo&) override { ++closes; }
};

// Writes bytes [from, kTotal) without blocking until the socket stays full
// for `stuck_ms`; returns where it got to.
std::size_t write_until_stuck(int fd, std::size_t from, int stuck_ms) {
  std::vector<std::uint8_t> chunk(256 * 1024);
  while (from < kTotal) {
    const std::size_t n = std::min(chunk.size(), kTotal - from);
    for (std::size_t i = 0; i < n; ++i) chunk[i] = pattern(from + i);
    const ssize_t w = ::send(fd, chunk.data(), n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w > 0) {
      from += static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
    pollfd pfd{fd, POLLOUT, 0};
    if (::poll(&pfd, 1, stuck_ms) == 0) break;  // full for stuck_ms: the reader stopped
  }
  return from;
}

TEST(Pause, PausedUploadStopsTheSenderAndResumeDeliversEveryByte) {
  Upload up;
  LoopThread loop;
  std::uint16_t port = 0;
  loop.call([&] {
    ListenOptions lo;
    lo.http_takeover = [&up](Connection& c, const HttpRequest&) {
      c.set_handler(&up);
      up.conn = &c;
      return true;
    };
    port = loop.reactor().listen_port(loop.reactor().listen("127.0.0.1:0", lo, [](Connection& c) { c.set_handler(&accepting); }));
  });
  RawSocket s = RawSocket::connect_tcp(port);
  const std::string head = "PUT /upload HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(s.write_all(head));

  // The sender gets stuck: the reader paused, the kernel's buffers filled.
  const std::size_t sent = write_until_stuck(s.fd(), 0, 1500);
  ASSERT_TRUE(eventually([&] { return up.paused.load(); })) << "received " << up.received.load() << " of " << sent;
  EXPECT_LT(sent, kTotal) << "nothing pushed back on the sender";
  // What the handler took after the pause is what was already in flight:
  // nowhere near what the sender wrote.
  const std::size_t taken = up.received.load();
  EXPECT_LT(taken, kPauseAt + (4u << 20));
  EXPECT_EQ(loop.call([&] { return up.conn->reading_paused(); }), true);

  loop.call([&] { up.conn->resume_reading(); });
  const std::size_t all = write_until_stuck(s.fd(), sent, 10000);
  EXPECT_EQ(all, kTotal);
  EXPECT_TRUE(eventually([&] { return up.received.load() == kTotal; }));
  EXPECT_TRUE(up.in_order.load());
  EXPECT_EQ(up.closes.load(), 0);
  loop.call([&] { up.conn->close(); });
  EXPECT_TRUE(eventually([&] { return up.closes.load() == 1; }));
}

TEST(Pause, PauseAndResumeInOnePassLoseNothing) {
  // A consumer that pauses and resumes at once on every read (a queue at
  // its mark): the io_uring cancel of the receive races the re-arm.
  struct Flicker final : ConnectionHandler {
    std::atomic<std::size_t> received{0};
    std::atomic<bool> in_order{true};
    void on_bytes(Connection& c, const std::uint8_t* p, std::size_t n, const BufRef&) override {
      const std::size_t at = received.load(std::memory_order_relaxed);
      for (std::size_t i = 0; i < n; ++i)
        if (p[i] != pattern(at + i)) in_order = false;
      received.store(at + n, std::memory_order_relaxed);
      c.pause_reading();
      c.resume_reading();
    }
    void on_frame(Connection&, const FrameView&, const BufRef&) override {}
    void on_read_end(Connection&) override {}
    void on_close(Connection&, const CloseInfo&) override {}
  } flicker;
  LoopThread loop;
  std::uint16_t port = 0;
  loop.call([&] {
    ListenOptions lo;
    lo.http_takeover = [&flicker](Connection& c, const HttpRequest&) {
      c.set_handler(&flicker);
      return true;
    };
    port = loop.reactor().listen_port(loop.reactor().listen("127.0.0.1:0", lo, [](Connection& c) { c.set_handler(&accepting); }));
  });
  RawSocket s = RawSocket::connect_tcp(port);
  ASSERT_TRUE(s.write_all(std::string("PUT /f HTTP/1.1\r\n\r\n")));
  EXPECT_EQ(write_until_stuck(s.fd(), 0, 10000), kTotal);
  EXPECT_TRUE(eventually([&] { return flicker.received.load() == kTotal; }));
  EXPECT_TRUE(flicker.in_order.load());
}

}  // namespace
