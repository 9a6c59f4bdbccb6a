// `hms terminal` and `hms dock`: the servers, so that a user of the
// reference types the same lines. Each is a thin call into its library.
//
// TODO(integrator): when apps/hub exposes its entry point (options + run,
// as hms-hub's main uses), replace cmd_terminal's body with that call; and
// wire cmd_dock to the dock library (apps/dock) the same way. Both are
// marked HMS_CLI_SERVE_TODO.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <thread>

#include "commands.hpp"
#include "hub.hpp"

namespace hms::cli {

int cmd_terminal(Context& cx) {
  const Args& a = cx.args;
  if (a.with_dock)  // HMS_CLI_SERVE_TODO: the in-process dock
    return cx.term.fail("hms terminal --dock is not available yet: run hms dock (or hms-dock) beside it");
  hub::HubOptions o;
  o.port = a.serve_port.value_or(10002);
  if (a.db) o.db = *a.db;
  o.threads = std::max(1u, std::thread::hardware_concurrency());
  for (const auto& e : a.serve_env) {
    std::pair<std::string, std::string> kv;
    // The reference ignores pairs with an empty key or value; so do we.
    if (hub::parse_env_assignment(e, &kv)) o.default_env.push_back(std::move(kv));
  }
  // Signals are taken by sigwait; the hub's threads inherit the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  try {
    hub::Hub hub(o);
    hub.start();
    cx.term.line("[term] listening on " + std::to_string(hub.port()));
    int sig = 0;
    sigwait(&set, &sig);
    hub.stop();
  } catch (const std::exception& e) {
    return cx.term.fail(e.what());
  }
  return 0;
}

int cmd_dock(Context& cx) {
  // HMS_CLI_SERVE_TODO: call the dock library (apps/dock) here.
  if (cx.args.pos.empty() || cx.args.pos[0].empty()) return cx.term.fail("Remote is required");
  return cx.term.fail("hms dock is not available in this build yet (the dock is being written): use hms-dock");
}

}  // namespace hms::cli
