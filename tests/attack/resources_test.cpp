// Attacks on the hub's resources: descriptors (the hub at its RLIMIT_NOFILE
// while thousands of silent sockets wait), address space (RLIMIT_AS, big
// frames from many connections), the budget for partly received frames,
// and allocation failure itself.
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "harness/attack.hpp"

namespace hms::attack {
namespace {

std::string sanitized_build() {
  return kSanitized ? "a sanitized build: the sanitizer runtime reserves terabytes of address space and treats "
                      "running out of it as fatal, so RLIMIT_AS cannot be applied to the hub"
                    : "";
}

std::size_t vm_size_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, 7, "VmSize:") == 0) return std::strtoull(line.c_str() + 7, nullptr, 10);
  return 0;
}

// `n` handshaken clients each send `frame` whole, all at once; returns how
// many got an answer (the rest were closed).
int send_big_frames(std::uint16_t port, int n, const std::string& frame_bytes, std::uint16_t rid, Ms limit) {
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&] {
      auto c = RawConn::client(port);
      if (!c) return;
      if (!c->send(frame_bytes, limit)) return;
      if (auto r = c->reply_to(rid, limit)) ++answered;
    });
  }
  for (auto& t : threads) t.join();
  return answered.load();
}

// The hub at its descriptor limit (256) with 2,000 silent sockets queued:
// the excess is shed at once (accepted and closed, counted), a new client
// is refused promptly instead of waiting behind the backlog, the silent
// ones go at the handshake deadline, and then new clients get in again.
// The reference pair, connected before, keeps streaming.
HMS_ATTACK(Resources, DescriptorExhaustion, {.config = {.nofile = 256}, .shared = false}) {
  constexpr int kSilent = 2000;
  std::printf("[attack] hub has %zu descriptors open of 256\n", env.hub.open_fds());
  std::vector<int> fds;
  for (int i = 0; i < kSilent; ++i)
    if (const int fd = open_silent(env.port()); fd >= 0) fds.push_back(fd);
  ASSERT_GE(fds.size(), static_cast<std::size_t>(kSilent * 9 / 10)) << "the kernel refused our sockets";
  // A new client now, behind the flood: refused (or let in) at once, not
  // left waiting in the backlog. Watched while the silent ones are.
  const auto t0 = Clock::now();
  auto late = RawConn::open(env.port(), RawConn::Options{.connect_head = false});
  ASSERT_TRUE(late);
  late->send(kConnectHead);
  double late_ms = -1;
  std::thread watch([&] {
    const auto end = Clock::now() + seconds(kDeadline.handshake) + slack();
    while (Clock::now() < end && late->pump() && late->raw().find("\r\n\r\n") == std::string::npos) {
      pollfd p{late->fd(), POLLIN, 0};
      ::poll(&p, 1, 20);
    }
    if (late->closed() || late->raw().find("\r\n\r\n") != std::string::npos) late_ms = ms_since(t0);
  });
  const std::size_t closed = eof_within(fds, seconds(kDeadline.handshake) + slack());
  watch.join();
  for (int fd : fds) ::close(fd);
  EXPECT_GE(late_ms, 0) << "a client behind 2,000 silent sockets got no answer in " << ms_since(t0) << " ms";
  std::printf("[attack] late client answered after %.0f ms; %zu of %zu silent sockets closed in %.0f ms\n", late_ms,
              closed, fds.size(), ms_since(t0));
  EXPECT_EQ(closed, fds.size());
  // Room again: a new client gets in.
  std::unique_ptr<RawConn> again;
  EXPECT_TRUE(eventually([&] { return (again = RawConn::client(env.port())) != nullptr; }, slack(), 100ms))
      << "no new client got in after the silent sockets went";
  env.expect_count("hms_accept_shed_total", 1000);
}

// The hub under RLIMIT_AS = 1 GiB (it needs about 100 MB): 29 connections
// announcing 64 MiB before the handshake (once a std::bad_alloc abort), 29
// after it, then 64 clients sending 15 MiB frames whole at once (960 MiB):
// the budget for partial frames closes some, nothing aborts.
HMS_ATTACK(Resources, AddressSpaceLimit,
           {.config = {.address_space = rlim_t{1} << 30}, .shared = false, .unavailable = sanitized_build}) {
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 29; ++i) {
    if (auto c = RawConn::open(env.port())) {
      c->send(frame_announcing(FrameType::request, 0, 64u << 20, std::string("\x00\x00\x00", 3)));
      conns.push_back(std::move(c));
    }
    if (auto c = RawConn::client(env.port())) {
      c->send(frame_announcing(FrameType::request, 2, 64u << 20, std::string("\x01\x01\x00x", 4)));
      conns.push_back(std::move(c));
    }
  }
  EXPECT_EQ(conns.size(), 58u);
  EXPECT_EQ(closed_within(conns, slack()), conns.size());
  const std::string big = request(2, Opcode::add, "big", R"({"start":")" + std::string(15u << 20, 'x') + "\"}");
  const int answered = send_big_frames(env.port(), 64, big, 2, 30s);
  std::printf("[attack] 64 x 15 MiB under RLIMIT_AS 1 GiB: %d answered, hub RSS peak %.1f MB\n", answered,
              static_cast<double>(env.peak_kb()) / 1024);
  ASSERT_TRUE(env.hub.alive()) << "the hub died under RLIMIT_AS";
  EXPECT_GE(answered, 1);
  env.expect_count("hms_budget_closes_total", 1);
}

// The budget for partly received frames (--partial-budget-mb 32): 8 clients
// each send 12 MiB of a 15 MiB frame; the one that would pass the budget is
// closed, the hub's RSS stays near baseline + budget, and the others finish
// and are answered.
HMS_ATTACK(Resources, PartialFrameBudget, {.config = {.flags = {{"--partial-budget-mb", "32"}}}, .shared = false}) {
  const std::string big = request(2, Opcode::add, "big", R"({"start":")" + std::string(15u << 20, 'x') + "\"}");
  const std::size_t part = 12u << 20;
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 8; ++i) {
    auto c = RawConn::client(env.port());
    ASSERT_TRUE(c);
    conns.push_back(std::move(c));
  }
  std::vector<std::thread> writers;
  for (auto& c : conns) writers.emplace_back([&c, &big, part] { c->send(std::string_view(big).substr(0, part), 10s); });
  for (auto& w : writers) w.join();
  EXPECT_TRUE(eventually([&] { return env.delta("hms_budget_closes_total") >= 1; }, slack()))
      << "no connection closed for the budget (metric " << env.delta("hms_budget_closes_total") << ")";
  const std::size_t grew = env.peak_kb() > env.baseline_kb ? env.peak_kb() - env.baseline_kb : 0;
  EXPECT_LT(grew, (32u + (kSanitized ? 64u : 40u)) * 1024) << "the hub held more partial frames than its budget";
  int answered = 0;
  for (auto& c : conns) {
    if (c->closed() || !c->send(std::string_view(big).substr(part), 10s)) continue;
    auto r = c->reply_to(2, 10s);
    if (r && r->is_error("Service is too large (at most 262144 bytes)")) ++answered;
  }
  EXPECT_GE(answered, 1) << "no frame finished within the budget";
}

// Allocation failure itself: the running hub's RLIMIT_AS lowered (prlimit)
// to its size + 256 MiB, the budget out of the way, 48 clients sending
// 15 MiB frames at once. An allocation that fails closes that connection
// only: the hub lives, the reference pair streams on.
HMS_ATTACK(Resources, AllocationFailure,
           {.config = {.flags = {{"--partial-budget-mb", "4096"}}}, .shared = false, .unavailable = sanitized_build}) {
  const std::size_t vm = vm_size_kb(env.hub.pid());
  ASSERT_GT(vm, 0u);
  rlimit lim{(static_cast<rlim_t>(vm) << 10) + (rlim_t{256} << 20), RLIM_INFINITY};
  ASSERT_EQ(::prlimit(env.hub.pid(), RLIMIT_AS, &lim, nullptr), 0) << "prlimit: " << std::strerror(errno);
  struct Restore {
    pid_t pid;
    ~Restore() {
      rlimit none{RLIM_INFINITY, RLIM_INFINITY};
      ::prlimit(pid, RLIMIT_AS, &none, nullptr);
    }
  } restore{env.hub.pid()};
  const std::string big = request(2, Opcode::add, "big", R"({"start":")" + std::string(15u << 20, 'x') + "\"}");
  const int answered = send_big_frames(env.port(), 48, big, 2, 30s);
  std::printf("[attack] 48 x 15 MiB with %zu MB of address space left: %d answered\n", std::size_t{256}, answered);
  ASSERT_TRUE(env.hub.alive()) << "an allocation failure killed the hub";
  EXPECT_LT(answered, 48) << "no allocation failed: the limit did not bite";
  env.pair.check("right after the allocation failures");
}

}  // namespace
}  // namespace hms::attack
