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
  bool with_dock = false;
  hms::hub::CompanionSpec dock;
  app.add_flag("--dock", with_dock, "Also run a dock for this machine (hms-dock, beside hms-hub), as the "
                                    "reference's --dock: default, client port one above the hub's");
  app.add_option("--tag", dock.tags, "Tags of the --dock dock (repeatable)");
  CLI11_PARSE(app, argc, argv);
  if (const std::string err = hms::hub::finish_hub_flags(flags); !err.empty()) {
    std::fprintf(stderr, "hms-hub: %s\n", err.c_str());
    return 2;
  }
  if (!with_dock) return hms::hub::run_hub(flags.opts, "hms-hub");
  const std::string program = hms::hub::sibling_program("hms-dock");
  if (program.empty()) {
    std::fprintf(stderr, "hms-hub: --dock needs hms-dock in the folder of hms-hub\n");
    return 2;
  }
  dock.command = {program};
  flags.opts.keep_old_builds = true;  // the dock shares builds/, as the reference's
  return hms::hub::run_hub(flags.opts, "hms-hub", {}, &dock);
}
