// hms-load: load generator for the hub. See `hms-load --help` and load.hpp.
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include "hms/log.hpp"
#include "load.hpp"

namespace {

// One result line, as scripts/bench_hub.sh and scripts/bench collect them.
void json_line(const std::string& bench, const std::string& impl, double value, const char* unit) {
  // Integers print as integers; fractions keep three decimals.
  if (std::floor(value) == value && std::fabs(value) < 1e15)
    std::printf("{\"bench\":\"%s\",\"impl\":\"%s\",\"value\":%.0f,\"unit\":\"%s\"}\n", bench.c_str(),
                impl.c_str(), value, unit);
  else
    std::printf("{\"bench\":\"%s\",\"impl\":\"%s\",\"value\":%.3f,\"unit\":\"%s\"}\n", bench.c_str(),
                impl.c_str(), value, unit);
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

void raise_fd_limit() {
  // 10,000 docks are 10,000 descriptors: take all the hard limit allows.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int report(const hms::load::Options& o, const hms::load::Report& r, const std::string& name,
           const std::string& impl, bool json) {
  const bool setup_ok = r.docks_failed == 0 && r.clients_failed == 0 && r.docks_up == o.docks &&
                        r.clients_up == o.clients;
  char rate[48] = "max";
  if (o.rate > 0) std::snprintf(rate, sizeof rate, "%g/s per dock", o.rate);
  std::printf("hms-load %s: %u docks, %u clients, %zu-byte payloads (%zu-byte frames), rate %s, "
              "subscribe '%s', %u service%s, %s, %u thread%s\n",
              name.c_str(), o.docks, o.clients, o.payload, r.frame_bytes,
              rate,
              o.subscribe.c_str(), o.services, o.services == 1 ? "" : "s",
              o.raw ? "raw frames" : "HTTP CONNECT", o.threads, o.threads == 1 ? "" : "s");
  std::printf("  set-up     %u/%u clients, %u/%u docks up (docks in %.2f s)\n", r.clients_up, o.clients,
              r.docks_up, o.docks, r.connect_seconds);
  for (const auto& e : r.errors) std::printf("  error      %s\n", e.c_str());
  if (!setup_ok) {
    std::printf("  FAILED: set-up incomplete, nothing measured\n");
    return 1;
  }
  std::printf("  window     %.2f s after %.2f s warm-up\n", r.window_seconds, o.warmup);
  std::printf("  sent       %.0f frames/s by the docks", r.sent_per_s());
  if (o.rate > 0) std::printf(" (%llu skipped: dock not writable)", static_cast<unsigned long long>(r.skipped));
  std::printf("\n");
  std::printf("  delivered  %.0f frames/s to the clients (%.1f MB/s)\n", r.delivered_per_s(),
              r.delivered_per_s() * static_cast<double>(r.frame_bytes) / 1e6);
  const auto& h = r.latency;
  std::printf("  latency    p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us (%llu frames)\n",
              us(h.quantile(0.50)), us(h.quantile(0.99)), us(h.quantile(0.999)), us(h.max()),
              static_cast<unsigned long long>(h.count()));
  std::printf("  lost       %llu frames (sequence gaps), %llu reordered, %llu malformed\n",
              static_cast<unsigned long long>(r.lost), static_cast<unsigned long long>(r.reordered),
              static_cast<unsigned long long>(r.malformed));
  if (r.docks_lost || r.clients_lost)
    std::printf("  closed     %u docks, %u clients lost their connection during the run\n", r.docks_lost,
                r.clients_lost);
  if (r.hub_rss_peak_mb)
    std::printf("  hub        RSS peak %.1f MB (end %.1f MB), CPU %.0f%% of a core in the window\n",
                *r.hub_rss_peak_mb, r.hub_rss_end_mb.value_or(0), r.hub_cpu.value_or(0) * 100);
  std::printf("  hms-load   CPU %.0f%% of a core in the window\n", r.load_cpu * 100);
  if (!r.cpu_busy.empty()) {
    // Busy time of every core against what the hub and hms-load used: the
    // difference is other processes competing for the cores.
    double busy = 0;
    std::printf("  machine    busy");
    for (std::size_t i = 0; i < r.cpu_busy.size(); ++i) {
      std::printf(" cpu%zu %.0f%%", i, r.cpu_busy[i] * 100);
      busy += r.cpu_busy[i];
    }
    const double others = busy - r.load_cpu - r.hub_cpu.value_or(0);
    std::printf("; others used %.0f%% of a core%s\n", std::max(0.0, others) * 100,
                r.hub_cpu ? "" : " (hub not counted: no --hub-pid)");
  }
  std::fflush(stdout);

  const bool clean = r.malformed == 0 && r.docks_lost == 0 && r.clients_lost == 0 && r.delivered > 0;
  if (json) {
    json_line(name, impl, std::round(r.delivered_per_s()), "frames/s");
    json_line(name + "_sent", impl, std::round(r.sent_per_s()), "frames/s");
    json_line(name + "_p50", impl, us(h.quantile(0.50)), "us");
    json_line(name + "_p99", impl, us(h.quantile(0.99)), "us");
    json_line(name + "_p999", impl, us(h.quantile(0.999)), "us");
    json_line(name + "_max", impl, us(h.max()), "us");
    json_line(name + "_lost", impl, static_cast<double>(r.lost), "frames");
    if (r.hub_rss_peak_mb) json_line(name + "_rss", impl, std::round(*r.hub_rss_peak_mb * 10) / 10, "MB");
    if (r.hub_cpu) json_line(name + "_hub_cpu", impl, std::round(*r.hub_cpu * 100), "%");
    json_line(name + "_load_cpu", impl, std::round(r.load_cpu * 100), "%");
    if (!r.cpu_busy.empty() && r.hub_cpu) {
      double busy = 0;
      for (double b : r.cpu_busy) busy += b;
      json_line(name + "_others_cpu", impl, std::round(std::max(0.0, busy - r.load_cpu - *r.hub_cpu) * 100), "%");
    }
    std::fflush(stdout);
  }
  if (!clean) {
    std::fprintf(stderr, "hms-load: the run is not clean (%s)\n",
                 r.delivered == 0 ? "nothing delivered" : "connections lost or foreign frames");
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "hms-load: simulated docks and clients against a running hub (hms-hub or the reference\n"
      "terminal). Docks stream stdout frames stamped with their send time; clients subscribe\n"
      "and measure delivered frames/s, end-to-end latency and sequence gaps.\n"
      "`hms-load loopback` measures the raw loopback floor for the same frames instead."};
  hms::load::Options o;
  std::string name = "load", impl = "hms", log_level = "warn";
  bool json = false;
  pid_t hub_pid = 0;
  app.add_option("--hub", o.hub, "Hub endpoint host:port")->capture_default_str();
  app.add_option("--docks", o.docks, "Simulated docks")->capture_default_str();
  app.add_option("--clients", o.clients, "Clients, each subscribed to --subscribe")->capture_default_str();
  app.add_option("--payload", o.payload, "stdout payload bytes (>= 20: stamp, sequence, dock)")
      ->capture_default_str();
  app.add_option("--rate", o.rate, "stdout frames per second per dock; 0 = as fast as the path allows")
      ->capture_default_str();
  app.add_option("--subscribe", o.subscribe, "What clients subscribe to: a service id or '*'")
      ->capture_default_str();
  app.add_option("--services", o.services, "Services web0..web<N-1>; dock i runs web<i mod N>")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--duration", o.duration, "Measured seconds")->capture_default_str();
  app.add_option("--warmup", o.warmup, "Unmeasured seconds after set-up")->capture_default_str();
  app.add_option("--threads", o.threads, "Reactor threads in hms-load")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  app.add_flag("--raw", o.raw, "Raw frames from the first byte instead of the HTTP CONNECT upgrade");
  app.add_option("--hub-pid", hub_pid, "Hub process: report its peak RSS and CPU use");
  app.add_option("--window-kb", o.window_kb,
                 "Rate 0: KiB in flight per client, end to end (0: unlimited; the hub may then "
                 "disconnect a client that falls behind)")
      ->capture_default_str();
  app.add_option("--dock-high-water", o.dock_high_water, "Bytes a dock queues before waiting for drain")
      ->capture_default_str();
  app.add_option("--connect-window", o.connect_window, "Docks connecting (handshake pending) at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--setup-timeout", o.setup_timeout, "Seconds allowed for clients and docks to come up")
      ->capture_default_str();
  app.add_option("--name", name, "Bench name in the JSON lines")->capture_default_str();
  app.add_option("--impl", impl, "Impl name in the JSON lines")->capture_default_str();
  app.add_flag("--json", json, "Also print one JSON object per result line");
  app.add_option("--log-level", log_level, "Engine log level: error, warn, info, debug")->capture_default_str();

  hms::load::LoopbackOptions lo;
  std::string lo_name = "raw_loopback";
  auto* loop = app.add_subcommand(
      "loopback",
      "Raw floor: a blocking writer thread and reader thread (first two CPUs of the affinity mask)\n"
      "moving the same stdout frames over one loopback TCP socket; frames/s at the reader.");
  loop->add_option("--payload", lo.payload, "stdout payload bytes")->capture_default_str();
  loop->add_option("--duration", lo.duration, "Measured seconds")->capture_default_str();
  loop->add_option("--warmup", lo.warmup, "Unmeasured seconds first")->capture_default_str();
  loop->add_option("--batch", lo.batch, "Frames per write(2)")->capture_default_str();
  loop->add_option("--name", lo_name, "Bench name in the JSON line")->capture_default_str();
  loop->add_flag("--json", json, "Also print a JSON line");
  CLI11_PARSE(app, argc, argv);

  hms::LogLevel level;
  if (!hms::parse_log_level(log_level.c_str(), &level)) {
    std::fprintf(stderr, "hms-load: bad --log-level '%s'\n", log_level.c_str());
    return 2;
  }
  hms::set_log_level(level);
  signal(SIGPIPE, SIG_IGN);

  try {
    if (loop->parsed()) {
      const auto r = hms::load::run_loopback(lo);
      std::printf("loopback: %zu-byte frames, writer cpu %d -> reader cpu %d, %zu frames per write: "
                  "%.0f frames/s (%.1f MB/s) over %.2f s\n",
                  r.frame_bytes, r.writer_cpu, r.reader_cpu, lo.batch, r.frames_per_s(),
                  r.frames_per_s() * static_cast<double>(r.frame_bytes) / 1e6, r.window_seconds);
      if (json) json_line(lo_name, "raw", std::round(r.frames_per_s()), "frames/s");
      return r.frames ? 0 : 1;
    }
    raise_fd_limit();
    if (hub_pid > 0) o.hub_pid = hub_pid;
    const auto r = hms::load::run(o);
    return report(o, r, name, impl, json);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hms-load: %s\n", e.what());
    return 1;
  }
}
