// hms-hub: the terminal-compatible hub. See `hms-hub --help`.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "options.hpp"

int main(int argc, char** argv) {
  CLI::App app{"hms-hub: the hms terminal (service registry, dock commands, log fan-out).\n"
               "Docks and clients connect with HTTP CONNECT (or raw frames) on one port;\n"
               "GET / answers the version, GET /metrics Prometheus metrics."};
  app.set_version_flag("--version", std::string("hms-hub ") + hms::hub::kHubVersion);
  hms::hub::HubFlags flags;
  hms::hub::add_hub_flags(app, flags);
  CLI11_PARSE(app, argc, argv);
  if (const std::string err = hms::hub::finish_hub_flags(flags); !err.empty()) {
    std::fprintf(stderr, "hms-hub: %s\n", err.c_str());
    return 2;
  }
  return hms::hub::run_hub(flags.opts, "hms-hub");
}
