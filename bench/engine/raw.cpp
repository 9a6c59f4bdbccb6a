// The raw-socket floors: plain blocking C++ on the same loopback socket, with
// no engine, no callbacks and no allocation per frame. They move the same
// bytes as the engine benchmarks, so "hms / raw" says what the engine costs on
// top of the kernel.
#include "programs.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common.hpp"

namespace bench {
namespace {

using hms::FrameType;
using hms::kHeaderSize;
using hms::load_u16;
using hms::load_u32;

// Blocking calls wake up this often to look at the hard deadline, so a peer
// that vanished without closing cannot keep a process alive.
constexpr int kIoTimeoutMs = 500;

void tune(int fd) {
  // As the engine does: latency benchmarks must not wait for Nagle.
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{};
  tv.tv_usec = kIoTimeoutMs * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Listens, takes exactly one connection and closes the listener at once, so
// the port is free again as soon as the benchmark pair is connected.
int accept_one(std::uint16_t port, Clock::time_point deadline) {
  const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l < 0) fail("socket: %s", std::strerror(errno));
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(port);
  if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    fail("bind 127.0.0.1:%u: %s", port, std::strerror(errno));
  if (::listen(l, 1) != 0) fail("listen: %s", std::strerror(errno));
  pollfd p{l, POLLIN, 0};
  while (::poll(&p, 1, kIoTimeoutMs) <= 0) {
    if (Clock::now() > deadline) fail("nobody connected to port %u", port);
  }
  const int fd = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) fail("accept: %s", std::strerror(errno));
  ::close(l);
  tune(fd);
  return fd;
}

// The other side may not be listening yet: retry refused connects briefly.
int connect_retry(std::uint16_t port, Clock::time_point deadline) {
  for (;;) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket: %s", std::strerror(errno));
    sockaddr_in a = loopback(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      tune(fd);
      return fd;
    }
    const int e = errno;
    ::close(fd);
    if (e != ECONNREFUSED || Clock::now() > deadline) fail("connect 127.0.0.1:%u: %s", port, std::strerror(e));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// read(2) that rides out the periodic timeout. Returns >0 bytes, 0 at EOF or
// when the deadline passed, -1 on a socket error (peer reset).
ssize_t read_some(int fd, void* p, std::size_t n, Clock::time_point deadline) {
  for (;;) {
    const ssize_t r = ::read(fd, p, n);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (Clock::now() > deadline) return 0;
      continue;
    }
    return -1;
  }
}

// Writes everything; false when the peer is gone or the deadline passed.
bool write_all(int fd, const std::uint8_t* p, std::size_t n, Clock::time_point deadline) {
  while (n) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && Clock::now() <= deadline) continue;
    return false;
  }
  return true;
}

// Walks a stream of stdout frames split at arbitrary read boundaries: each
// frame's head (header, opcode, id) is compared with the one sent, and the
// frame counts once its last payload byte is in. The payload itself is
// skipped, not touched: the floor must not do more than it has to.
class StreamWalker {
 public:
  explicit StreamWalker(std::size_t payload) : payload_(payload) {
    std::vector<std::uint8_t> one;
    append_stdout_frame(one, 0);
    // The head as sent, with the body length of the real payload.
    std::memcpy(expect_, one.data(), kHead);
    hms::store_u32(expect_ + 3, static_cast<std::uint32_t>(kHead - kHeaderSize + payload));
  }

  void feed(const std::uint8_t* p, std::size_t n) {
    while (n) {
      if (!in_payload_) {
        if (have_ == 0 && n >= kHead) {  // the usual case: the head is in one piece
          check(p);
          p += kHead;
          n -= kHead;
        } else {
          const std::size_t take = std::min(kHead - have_, n);
          std::memcpy(head_ + have_, p, take);
          have_ += take;
          p += take;
          n -= take;
          if (have_ < kHead) return;
          check(head_);
          have_ = 0;
        }
        in_payload_ = true;
        left_ = payload_;
        continue;
      }
      const std::size_t take = std::min(left_, n);
      p += take;
      n -= take;
      left_ -= take;
      if (left_ == 0) {
        in_payload_ = false;
        ++frames;
        bytes += payload_;
      }
    }
  }

  std::uint64_t frames = 0, bytes = 0;

 private:
  static constexpr std::size_t kHead = hms::message_head_size(kEventId.size());
  void check(const std::uint8_t* head) {
    if (std::memcmp(head, expect_, kHead) != 0)
      fail("raw-recv: frame %llu does not have the head that was sent",
           static_cast<unsigned long long>(frames));
  }
  std::size_t payload_;
  std::uint8_t expect_[kHead];
  std::uint8_t head_[kHead];
  std::size_t have_ = 0;
  bool in_payload_ = false;
  std::size_t left_ = 0;
};

}  // namespace

int raw_recv(const Options& o) {
  const auto deadline = Clock::now() + to_duration(o.hard_deadline_s());
  const int fd = accept_one(o.port, deadline);
  constexpr std::size_t kRead = 128 * 1024;
  std::vector<std::uint8_t> buf(kRead);
  StreamWalker walk(o.payload);
  Window w;
  Clock::time_point start_at{}, end_at{};
  for (;;) {
    const ssize_t n = read_some(fd, buf.data(), buf.size(), deadline);
    if (n <= 0) break;
    walk.feed(buf.data(), static_cast<std::size_t>(n));
    const auto now = Clock::now();
    if (start_at == Clock::time_point{}) {
      // The clock starts at the first byte, as in the engine's receiver.
      start_at = now + to_duration(o.warmup);
      end_at = start_at + to_duration(o.duration);
    }
    if (!w.started && now >= start_at) w.start(now, walk.frames, walk.bytes);
    if (now >= end_at) {
      w.end(now, walk.frames, walk.bytes);
      break;
    }
  }
  ::close(fd);
  report_stream(w, walk.frames);
  return 0;
}

int raw_send(const Options& o) {
  const auto deadline = Clock::now() + to_duration(o.hard_deadline_s());
  const int fd = connect_retry(o.port, deadline);
  // A ring of whole frames at least one write long, stored twice so that any
  // write starting inside the first copy is contiguous.
  const std::size_t write_size = o.chunk;
  std::vector<std::uint8_t> frames;
  while (frames.size() < write_size) append_stdout_frame(frames, o.payload);
  const std::size_t period = frames.size();
  frames.insert(frames.end(), frames.begin(), frames.end());
  std::size_t off = 0;
  for (;;) {
    const ssize_t w = ::send(fd, frames.data() + off, write_size, MSG_NOSIGNAL);
    if (w > 0) {
      off = (off + static_cast<std::size_t>(w)) % period;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && Clock::now() <= deadline) continue;
    break;  // the receiver is done (reset) or the deadline passed
  }
  ::close(fd);
  return 0;
}

int raw_rpc_server(const Options& o) {
  const auto deadline = Clock::now() + to_duration(o.hard_deadline_s());
  const int fd = accept_one(o.port, deadline);
  constexpr std::size_t kRead = 64 * 1024;
  std::vector<std::uint8_t> in(kRead);
  std::vector<std::uint8_t> out;
  out.reserve(kRead);
  std::size_t have = 0;  // bytes of an unfinished request kept at the front
  for (;;) {
    const ssize_t n = read_some(fd, in.data() + have, in.size() - have, deadline);
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
    std::size_t at = 0;
    out.clear();
    while (have - at >= kRequestFrameSize) {
      const std::uint8_t* f = in.data() + at;
      // Only start("web") requests are ever sent here.
      if (f[0] != static_cast<std::uint8_t>(FrameType::request) ||
          load_u32(f + 3) != kRequestFrameSize - kHeaderSize ||
          f[kHeaderSize] != static_cast<std::uint8_t>(hms::Opcode::start))
        fail("raw-rpc-server: unexpected frame at byte %zu", at);
      std::uint8_t reply[kReplyFrameSize];
      hms::encode_header(reply, FrameType::reply, load_u16(f + 1), 0);
      out.insert(out.end(), reply, reply + sizeof reply);
      at += kRequestFrameSize;
    }
    std::memmove(in.data(), in.data() + at, have - at);
    have -= at;
    // One write per read: the batching an event loop would do too.
    if (!out.empty() && !write_all(fd, out.data(), out.size(), deadline)) break;
  }
  ::close(fd);
  return 0;
}

int raw_rpc_client(const Options& o) {
  const auto hard = Clock::now() + to_duration(o.hard_deadline_s());
  const int fd = connect_retry(o.port, hard);
  std::uint8_t request[kRequestFrameSize];
  hms::encode_message_head(request, FrameType::request, 0, hms::Opcode::start, kRpcId, 0);
  const auto start_at = Clock::now() + to_duration(o.warmup);
  const auto end_at = start_at + to_duration(o.duration);
  Window w;
  Latencies lat;
  std::uint64_t done = 0;

  if (o.window == 1) {
    // Latency: one request at a time, timed from write to the whole reply.
    lat.reserve(static_cast<std::size_t>(o.duration * 200000));
    std::uint8_t reply[kReplyFrameSize];
    for (;;) {
      const auto t = Clock::now();
      if (!w.started && t >= start_at) w.start(t, done, 0);
      if (t >= end_at) {
        w.end(t, done, 0);
        break;
      }
      if (!write_all(fd, request, sizeof request, hard)) fail("raw-rpc-client: write failed");
      std::size_t got = 0;
      while (got < sizeof reply) {
        const ssize_t n = read_some(fd, reply + got, sizeof reply - got, hard);
        if (n <= 0) fail("raw-rpc-client: server went away");
        got += static_cast<std::size_t>(n);
      }
      const auto t2 = Clock::now();
      if (reply[0] != static_cast<std::uint8_t>(FrameType::reply) || load_u32(reply + 3) != 0)
        fail("raw-rpc-client: unexpected reply");
      ++done;
      if (w.started) lat.add(static_cast<std::uint64_t>(std::chrono::nanoseconds(t2 - t).count()));
    }
  } else {
    // Pipelined: fill the window, then send one new request per reply, in
    // one write per read.
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i < o.window; ++i) {
      hms::store_u16(request + 1, static_cast<std::uint16_t>(i));
      out.insert(out.end(), request, request + sizeof request);
    }
    if (!write_all(fd, out.data(), out.size(), hard)) fail("raw-rpc-client: write failed");
    std::vector<std::uint8_t> in(64 * 1024);
    std::size_t have = 0;
    while (!w.ended) {
      const ssize_t n = read_some(fd, in.data() + have, in.size() - have, hard);
      if (n <= 0) fail("raw-rpc-client: server went away");
      have += static_cast<std::size_t>(n);
      out.clear();
      std::size_t at = 0;
      while (have - at >= kReplyFrameSize) {
        const std::uint8_t* f = in.data() + at;
        if (f[0] != static_cast<std::uint8_t>(FrameType::reply) || load_u32(f + 3) != 0)
          fail("raw-rpc-client: unexpected reply");
        ++done;
        // Reuse the answered request's id, as the free list would.
        hms::store_u16(request + 1, load_u16(f + 1));
        out.insert(out.end(), request, request + sizeof request);
        at += kReplyFrameSize;
      }
      std::memmove(in.data(), in.data() + at, have - at);
      have -= at;
      const auto now = Clock::now();
      if (!w.started && now >= start_at) w.start(now, done, 0);
      if (now >= end_at) {
        w.end(now, done, 0);
        break;
      }
      if (!write_all(fd, out.data(), out.size(), hard)) fail("raw-rpc-client: write failed");
    }
  }
  ::close(fd);
  report_rpc(w, lat);
  return 0;
}

}  // namespace bench
