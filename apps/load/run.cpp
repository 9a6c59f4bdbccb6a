// One run: start the workers, wait for the clients, then the docks, warm
// up, measure the window (hub memory and CPU, our own CPU, the machine's
// cores), stop, and add up what the workers counted.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "hms/frame.hpp"
#include "keep_awake.hpp"
#include "load.hpp"
#include "procstat.hpp"
#include "shared.hpp"
#include "worker.hpp"

namespace hms::load {
namespace {

using namespace std::chrono_literals;

std::string local_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  // The name goes into a JSON string unescaped: keep the characters a host
  // name may have.
  std::string out;
  for (const char* p = buf; *p; ++p) {
    const char ch = *p;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
        ch == '-' || ch == '_')
      out += ch;
  }
  return out.empty() ? "localhost" : out;
}

double process_cpu_seconds() {
  timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Waits until pred() or the deadline, sampling the hub's memory meanwhile.
template <class Pred, class Sample>
bool wait_until(Pred pred, std::int64_t deadline, Sample sample) {
  while (!pred()) {
    if (mono_ns() >= deadline) return false;
    sample();
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

}  // namespace

Report run(const Options& o) {
  if (o.payload < kStampBytes)
    throw std::invalid_argument("--payload must be at least " + std::to_string(kStampBytes) + " bytes");
  if (o.threads == 0 || o.services == 0 || o.batch == 0)
    throw std::invalid_argument("--threads, --services and --batch must be >= 1");
  Shared sh;
  sh.opt = o;
  sh.hub = resolve_hub(o.hub);
  sh.hostname = local_hostname();
  sh.t0 = mono_ns();
  sh.period_ns = o.rate > 0 ? std::max<std::int64_t>(1, static_cast<std::int64_t>(1e9 / o.rate)) : 0;
  // The summary shows the size of dock 0's frames.
  sh.frame_bytes = message_head_size(service_name(0).size() + 1 + std::string("dock-0").size()) + o.payload;
  const unsigned listeners = o.clients + o.streams;
  if (o.rate == 0 && o.window_kb > 0 && listeners > 0)
    sh.window_frames = std::max<std::int64_t>(static_cast<std::int64_t>(o.batch),
                                              static_cast<std::int64_t>(o.window_kb * 1024 / sh.frame_bytes));
  sh.tally = std::make_unique<ClientTally[]>(listeners);

  Report rep;
  rep.frame_bytes = sh.frame_bytes;

  // Memory of the hub over the whole run: connection set-up is often where
  // the peak is.
  std::uint64_t peak_kb = 0, last_kb = 0;
  auto sample = [&] {
    if (!o.hub_pid) return;
    if (auto m = read_memory(*o.hub_pid)) {
      peak_kb = std::max({peak_kb, m->rss_kb, m->hwm_kb});
      last_kb = m->rss_kb;
    }
  };
  std::int64_t next_sample = 0;
  auto sample_every_100ms = [&] {
    const std::int64_t now = mono_ns();
    if (now < next_sample) return;
    next_sample = now + 100'000'000;
    sample();
  };

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<Worker>(sh, i));
  for (auto& w : workers) sh.workers.push_back(w.get());
  for (unsigned i = 0; i < listeners; ++i) workers[i % o.threads]->add_client(i);
  // Each worker opens its clients as soon as it runs.
  for (auto& w : workers) w->start();
  auto finish = [&] {
    sh.stopping.store(true);
    sample();
    for (auto& w : workers) w->notify();
    for (auto& w : workers) w->join();
  };
  const std::int64_t setup_deadline = mono_ns() + static_cast<std::int64_t>(o.setup_timeout * 1e9);

  // 1. Clients, all subscribed before the first dock exists.
  const bool clients_ok = wait_until(
      [&] { return sh.clients_up.load() + sh.clients_failed.load() >= listeners; }, setup_deadline,
      sample_every_100ms);
  if (!clients_ok || sh.clients_failed.load()) {
    if (!clients_ok) sh.error("clients not subscribed within --setup-timeout");
    finish();
    rep.clients_up = sh.clients_up.load();
    rep.clients_failed = listeners - rep.clients_up;
    rep.errors = sh.errors;
    return rep;
  }
  std::fprintf(stderr, "hms-load: %u client%s and %u event stream%s subscribed to '%s'\n", o.clients,
               o.clients == 1 ? "" : "s", o.streams, o.streams == 1 ? "" : "s", o.subscribe.c_str());

  // 2. Docks, in a bounded window.
  sh.docks_go.store(true, std::memory_order_release);
  for (auto& w : workers) w->notify();
  const bool docks_ok = wait_until(
      [&] { return sh.docks_up.load() + sh.docks_failed.load() >= o.docks; }, setup_deadline,
      sample_every_100ms);
  rep.docks_up = sh.docks_up.load();
  rep.docks_failed = o.docks - rep.docks_up;
  if (o.docks)
    rep.connect_seconds = static_cast<double>(sh.last_handshake.load() - sh.first_connect.load()) / 1e9;
  if (!docks_ok || sh.docks_failed.load()) {
    if (!docks_ok) sh.error("docks not up within --setup-timeout");
    finish();
    rep.clients_up = sh.clients_up.load();
    rep.errors = sh.errors;
    return rep;
  }
  std::fprintf(stderr, "hms-load: %u dock%s up in %.2f s\n", o.docks, o.docks == 1 ? "" : "s",
               rep.connect_seconds);

  // 3. Warm-up, then the window (with the cores kept awake if asked).
  KeepAwake awake(o.keep_awake);
  const std::int64_t warm_end = mono_ns() + static_cast<std::int64_t>(o.warmup * 1e9);
  wait_until([&] { return mono_ns() >= warm_end; }, LLONG_MAX, sample_every_100ms);
  const std::int64_t start = mono_ns();
  const std::int64_t end = start + static_cast<std::int64_t>(o.duration * 1e9);
  const auto hub_cpu0 = o.hub_pid ? read_cpu_seconds(*o.hub_pid) : std::nullopt;
  const double self_cpu0 = process_cpu_seconds();
  const double awake_cpu0 = awake.cpu_seconds();
  std::vector<std::optional<double>> thread_cpu0;
  for (auto& w : workers) thread_cpu0.push_back(w->cpu_seconds());
  const auto cpus0 = read_cpu_times();
  sh.win_start.store(start);
  sh.win_end.store(end);
  rep.docks_streaming = sh.streaming.load();
  wait_until([&] { return mono_ns() >= end; }, LLONG_MAX, sample_every_100ms);
  const std::int64_t stopped = mono_ns();
  const auto hub_cpu1 = o.hub_pid ? read_cpu_seconds(*o.hub_pid) : std::nullopt;
  const double self_cpu1 = process_cpu_seconds();
  const double awake_cpu1 = awake.cpu_seconds();
  std::vector<std::optional<double>> thread_cpu1;
  for (auto& w : workers) thread_cpu1.push_back(w->cpu_seconds());
  const auto cpus1 = read_cpu_times();
  finish();
  for (std::size_t i = 0; i < cpus0.size() && i < cpus1.size(); ++i) {
    const double total = static_cast<double>(cpus1[i].total - cpus0[i].total);
    rep.cpu_busy.push_back(total > 0 ? static_cast<double>(cpus1[i].busy - cpus0[i].busy) / total : 0);
  }

  rep.window_seconds = static_cast<double>(end - start) / 1e9;
  const double wall = static_cast<double>(stopped - start) / 1e9;
  if (wall > 0) {
    if (hub_cpu0 && hub_cpu1) rep.hub_cpu = (*hub_cpu1 - *hub_cpu0) / wall;
    rep.keep_awake_cpu = (awake_cpu1 - awake_cpu0) / wall;
    rep.load_cpu = (self_cpu1 - self_cpu0) / wall - rep.keep_awake_cpu;
    for (std::size_t i = 0; i < workers.size(); ++i)
      if (thread_cpu0[i] && thread_cpu1[i]) rep.load_thread_cpu.push_back((*thread_cpu1[i] - *thread_cpu0[i]) / wall);
  }
  if (o.hub_pid && peak_kb) {
    rep.hub_rss_peak_mb = static_cast<double>(peak_kb) / 1024.0;
    rep.hub_rss_end_mb = static_cast<double>(last_kb) / 1024.0;
  }
  for (auto& w : workers) {
    const Counts& c = w->counts();
    rep.sent += c.sent;
    rep.delivered += c.delivered;
    rep.stream_delivered += c.stream_delivered;
    rep.skipped += c.skipped;
    rep.lost += c.lost;
    rep.reordered += c.reordered;
    rep.malformed += c.malformed;
    rep.latency.merge(c.latency);
  }
  rep.clients_up = sh.clients_up.load();
  rep.docks_lost = sh.docks_lost.load();
  rep.clients_lost = sh.clients_lost.load();
  rep.errors = sh.errors;
  return rep;
}

}  // namespace hms::load
