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
#include "report.hpp"

namespace {

void raise_fd_limit() {
  // 10,000 docks are 10,000 descriptors: take all the hard limit allows.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "hms-load: simulated docks and clients against a running hub (hms-hub or the reference\n"
      "terminal). Docks stream stdout frames stamped with their send time; clients subscribe\n"
      "and measure delivered frames/s, end-to-end latency and sequence gaps, beside the CPU\n"
      "hms-load itself used (a busiest thread near 100% means the limit was hms-load's).\n"
      "`hms-load loopback` measures the raw loopback floor for the same frames instead."};
  hms::load::Options o;
  std::string name = "load", impl = "hms", log_level = "warn";
  bool json = false;
  pid_t hub_pid = 0;
  app.set_version_flag("--version", std::string("hms-load ") + HMS_LOAD_VERSION);
  app.add_option("--hub", o.hub, "Hub endpoint host:port")->capture_default_str();
  app.add_option("--docks", o.docks, "Simulated docks")->capture_default_str();
  app.add_option("--clients", o.clients, "Clients, each subscribed to --subscribe")->capture_default_str();
  app.add_option("--streams", o.streams,
                 "Event streams of the hub's page (GET /api/logs/<--subscribe>), counted apart")
      ->capture_default_str();
  app.add_option("--payload", o.payload, "stdout payload bytes (>= 20: stamp, sequence, dock)")
      ->capture_default_str();
  app.add_option("--rate", o.rate, "stdout frames per second per dock; 0 = as fast as the path allows")
      ->capture_default_str();
  app.add_option("--batch", o.batch, "Rate 0: stdout frames a dock writes with one send(2)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--subscribe", o.subscribe, "What clients subscribe to: a service id or '*'")
      ->capture_default_str();
  app.add_option("--services", o.services, "Services web0..web<N-1>; dock i runs web<i mod N>")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--duration", o.duration, "Measured seconds")->capture_default_str();
  app.add_option("--warmup", o.warmup, "Unmeasured seconds after set-up")->capture_default_str();
  app.add_option("--threads", o.threads, "Worker threads (epoll loops); docks and clients are dealt out to them")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  app.add_flag("--raw", o.raw, "Raw frames from the first byte instead of the HTTP CONNECT upgrade");
  app.add_option("--hub-pid", hub_pid, "Hub process: report its peak RSS and CPU use");
  app.add_option("--window-kb", o.window_kb,
                 "Rate 0: KiB in flight per client, end to end (0: unlimited; the hub may then "
                 "disconnect a client that falls behind)")
      ->capture_default_str();
  app.add_option("--connect-window", o.connect_window, "Docks connecting (handshake pending) at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--setup-timeout", o.setup_timeout, "Seconds allowed for clients and docks to come up")
      ->capture_default_str();
  app.add_option("--keep-awake", o.keep_awake,
                 "CPUs to keep out of idle during the window with one SCHED_IDLE spinner each (e.g. 0,1): "
                 "in a VM, waking an idle vCPU can add milliseconds to the measured latency")
      ->delimiter(',');
  app.add_option("--name", name, "Bench name in the JSON lines")->capture_default_str();
  app.add_option("--impl", impl, "Impl name in the JSON lines")->capture_default_str();
  app.add_flag("--json", json, "Also print one JSON object per result line");
  app.add_option("--log-level", log_level, "Log level: error, warn, info, debug")->capture_default_str();

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
      if (json) hms::load::json_line(lo_name, "raw", std::round(r.frames_per_s()), "frames/s");
      return r.frames ? 0 : 1;
    }
    raise_fd_limit();
    if (hub_pid > 0) o.hub_pid = hub_pid;
    const auto r = hms::load::run(o);
    return hms::load::print_report(o, r, name, impl, json);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hms-load: %s\n", e.what());
    return 1;
  }
}
