// hms-dock: runs services for an hms hub and streams their output.
//
// The library's entry point: `hms-dock` (apps/dock/main.cpp) and, later,
// `hms dock` in the hms command line both parse their flags with
// add_dock_flags() (options.hpp) and call run().
//
// run() owns everything it starts: the reactor (on the calling thread),
// the store's writer thread, the download and connect workers, and every
// service process. It returns when SIGTERM or SIGINT arrives and every
// service process has been stopped (SIGTERM, then SIGKILL after the grace
// period), or at once with 1 when it cannot start (a bad remote, a store
// that will not open, a port in use). The services are not marked stopped:
// the next run starts them again, as the reference's dock does.
//
// Must be called before the program starts any thread of its own: it
// blocks SIGCHLD, SIGTERM and SIGINT (read from a signalfd) for itself and
// every thread it starts.
#pragma once

#include "dock/options.hpp"

namespace hms::dock {

int run(const DockOptions& opts);

}  // namespace hms::dock
