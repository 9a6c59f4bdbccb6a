// The attack suite's frame: every attack is a function on an Env (a live
// hms-hub, the reference pair streaming through it, a temp dir), registered
// by HMS_ATTACK, which also makes it a gtest test of its own:
//
//   HMS_ATTACK(Frames, HugeLength, {}) { ... env.hub ... }
//
// Alone (one ctest test each), an attack gets a fresh hub with the suite's
// flags plus its own, the reference pair, a warm-up, and a baseline RSS;
// afterwards the pair is checked (nothing lost, still connected, commands
// answered), the hub's RSS must come back within kRssTolerance of the
// baseline, and the hub must exit 0 on SIGTERM without a sanitizer report.
// Attacks marked `shared` also run one after another on one hub
// (Suite.DISABLED_AllOnOneHub, which scripts/bench hub runs for attack_rss).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <string>
#include <vector>

#include "harness/common.hpp"
#include "harness/hub_process.hpp"
#include "harness/raw.hpp"
#include "harness/ref_pair.hpp"

namespace hms::attack {

// How far above its baseline the hub's RSS may stay once an attack is over.
// Under ASan freed blocks sit in a (16 MiB, see hub_process.cpp) quarantine
// and shadow pages come back late: more room there.
inline constexpr std::size_t kRssToleranceKb = (kSanitized ? 48u : 20u) * 1024;

struct Env {
  HubProcess& hub;
  RefPair& pair;
  const TempDir& dir;
  std::string metrics_before;      // /metrics when the attack began
  std::size_t baseline_kb = 0;     // hub RSS when the attack began
  std::function<std::size_t()> peak_kb{};  // hub RSS peak since then

  std::uint16_t port() const { return hub.port(); }
  // Counter delta since the attack began (metrics read now); -1 when the
  // hub has no such metric.
  double delta(std::string_view series) const;
  double metric_before(std::string_view series) const;
  // EXPECTs that counter `series` rose by at least `n` during the attack,
  // with a message that says when the hub lacks the metric.
  void expect_count(std::string_view series, double n) const;
};

struct AttackSpec {
  HubConfig config{};   // flags over the suite's, rlimits
  bool shared = true;   // may run on the shared hub (suite flags, no rlimit)
  // Why the attack cannot run here ("" when it can): checked before any
  // hub starts, reported as a skip.
  std::function<std::string()> unavailable{};
};

using AttackFn = void (*)(Env&);
struct Attack {
  std::string family, name;
  AttackSpec spec;
  AttackFn fn;
};

bool register_attack(Attack a);
const std::vector<Attack>& attacks();
// Runs one registered attack on a hub of its own (the gtest body).
void run_alone(const std::string& family, const std::string& name);

// The pieces of run_alone, for the whole-suite run (suite_test.cpp).
// Samples the hub's RSS every 25 ms while it lives, for the peak.
class RssSampler {
 public:
  explicit RssSampler(HubProcess& hub);
  ~RssSampler();
  RssSampler(const RssSampler&) = delete;
  RssSampler& operator=(const RssSampler&) = delete;
  std::size_t peak() const;
  std::size_t stop();  // returns the peak

 private:
  HubProcess& hub_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> peak_{0};
  std::thread thread_;
};
// Brings a fresh hub to its working size before a baseline is taken.
void warm_up(HubProcess& hub, RefPair& pair);
// The RSS once it stops moving; the RSS after an attack once back near
// `baseline` (or when waiting is over).
std::size_t settled_rss(HubProcess& hub);
std::size_t rss_after(HubProcess& hub, std::size_t baseline);
// SIGTERM: the hub must exit 0 with no sanitizer report in its log.
void finish_hub(HubProcess& hub);
inline double mb(std::size_t kb) { return static_cast<double>(kb) / 1024.0; }

// Helpers for attack bodies.
// Waits until the hub's gauge of open connections of `kind` is `n`.
bool connections_settle(HubProcess& hub, const std::string& kind, double n, Ms limit);
// Opens n raw connections (with or without CONNECT head); nullptrs dropped.
std::vector<std::unique_ptr<RawConn>> open_many(std::uint16_t port, std::size_t n, RawConn::Options o = {});
// How many of the connections in `v` the hub closed within `limit` (from
// now). All are read all along, so those that answer pings keep doing so.
std::size_t closed_within(std::vector<std::unique_ptr<RawConn>>& v, Ms limit);
// How many of the plain sockets `fds` the hub closed (EOF or reset) within
// `limit`, all waited for at once. The sockets stay open.
std::size_t eof_within(const std::vector<int>& fds, Ms limit);

}  // namespace hms::attack

// Defines attack Family.Name with its spec, registers it, and makes a gtest
// test Family.Name that runs it alone.
#define HMS_ATTACK(family, name, ...)                                                            \
  static void hms_attack_##family##_##name(::hms::attack::Env& env);                             \
  [[maybe_unused]] static const bool hms_attack_registered_##family##_##name =                    \
      ::hms::attack::register_attack(                                                            \
          {#family, #name, ::hms::attack::AttackSpec __VA_ARGS__, &hms_attack_##family##_##name}); \
  TEST(family, name) { ::hms::attack::run_alone(#family, #name); }                               \
  static void hms_attack_##family##_##name([[maybe_unused]] ::hms::attack::Env& env)
