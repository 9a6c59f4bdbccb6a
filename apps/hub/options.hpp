// The hub's command line, shared by `hms-hub` and `hms terminal`.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "companion_dock.hpp"
#include "hub.hpp"

namespace hms::hub {

// What the flags fill before they become HubOptions.
struct HubFlags {
  HubOptions opts;
  std::vector<std::string> env;
  std::string log_level = "info";
  std::size_t hard_mb = 32, soft_mb = 8;
  unsigned soft_seconds = 60;
  double ping_interval = 15, ping_timeout = 5, handshake_timeout = 10, read_timeout = 30, dock_timeout = 10;
  std::uint32_t max_frame_mb = 16;
  std::size_t partial_budget_mb = 256;
  double build_timeout = 3600, upload_timeout = 3600;
};

// Adds the hub's flags to `app` (the defaults shown are those of `flags`).
void add_hub_flags(CLI::App& app, HubFlags& flags);
// After parsing: checks the flags and completes flags.opts (token from
// HMS_TOKEN, env pairs, limits, log level). Returns "" or what is wrong.
std::string finish_hub_flags(HubFlags& flags);
// Runs a hub until SIGINT or SIGTERM; returns the exit code. `name` prefixes
// the messages ("hms-hub", "hms terminal"). Once the hub listens,
// `listening` is called with its port (on this thread, before the wait); by
// default it prints "<name> listening on port <port>" to stdout. With
// `dock`, a dock for this machine runs beside it (companion_dock.hpp) and
// stops first.
using ListeningFn = std::function<void(std::uint16_t port)>;
int run_hub(const HubOptions& opts, const char* name, const ListeningFn& listening = {},
            const CompanionSpec* dock = nullptr);

}  // namespace hms::hub
