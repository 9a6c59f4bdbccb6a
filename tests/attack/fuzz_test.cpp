// A live-socket fuzz: many connections at once throw random bytes and
// mutated golden frames (the reference's exact bytes, tests/data) at the
// hub, with and without the HTTP head and the handshake, in random chunks,
// for HMS_ATTACK_FUZZ_SECONDS (4 in CI; `scripts/fuzz live SECONDS` runs it
// longer). The hub must stay up and answer, the reference pair must not
// notice, and the connections and memory must come back.
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include "engine/wire.hpp"
#include "harness/attack.hpp"

namespace hms::attack {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {
    for (auto& [name, bytes] : hms::test::load_vectors()) vectors_.push_back(bytes);
  }
  std::size_t below(std::size_t n) { return n ? rng_() % n : 0; }
  bool chance(unsigned percent) { return below(100) < percent; }
  std::string random_bytes(std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng_());
    return s;
  }
  const std::string& vector() { return vectors_[below(vectors_.size())]; }

  // One golden vector, changed in one or more ways.
  std::string mutated() {
    std::string s = vector();
    const int rounds = 1 + static_cast<int>(below(3));
    for (int r = 0; r < rounds && !s.empty(); ++r) {
      switch (below(9)) {
        case 0:  // bit flips
          for (std::size_t i = 0, n = 1 + below(8); i < n; ++i) s[below(s.size())] ^= static_cast<char>(1 << below(8));
          break;
        case 1: s[below(s.size())] = static_cast<char>(rng_()); break;
        case 2: s.resize(below(s.size())); break;  // truncation
        case 3:  // the length field
          if (s.size() >= kHeaderSize) {
            const std::uint32_t lens[] = {0, 1, 2, 3, static_cast<std::uint32_t>(s.size()), 65536, 65537,
                                          16u << 20, (16u << 20) + 1, 0xFFFFFFFFu, static_cast<std::uint32_t>(rng_())};
            const std::uint32_t v = lens[below(std::size(lens))];
            for (int i = 0; i < 4; ++i) s[3 + i] = static_cast<char>(v >> (8 * i));
          }
          break;
        case 4:  // the id length field
          if (s.size() >= kHeaderSize + 3) {
            const auto v = static_cast<std::uint16_t>(chance(50) ? below(16) : rng_());
            s[kHeaderSize + 1] = static_cast<char>(v);
            s[kHeaderSize + 2] = static_cast<char>(v >> 8);
          }
          break;
        case 5: s[0] = static_cast<char>(below(8)); break;  // type, valid or not
        case 6: {  // splice: a prefix of this, the rest of another
          const std::string& o = vector();
          s = s.substr(0, below(s.size() + 1)) + o.substr(below(o.size() + 1));
          break;
        }
        case 7: {  // repeat
          const std::string one = s;
          for (std::size_t i = 0, n = 1 + below(20); i < n; ++i) s += one;
          break;
        }
        default: s.insert(below(s.size() + 1), random_bytes(1 + below(64))); break;
      }
    }
    return s;
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  std::vector<std::string> vectors_;
};

struct Stats {
  std::atomic<std::uint64_t> connections{0}, bytes{0}, closed_by_hub{0}, refused{0};
  // Connections the fuzz walks away from without closing: the hub's
  // deadlines must end every one of them.
  std::mutex mu;
  std::vector<std::unique_ptr<RawConn>> abandoned;
};

// One fuzz connection: a random opening, then random or mutated frames in
// random chunks, reading (and dropping) whatever comes back, until a random
// end or the hub closes.
void one_connection(std::uint16_t port, Mutator& m, Stats& stats) {
  const std::size_t mode = m.below(7);
  auto c = RawConn::open(port, RawOptions{.connect_head = false});
  if (!c) {
    ++stats.refused;
    return;
  }
  ++stats.connections;
  std::string opening;
  if (mode >= 1 && mode <= 3) opening = kConnectHead;
  if (mode == 2 || mode == 4) opening += client_handshake(0);
  if (mode == 3) opening += dock_handshake("fuzz-dock-" + std::to_string(m.below(4)), R"(["fuzz"])", 0);
  if (mode == 6) {  // a mutated HTTP head
    std::string head = m.chance(50) ? kConnectHead : std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    for (std::size_t i = 0, n = 1 + m.below(4); i < n; ++i) head[m.below(head.size())] = static_cast<char>(m.rng()());
    opening = head;
  }
  std::string out = opening;
  const std::size_t messages = 1 + m.below(40);
  for (std::size_t i = 0; i < messages; ++i) out += mode == 0 ? m.random_bytes(1 + m.below(2048)) : m.mutated();
  std::string_view rest(out);
  while (!rest.empty() && !c->closed()) {
    const std::size_t n = std::min(rest.size(), 1 + m.below(m.chance(20) ? 8 : 4096));
    if (!c->send(rest.substr(0, n), 500ms)) break;
    stats.bytes += n;
    rest.remove_prefix(n);
    c->read_some(0ms);
    if (c->raw().size() > (1u << 20)) c = nullptr;  // a chatty answer: enough
    if (!c) return;
    if (m.chance(3)) std::this_thread::sleep_for(Ms(m.below(5)));
  }
  if (m.chance(5)) {
    std::lock_guard l(stats.mu);
    if (stats.abandoned.size() < 200) {
      c->answer_pings = false;
      c->framed = false;
      stats.abandoned.push_back(std::move(c));
      return;
    }
  }
  if (m.chance(30)) {
    c->shutdown_write();
    if (c->wait_closed(200ms)) ++stats.closed_by_hub;
  } else if (c->closed()) {
    ++stats.closed_by_hub;
  }
}

HMS_ATTACK(Fuzz, LiveSockets, {}) {
  const int seconds_to_run = env_int("HMS_ATTACK_FUZZ_SECONDS", 4);
  const int workers = env_int("HMS_ATTACK_FUZZ_CONNECTIONS", 24);
  const std::uint64_t seed = env_int("HMS_ATTACK_FUZZ_SEED", 0) ? static_cast<std::uint64_t>(env_int("HMS_ATTACK_FUZZ_SEED", 0))
                                                                : std::random_device{}();
  std::printf("[attack] live fuzz: %d s, %d connections at a time, seed %llu (HMS_ATTACK_FUZZ_SEED)\n", seconds_to_run,
              workers, static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  Stats stats;
  const auto end = Clock::now() + std::chrono::seconds(seconds_to_run);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      Mutator m(seed * 1000003u + static_cast<std::uint64_t>(w));
      while (Clock::now() < end) one_connection(env.port(), m, stats);
    });
  }
  // The hub answers all along.
  int checks = 0, answered = 0;
  while (Clock::now() < end) {
    ++checks;
    if (http_request(env.port(), "GET / HTTP/1.1\r\n\r\n", 5s).status == "HTTP/1.1 200 OK") ++answered;
    std::this_thread::sleep_for(250ms);
  }
  for (auto& t : threads) t.join();
  std::printf("[attack] live fuzz: %llu connections, %.1f MB sent, %llu closed by the hub, %llu refused\n",
              static_cast<unsigned long long>(stats.connections.load()),
              static_cast<double>(stats.bytes.load()) / 1e6,
              static_cast<unsigned long long>(stats.closed_by_hub.load()),
              static_cast<unsigned long long>(stats.refused.load()));
  ASSERT_TRUE(env.hub.alive()) << "the hub died under the fuzz (seed " << seed << ")";
  // Every connection the fuzz left open is ended by one of the deadlines
  // (handshake, read, ping).
  const Ms all_deadlines =
      seconds(kDeadline.handshake + kDeadline.read + kDeadline.ping_interval + kDeadline.ping_timeout) + slack();
  const std::size_t abandoned = stats.abandoned.size();
  const std::size_t ended = closed_within(stats.abandoned, all_deadlines);
  std::printf("[attack] live fuzz: the hub ended %zu of the %zu connections left open\n", ended, abandoned);
  EXPECT_EQ(ended, abandoned) << "connections left open by the fuzz outlived every deadline";
  stats.abandoned.clear();
  EXPECT_EQ(answered, checks) << "GET / went unanswered during the fuzz";
  EXPECT_GT(stats.connections.load(), 100u);
  EXPECT_EQ(stats.refused.load(), 0u);
  // Everything the fuzz opened is gone: only the reference pair is left.
  EXPECT_TRUE(connections_settle(env.hub, "client", 1, seconds(kDeadline.handshake + kDeadline.ping_interval +
                                                                kDeadline.ping_timeout) + slack()))
      << env.hub.metrics();
  EXPECT_TRUE(connections_settle(env.hub, "dock", 1, slack())) << env.hub.metrics();
  EXPECT_TRUE(connections_settle(env.hub, "handshaking", 0, slack())) << env.hub.metrics();
  EXPECT_EQ(env.hub.reports(), "") << "seed " << seed;
}

}  // namespace
}  // namespace hms::attack
