// `hms terminal` and `hms dock`: the servers, so that a user of the
// reference types the same lines. Each is a thin call into its library:
// `hms terminal` is hms-hub (apps/hub/options.hpp, the same flags and the
// same run loop) announcing itself as the reference's terminal does.
//
// TODO(integrator): wire cmd_dock (and terminal's --dock) to the dock
// library (apps/dock) when it lands. Marked HMS_CLI_SERVE_TODO.
#include <cstdint>
#include <string>

#include "commands.hpp"
#include "options.hpp"

namespace hms::cli {

int cmd_terminal(Context& cx) {
  if (cx.args.with_dock)  // HMS_CLI_SERVE_TODO: the in-process dock
    return cx.term.fail("hms terminal --dock is not available yet: run hms dock (or hms-dock) beside it");
  hub::HubFlags flags = cx.args.hub;
  if (const std::string err = hub::finish_hub_flags(flags); !err.empty()) return cx.term.fail(err);
  // The reference's terminal says "[term] listening on <port>".
  return hub::run_hub(flags.opts, "hms terminal", [&cx](std::uint16_t port) {
    std::string line = "[term] listening on ";
    line += std::to_string(port);
    cx.term.line(line);
  });
}

int cmd_dock(Context& cx) {
  // HMS_CLI_SERVE_TODO: call the dock library (apps/dock) here.
  if (cx.args.pos.empty() || cx.args.pos[0].empty()) return cx.term.fail("Remote is required");
  return cx.term.fail("hms dock is not available in this build yet (the dock is being written): use hms-dock");
}

}  // namespace hms::cli
