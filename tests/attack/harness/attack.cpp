#include "harness/attack.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cerrno>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

namespace hms::attack {

namespace {

std::vector<Attack>& registry() {
  static std::vector<Attack> r;
  return r;
}

}  // namespace

RssSampler::RssSampler(HubProcess& hub) : hub_(hub) {
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      const std::size_t r = hub_.rss_kb();
      if (r > peak_.load()) peak_.store(r);
      std::this_thread::sleep_for(25ms);
    }
  });
}

RssSampler::~RssSampler() { stop(); }

std::size_t RssSampler::peak() const { return std::max(peak_.load(), hub_.rss_kb()); }

std::size_t RssSampler::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  return peak_.load();
}

// Brings the hub to its working size before the baseline: every receive
// buffer of both shards touched (docks writing log frames nobody listens
// to), the command and HTTP paths used once, a refused connection or two.
void warm_up(HubProcess& hub, RefPair& pair) {
  const std::string chunk = message(FrameType::message, 0, Opcode::stdout_, "warm@warm-dock", std::string(30000, 'w'));
  std::string burst;
  for (int i = 0; i < 32; ++i) burst += chunk;
  for (int d = 0; d < 4; ++d) {
    auto dock = RawConn::dock(hub.port(), "warm-dock-" + std::to_string(d));
    if (!dock) throw std::runtime_error("warm-up dock refused");
    for (int i = 0; i < 10; ++i) dock->send(burst);  // ~10 MB
    // A request round trip: everything before it was read.
    dock->send(request(9, Opcode::ps, ""));
    dock->next(2s);
  }
  auto c = RawConn::client(hub.port());
  if (!c) throw std::runtime_error("warm-up client refused");
  c->call(1, Opcode::add, "warm", R"({"start":"x"})");
  c->call(2, Opcode::list, "");
  c->call(3, Opcode::get, "warm");
  c->call(4, Opcode::remove, "warm");
  hub.metrics();
  http_request(hub.port(), "GET / HTTP/1.1\r\n\r\n");
  if (auto bad = RawConn::open(hub.port(), RawConn::Options{.connect_head = false})) {
    bad->send(std::string(16, '\xff'));
    bad->wait_closed(5s);
  }
  pair.check("warm-up");
}

// The RSS once it stops moving (two samples 100 ms apart within 512 KiB).
std::size_t settled_rss(HubProcess& hub) {
  std::size_t last = hub.rss_kb();
  const auto end = Clock::now() + 3s;
  while (Clock::now() < end) {
    std::this_thread::sleep_for(100ms);
    const std::size_t now = hub.rss_kb();
    const std::size_t diff = now > last ? now - last : last - now;
    last = now;
    if (diff < 512) break;
  }
  return last;
}

// After the attack: waits (bounded) for the RSS to come back near the
// baseline; returns the last sample.
std::size_t rss_after(HubProcess& hub, std::size_t baseline) {
  std::size_t now = hub.rss_kb();
  eventually(
      [&] {
        now = hub.rss_kb();
        return now <= baseline + kRssToleranceKb / 2;
      },
      kSanitized ? 15s : 8s, 100ms);
  return now;
}

void finish_hub(HubProcess& hub) {
  const int st = hub.stop(kSanitized ? 60s : 15s);
  EXPECT_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
      << "hms-hub did not exit 0 on SIGTERM (status " << st << "); log tail:\n"
      << printable(hub.log().substr(hub.log().size() > 3000 ? hub.log().size() - 3000 : 0), 3000);
  const std::string reports = hub.reports();
  EXPECT_TRUE(reports.empty()) << "the hub's log has reports:\n" << reports;
}

double Env::metric_before(std::string_view series) const { return HubProcess::metric_in(metrics_before, series); }

double Env::delta(std::string_view series) const {
  const double now = hub.metric(series);
  const double before = metric_before(series);
  if (now < 0) return -1;  // the hub does not have this metric
  return now - (before < 0 ? 0 : before);
}

void Env::expect_count(std::string_view series, double n) const {
  const double d = delta(series);
  if (d < 0) {
    ADD_FAILURE() << "the hub has no metric " << series;
    return;
  }
  EXPECT_GE(d, n) << series << " rose by " << d << " during the attack";
}

bool register_attack(Attack a) {
  registry().push_back(std::move(a));
  return true;
}

const std::vector<Attack>& attacks() { return registry(); }

bool connections_settle(HubProcess& hub, const std::string& kind, double n, Ms limit) {
  const std::string series = "hms_connections{kind=\"" + kind + "\"}";
  // The GET /metrics that reads the gauge is a connection that has not
  // handshaken: it may count itself there.
  const bool self = kind == "handshaking";
  return eventually(
      [&] {
        const double v = hub.metric(series);
        return v == n || (self && v == n + 1);
      },
      limit, 50ms);
}

std::vector<std::unique_ptr<RawConn>> open_many(std::uint16_t port, std::size_t n, RawConn::Options o) {
  std::vector<std::unique_ptr<RawConn>> v;
  for (std::size_t i = 0; i < n; ++i)
    if (auto c = RawConn::open(port, o)) v.push_back(std::move(c));
  return v;
}

std::size_t closed_within(std::vector<std::unique_ptr<RawConn>>& v, Ms limit) {
  // One poll over all of them: every connection keeps reading (and
  // answering pings, where it does) while the others are waited for.
  const auto end = Clock::now() + limit;
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<RawConn*> open;
    for (auto& c : v) {
      if (!c->pump()) continue;
      fds.push_back(pollfd{c->fd(), POLLIN, 0});
      open.push_back(c.get());
    }
    const auto left = std::chrono::duration_cast<Ms>(end - Clock::now()).count();
    if (open.empty() || left <= 0) return v.size() - open.size();
    ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long>(left, 100)));
  }
}

std::size_t eof_within(const std::vector<int>& fds, Ms limit) {
  const auto end = Clock::now() + limit;
  std::vector<bool> done(fds.size(), false);
  std::size_t n = 0;
  while (n < fds.size()) {
    std::vector<pollfd> p;
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < fds.size(); ++i)
      if (!done[i]) {
        p.push_back(pollfd{fds[i], POLLIN, 0});
        at.push_back(i);
      }
    // One look even when the time is up: what has happened counts.
    const auto left = std::max<long>(0, std::chrono::duration_cast<Ms>(end - Clock::now()).count());
    const int ready = ::poll(p.data(), p.size(), static_cast<int>(std::min<long>(left, 100)));
    if (ready <= 0) {
      if (left == 0) break;
      continue;
    }
    for (std::size_t k = 0; k < p.size(); ++k) {
      if (!p[k].revents) continue;
      char tmp[4096];
      const ssize_t r = ::recv(p[k].fd, tmp, sizeof tmp, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        done[at[k]] = true;
        ++n;
      }
    }
    if (left == 0) break;
  }
  return n;
}

void run_alone(const std::string& family, const std::string& name) {
  const Attack* a = nullptr;
  for (const auto& x : attacks())
    if (x.family == family && x.name == name) a = &x;
  ASSERT_NE(a, nullptr);
  if (a->spec.unavailable) {
    if (const std::string why = a->spec.unavailable(); !why.empty()) GTEST_SKIP() << why;
  }
  if (const std::string why = node_missing(); !why.empty()) FAIL() << why;
  raise_own_nofile();
  TempDir dir;
  HubProcess hub(dir, a->spec.config);
  {
    RefPair pair(hub.port());
    warm_up(hub, pair);
    const std::size_t baseline = settled_rss(hub);
    const std::size_t log_before = hub.log_lines();
    RssSampler sampler(hub);
    Env env{hub, pair, dir, hub.metrics(), baseline, [&sampler] { return sampler.peak(); }};
    const auto t0 = Clock::now();
    a->fn(env);
    const double took = ms_since(t0) / 1000.0;
    const std::size_t peak = sampler.stop();
    ASSERT_TRUE(hub.alive()) << "the hub died during the attack; log tail:\n"
                             << printable(hub.log().substr(hub.log().size() > 3000 ? hub.log().size() - 3000 : 0),
                                          3000);
    pair.check("after the attack");
    const std::size_t after = rss_after(hub, baseline);
    std::printf("[attack] %s.%s: %.1f s; hub RSS baseline %.1f MB, peak %.1f MB, after %.1f MB (%+.1f); "
                "%zu log lines\n",
                family.c_str(), name.c_str(), took, mb(baseline), mb(peak), mb(after), mb(after) - mb(baseline),
                hub.log_lines() - log_before);
    std::fflush(stdout);
    ::testing::Test::RecordProperty("rss_baseline_kb", static_cast<int>(baseline));
    ::testing::Test::RecordProperty("rss_peak_kb", static_cast<int>(peak));
    ::testing::Test::RecordProperty("rss_after_kb", static_cast<int>(after));
    EXPECT_LE(after, baseline + kRssToleranceKb)
        << "hub RSS did not come back near its baseline: " << mb(baseline) << " MB before, " << mb(after)
        << " MB after (tolerance " << mb(kRssToleranceKb) << " MB)";
  }
  finish_hub(hub);
}

}  // namespace hms::attack
