// hms-dock: the dock, on its own. See `hms-dock --help` and dock/dock.hpp.
#include <CLI/CLI.hpp>

#include "dock/dock.hpp"

int main(int argc, char** argv) {
  hms::dock::DockOptions opts;
  CLI::App app{
      "hms-dock: runs services for an hms hub (terminal) and streams their output.\n"
      "Connects to the hub at REMOTE (HOST:PORT), keeps its services in a local store,\n"
      "and answers GET / and client commands on its own port."};
  app.set_version_flag("--version", std::string("hms-dock ") + hms::dock::kDockVersion);
  hms::dock::add_dock_flags(app, opts);
  CLI11_PARSE(app, argc, argv);
  return hms::dock::run(opts);
}
