// `hms terminal` and `hms dock`: the servers, so that a user of the
// reference types the same lines. Each is a thin call into its library:
// `hms terminal` is hms-hub (apps/hub/options.hpp, the same flags and the
// same run loop) announcing itself as the reference's terminal does, and
// `hms dock` is hms-dock (apps/dock/dock.hpp). `hms terminal --dock` runs
// `hms dock` beside the hub (apps/hub/companion_dock.hpp).
#include <cstdint>
#include <string>

#include "commands.hpp"
#include "dock/dock.hpp"
#include "options.hpp"

namespace hms::cli {

int cmd_terminal(Context& cx) {
  hub::HubFlags flags = cx.args.hub;
  if (const std::string err = hub::finish_hub_flags(flags); !err.empty()) return cx.term.fail(err);
  hub::CompanionSpec dock;
  if (cx.args.with_dock) {
    const std::string self = hub::self_program();
    if (self.empty()) return cx.term.fail("--dock: cannot find this program's path");
    dock.command = {self, "dock"};
    dock.tags = cx.args.serve_tags;
    flags.opts.keep_old_builds = true;  // the dock shares builds/, as the reference's
  }
  // The reference's terminal says "[term] listening on <port>".
  return hub::run_hub(
      flags.opts, "hms terminal",
      [&cx](std::uint16_t port) {
        std::string line = "[term] listening on ";
        line += std::to_string(port);
        cx.term.line(line);
      },
      cx.args.with_dock ? &dock : nullptr);
}

int cmd_dock(Context& cx) {
  if (cx.args.pos.empty() || cx.args.pos[0].empty()) return cx.term.fail("Remote is required");
  dock::DockOptions o;
  o.remote = cx.args.pos[0];
  if (cx.args.id) o.id = *cx.args.id;
  o.tags = cx.args.serve_tags;
  o.is_default = cx.args.is_default;
  if (cx.args.serve_port) o.port = *cx.args.serve_port;
  if (cx.args.db) o.db = *cx.args.db;
  return dock::run(o);
}

}  // namespace hms::cli
