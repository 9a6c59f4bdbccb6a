// What the commands share: the remote and service arguments, connecting.
#include "commands.hpp"

namespace hms::cli {

Outcome<Remote> remote_arg(Context& cx) {
  if (cx.args.pos.empty() || cx.args.pos[0].empty()) return Failure{"Remote is required"};
  RemoteOverrides o;
  o.port = cx.args.port;
  o.key = cx.args.key;
  o.passphrase = cx.args.passphrase;
  return resolve_remote(cx.config, cx.args.pos[0], o);
}

std::string service_arg(const Context& cx) { return cx.args.pos.size() > 1 ? cx.args.pos[1] : std::string(); }

Outcome<std::unique_ptr<Link>> connect(Context& cx, const Remote& r, bool tail) {
  return Link::open(r, cx.timeouts, tail);
}

}  // namespace hms::cli
