// hms_engine_bench: one side of one end-to-end benchmark per run. scripts/bench
// starts two of these (or a Node program) over loopback, each pinned to its
// own core, and collects the `metric` lines the measuring side prints.
//
//   hms_engine_bench <role> --port P [--duration S] [--warmup S]
//                    [--payload N] [--window N] [--high-water N] [--chunk N]
//
// Roles: raw-recv raw-send raw-rpc-server raw-rpc-client (blocking-socket
// floors) and hms-recv hms-send hms-rpc-server hms-rpc-client (the engine).
// The receivers and rpc clients measure; senders and servers only serve.
#include <CLI/CLI.hpp>

#include <csignal>
#include <functional>
#include <map>
#include <string>

#include "programs.hpp"

int main(int argc, char** argv) {
  // A peer that goes away mid-write must end a sender by error code, not kill
  // it before it can close cleanly.
  std::signal(SIGPIPE, SIG_IGN);

  const std::map<std::string, std::function<int(const bench::Options&)>> roles = {
      {"raw-recv", bench::raw_recv},       {"raw-send", bench::raw_send},
      {"raw-rpc-server", bench::raw_rpc_server}, {"raw-rpc-client", bench::raw_rpc_client},
      {"hms-recv", bench::hms_recv},       {"hms-send", bench::hms_send},
      {"hms-rpc-server", bench::hms_rpc_server}, {"hms-rpc-client", bench::hms_rpc_client},
  };

  CLI::App app{"hms end-to-end engine benchmark (one side per process)"};
  app.require_subcommand(1);
  bench::Options o;
  for (const auto& [name, fn] : roles) {
    CLI::App* sub = app.add_subcommand(name);
    sub->add_option("--port", o.port, "TCP port on 127.0.0.1")->required();
    sub->add_option("--duration", o.duration, "measured seconds")->check(CLI::PositiveNumber);
    sub->add_option("--warmup", o.warmup, "unmeasured seconds before")->check(CLI::NonNegativeNumber);
    sub->add_option("--payload", o.payload, "stdout payload bytes")->check(CLI::Range(1, 16 << 20));
    sub->add_option("--window", o.window, "requests in flight (1: latency)")->check(CLI::Range(1, 65536));
    sub->add_option("--high-water", o.high_water, "sender queue bytes before waiting");
    sub->add_option("--chunk", o.chunk, "raw sender bytes per write")->check(CLI::Range(1, 64 << 20));
  }
  CLI11_PARSE(app, argc, argv);
  for (const auto& [name, fn] : roles)
    if (app.got_subcommand(name)) return fn(o);
  return 2;
}
