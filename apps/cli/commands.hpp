// The commands, one function each, and what they share. Each returns the
// process exit code (section 4.11 of the reference notes: 0 on success or
// when a tail ends because the hub closed; 1 for every error).
#pragma once

#include <memory>
#include <string>

#include "args.hpp"
#include "link.hpp"
#include "outcome.hpp"
#include "remote.hpp"
#include "term.hpp"

namespace hms::cli {

struct Context {
  Term& term;
  const Args& args;
  Config& config;
  Timeouts timeouts;
};

// The first positional as a remote ("Remote is required" without one).
Outcome<Remote> remote_arg(Context& cx);
// The second positional, the service id ("" when absent).
std::string service_arg(const Context& cx);
// Connects to the remote.
Outcome<std::unique_ptr<Link>> connect(Context& cx, const Remote& r, bool tail = false);

// cmd_services.cpp
int cmd_add(Context& cx);
int cmd_update(Context& cx);
int cmd_remove(Context& cx);
// cmd_control.cpp
int cmd_start(Context& cx);
int cmd_restart(Context& cx);
int cmd_stop(Context& cx);
int cmd_sync(Context& cx);
// cmd_view.cpp
int cmd_list(Context& cx);
int cmd_ps(Context& cx);
// cmd_log.cpp
int cmd_log(Context& cx);
// Prints "\nForwarding <id> output\n\n" and streams the attached tail until
// the hub closes the connection (exit 0, as the reference).
int forward_logs(Context& cx, Link& link, const std::string& id);
// cmd_deploy.cpp
int cmd_deploy(Context& cx);
// cmd_tarball.cpp
int cmd_tarball(Context& cx);
// cmd_remotes.cpp
int cmd_remotes(Context& cx);
// cmd_serve.cpp
int cmd_terminal(Context& cx);
int cmd_dock(Context& cx);

}  // namespace hms::cli
