// log (the reference's commands/log.js) and the tail the other commands
// end with.
#include "commands.hpp"
#include "log_tail.hpp"

namespace hms::cli {

int forward_logs(Context& cx, Link& link, const std::string& id) {
  // console.log('\nForwarding', id, 'output\n')
  cx.term.line("\nForwarding " + id + " output\n");
  link.set_tail_mode(LogTail::Mode::stream);
  link.wait_closed();
  return 0;
}

int cmd_log(Context& cx) {
  const Args& a = cx.args;
  auto remote = remote_arg(cx);
  if (!remote) return cx.term.fail(remote.error());
  // (Built in one go: GCC 12 warns falsely on assigning "*" afterwards.)
  const std::string given = service_arg(cx);
  const std::string id = given.empty() ? std::string(1, '*') : given;
  auto link = connect(cx, remote.value(), true);
  if (!link) return cx.term.fail(link.error());
  Link& l = *link.value();
  l.attach(std::make_shared<LogTail>(LogStyle{cx.term.color(), !a.no_id, !a.no_origin, !a.no_events},
                                     LogTail::Mode::stream));
  const Reply r = l.call(Opcode::subscribe, id, {});
  if (!r.ok) return cx.term.fail(r.text);
  // Until the hub closes the connection (or stops answering pings), or a
  // signal ends us.
  l.wait_closed();
  return 0;
}

}  // namespace hms::cli
