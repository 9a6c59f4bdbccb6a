#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hms::load {
namespace {

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// A busiest thread above this fraction of a core was (close to) the limit:
// the delivered rate may then be hms-load's, not the hub's.
constexpr double kSaturated = 0.9;

void print_load_cpu(const Options& o, const Report& r) {
  std::printf("  hms-load   CPU %.0f%% of a core in the window", r.load_cpu * 100);
  if (r.load_thread_cpu.size() > 1) {
    std::printf(" (threads");
    for (double c : r.load_thread_cpu) std::printf(" %.0f%%", c * 100);
    std::printf(")");
  }
  const double busiest = r.load_busiest_thread();
  if (busiest >= kSaturated)
    std::printf("\n  WARNING    a hms-load thread used %.0f%% of a core: this rate may be hms-load's limit, "
                "not the hub's%s\n",
                busiest * 100, o.threads == 1 ? " (try --threads 2 on a free core)" : "");
  else
    std::printf(" (below %.0f%%: not what limited the rate)\n", kSaturated * 100);
}

}  // namespace

void json_line(const std::string& bench, const std::string& impl, double value, const char* unit) {
  if (std::floor(value) == value && std::fabs(value) < 1e15)
    std::printf("{\"bench\":\"%s\",\"impl\":\"%s\",\"value\":%.0f,\"unit\":\"%s\"}\n", bench.c_str(),
                impl.c_str(), value, unit);
  else
    std::printf("{\"bench\":\"%s\",\"impl\":\"%s\",\"value\":%.3f,\"unit\":\"%s\"}\n", bench.c_str(),
                impl.c_str(), value, unit);
}

int print_report(const Options& o, const Report& r, const std::string& name, const std::string& impl,
                 bool json) {
  const bool setup_ok = r.docks_failed == 0 && r.clients_failed == 0 && r.docks_up == o.docks &&
                        r.clients_up == o.clients + o.streams;
  char rate[48] = "max";
  if (o.rate > 0) std::snprintf(rate, sizeof rate, "%g/s per dock", o.rate);
  std::printf("hms-load %s: %u docks, %u clients, %zu-byte payloads (%zu-byte frames), rate %s, "
              "subscribe '%s', %u service%s, %s, %u thread%s\n",
              name.c_str(), o.docks, o.clients, o.payload, r.frame_bytes, rate, o.subscribe.c_str(), o.services,
              o.services == 1 ? "" : "s", o.raw ? "raw frames" : "HTTP CONNECT", o.threads,
              o.threads == 1 ? "" : "s");
  std::printf("  set-up     %u/%u clients and event streams, %u/%u docks up (docks in %.2f s)\n", r.clients_up,
              o.clients + o.streams,
              r.docks_up, o.docks, r.connect_seconds);
  for (const auto& e : r.errors) std::printf("  error      %s\n", e.c_str());
  if (!setup_ok) {
    std::printf("  FAILED: set-up incomplete, nothing measured\n");
    return 1;
  }
  // A dock streams once the hub subscribed it: fewer than all at the start
  // of the window means the hub was still catching up (or subscribes less).
  std::printf("  window     %.2f s after %.2f s warm-up, %u/%u docks streaming (subscribed by the hub)\n",
              r.window_seconds, o.warmup, r.docks_streaming, o.docks);
  std::printf("  sent       %.0f frames/s by the docks", r.sent_per_s());
  if (o.rate > 0) std::printf(" (%llu skipped: dock not writable)", static_cast<unsigned long long>(r.skipped));
  std::printf("\n");
  std::printf("  delivered  %.0f frames/s to the clients (%.1f MB/s)\n", r.delivered_per_s(),
              r.delivered_per_s() * static_cast<double>(r.frame_bytes) / 1e6);
  if (o.streams)
    std::printf("  streams    %.0f events/s to the %u event streams of the page\n", r.stream_delivered_per_s(),
                o.streams);
  print_load_cpu(o, r);
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
  if (!r.cpu_busy.empty()) {
    // Busy time of every core against what the hub and hms-load used: the
    // difference is other processes competing for the cores.
    std::printf("  machine    busy");
    for (std::size_t i = 0; i < r.cpu_busy.size(); ++i) std::printf(" cpu%zu %.0f%%", i, r.cpu_busy[i] * 100);
    if (!o.keep_awake.empty())
      std::printf("; keep-awake spinners (SCHED_IDLE) %.0f%% of a core", r.keep_awake_cpu * 100);
    std::printf("; others used %.0f%% of a core%s\n", r.others_cpu() * 100,
                r.hub_cpu ? "" : " (hub not counted: no --hub-pid)");
  }
  std::fflush(stdout);

  const bool clean = r.malformed == 0 && r.docks_lost == 0 && r.clients_lost == 0 &&
                     r.delivered + r.stream_delivered > 0;
  if (json) {
    json_line(name, impl, std::round(r.delivered_per_s()), "frames/s");
    if (o.streams) json_line(name + "_streams", impl, std::round(r.stream_delivered_per_s()), "events/s");
    // Right behind the rate it qualifies: hms-load's own CPU (% of a core).
    json_line(name + "_load_cpu", impl, std::round(r.load_cpu * 100), "%");
    if (r.load_thread_cpu.size() > 1)
      json_line(name + "_load_cpu_busiest_thread", impl, std::round(r.load_busiest_thread() * 100), "%");
    json_line(name + "_sent", impl, std::round(r.sent_per_s()), "frames/s");
    json_line(name + "_p50", impl, us(h.quantile(0.50)), "us");
    json_line(name + "_p99", impl, us(h.quantile(0.99)), "us");
    json_line(name + "_p999", impl, us(h.quantile(0.999)), "us");
    json_line(name + "_max", impl, us(h.max()), "us");
    json_line(name + "_lost", impl, static_cast<double>(r.lost), "frames");
    if (r.hub_rss_peak_mb) json_line(name + "_rss", impl, std::round(*r.hub_rss_peak_mb * 10) / 10, "MB");
    if (r.hub_cpu) json_line(name + "_hub_cpu", impl, std::round(*r.hub_cpu * 100), "%");
    if (!r.cpu_busy.empty() && r.hub_cpu) json_line(name + "_others_cpu", impl, std::round(r.others_cpu() * 100), "%");
    if (!o.keep_awake.empty()) json_line(name + "_keep_awake_cpu", impl, std::round(r.keep_awake_cpu * 100), "%");
    std::fflush(stdout);
  }
  if (!clean) {
    std::fprintf(stderr, "hms-load: the run is not clean (%s)\n",
                 r.delivered == 0 ? "nothing delivered" : "connections lost or foreign frames");
    return 1;
  }
  return 0;
}

}  // namespace hms::load
