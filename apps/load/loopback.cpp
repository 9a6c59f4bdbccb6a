// The raw loopback floor: what one TCP hop over loopback costs with plain
// blocking sockets, for the same stdout frames a dock sends. The hub bench
// prints it beside the hub's numbers so they can be read against the kernel.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "hms/frame.hpp"
#include "load.hpp"

namespace hms::load {
namespace {

std::int64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// The first two CPUs this process may run on (the same one twice when it
// has only one), so `taskset -c 0,1 hms-load loopback` puts the writer on 0
// and the reader on 1, as the hub bench places the hub and hms-load.
void pick_cpus(int* a, int* b) {
  cpu_set_t set;
  CPU_ZERO(&set);
  *a = *b = -1;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (!CPU_ISSET(i, &set)) continue;
    if (*a < 0) {
      *a = i;
    } else {
      *b = i;
      break;
    }
  }
  if (*b < 0) *b = *a;
}

void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

void nodelay(int fd) {
  // As the engine sets it on every connection.
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A connected pair of loopback TCP sockets: [0] writes, [1] reads.
void loopback_pair(int fds[2]) {
  const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l < 0) throw_errno("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l, 1) != 0 ||
      ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int e = errno;
    ::close(l);
    errno = e;
    throw_errno("listen on loopback");
  }
  fds[0] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fds[0] < 0 || ::connect(fds[0], reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int e = errno;
    ::close(l);
    errno = e;
    throw_errno("connect to loopback");
  }
  fds[1] = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(l);
  if (fds[1] < 0) throw_errno("accept");
  nodelay(fds[0]);
  nodelay(fds[1]);
}

}  // namespace

LoopbackReport run_loopback(const LoopbackOptions& o) {
  if (o.payload < kStampBytes)
    throw std::invalid_argument("--payload must be at least " + std::to_string(kStampBytes) + " bytes");
  if (o.batch == 0) throw std::invalid_argument("--batch must be at least 1");
  LoopbackReport rep;
  pick_cpus(&rep.writer_cpu, &rep.reader_cpu);
  int fds[2];
  loopback_pair(fds);

  // The frames a dock would send: stdout of web0 from dock-0.
  const std::size_t head = message_head_size(std::string_view("web0@dock-0").size());
  const std::size_t frame = head + o.payload;
  rep.frame_bytes = frame;
  std::vector<std::uint8_t> batch(frame * o.batch, 'x');
  for (std::size_t i = 0; i < o.batch; ++i)
    encode_event_head(batch.data() + i * frame, Opcode::stdout_, "web0", "dock-0", o.payload);

  const std::int64_t start = now_ns() + static_cast<std::int64_t>(o.warmup * 1e9);
  const std::int64_t end = start + static_cast<std::int64_t>(o.duration * 1e9);
  // Set by the reader once the window is over; the writer then stops and
  // shuts its side down, which ends the reader at EOF. Relaxed: the flag
  // carries no data.
  std::atomic<bool> done{false};
  std::string reader_error;

  std::thread writer([&] {
    pin(rep.writer_cpu);
    std::uint64_t seq = 0;
    const std::uint32_t dock = 0;
    while (!done.load(std::memory_order_relaxed)) {
      // The same stamp a dock writes: send time, sequence, dock index.
      const std::int64_t t = now_ns();
      for (std::size_t i = 0; i < o.batch; ++i, ++seq) {
        std::uint8_t* p = batch.data() + i * frame + head;
        std::memcpy(p, &t, 8);
        std::memcpy(p + 8, &seq, 8);
        std::memcpy(p + 16, &dock, 4);
      }
      const std::uint8_t* p = batch.data();
      std::size_t left = batch.size();
      while (left) {
        const ssize_t w = ::send(fds[0], p, left, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;  // the reader is gone
        p += w;
        left -= static_cast<std::size_t>(w);
      }
    }
    ::shutdown(fds[0], SHUT_WR);
  });

  std::thread reader([&] {
    pin(rep.reader_cpu);
    std::vector<std::uint8_t> buf(256 * 1024);
    std::size_t have = 0;
    std::uint64_t expect_seq = 0;
    for (;;) {
      const ssize_t r = ::read(fds[1], buf.data() + have, buf.size() - have);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      const std::int64_t t = now_ns();
      const bool in = t >= start && t < end;
      if (t >= end) done.store(true, std::memory_order_relaxed);
      have += static_cast<std::size_t>(r);
      std::size_t off = 0;
      // Each frame is checked where it is counted: its type, opcode, length
      // and sequence number must be the ones sent.
      while (have - off >= kHeaderSize) {
        const std::uint8_t* f = buf.data() + off;
        const std::size_t total = kHeaderSize + load_u32(f + 3);
        if (have - off < total) break;
        std::uint64_t seq;
        std::memcpy(&seq, f + head + 8, 8);
        if (total != frame || f[0] != 0 || f[kHeaderSize] != static_cast<std::uint8_t>(Opcode::stdout_) ||
            seq != expect_seq) {
          reader_error = "loopback: frame " + std::to_string(expect_seq) + " is not the one sent";
          done.store(true, std::memory_order_relaxed);
          ::shutdown(fds[1], SHUT_RDWR);
          return;
        }
        ++expect_seq;
        if (in) ++rep.frames;
        off += total;
      }
      // Keep the partial frame at the front (less than one frame of bytes).
      if (off) {
        std::memmove(buf.data(), buf.data() + off, have - off);
        have -= off;
      }
    }
    done.store(true, std::memory_order_relaxed);
  });
  reader.join();
  writer.join();
  ::close(fds[0]);
  ::close(fds[1]);
  if (!reader_error.empty()) throw std::runtime_error(reader_error);
  rep.window_seconds = static_cast<double>(end - start) / 1e9;
  return rep;
}

}  // namespace hms::load
