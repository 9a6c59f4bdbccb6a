// start, restart, stop, sync (the reference's commands of those names).
#include "commands.hpp"
#include "log_tail.hpp"
#include "spinner.hpp"

namespace hms::cli {

namespace {

// start and restart: subscribe first (unless --no-log) so that nothing the
// command causes is missed, then the command, then the logs.
int start_like(Context& cx, Opcode op, const char* verb) {
  const Args& a = cx.args;
  auto remote = remote_arg(cx);
  if (!remote) return cx.term.fail(remote.error());
  const std::string id = service_arg(cx);
  if (id.empty()) return cx.term.fail("Service name required");
  const bool tail = !a.no_log;

  Spinner spin(cx.term, std::string(verb) + " " + id);
  auto link = connect(cx, remote.value(), tail);
  // With a tail, the reference's subscribe callback sees a connection error
  // first and reports it with ui.error (stderr); without, the spinner does.
  if (!link) return tail ? cx.term.fail(link.error()) : spin.fail(link.error());
  Link& l = *link.value();
  std::shared_future<Reply> sub;
  if (tail) {
    l.attach(std::make_shared<LogTail>(
        LogStyle{cx.term.color(), true, true, true}, LogTail::Mode::hold));
    sub = l.send(Opcode::subscribe, id, {});
  }
  const auto done = l.send(op, id, {});
  if (tail) {
    const Reply s = l.wait(sub, &spin);
    if (!s.ok) return cx.term.fail(s.text);
  }
  const Reply r = l.wait(done, &spin);
  if (spin.finish(r.ok, r.text)) return 1;
  if (!tail) return 0;
  return forward_logs(cx, l, id);
}

}  // namespace

int cmd_start(Context& cx) { return start_like(cx, Opcode::start, "Starting"); }
int cmd_restart(Context& cx) { return start_like(cx, Opcode::restart, "Restarting"); }

int cmd_stop(Context& cx) {
  auto remote = remote_arg(cx);
  if (!remote) return cx.term.fail(remote.error());
  const std::string id = service_arg(cx);
  if (id.empty()) return cx.term.fail("Service name required");
  Spinner spin(cx.term, "Stopping " + id);
  auto link = connect(cx, remote.value());
  if (!link) return spin.fail(link.error());
  // The dock answers once the process has exited.
  const Reply r = link.value()->call(Opcode::stop, id, {}, &spin);
  return spin.finish(r.ok, r.text);
}

int cmd_sync(Context& cx) {
  auto remote = remote_arg(cx);
  if (!remote) return cx.term.fail(remote.error());
  const std::string id = service_arg(cx);
  if (id.empty()) return cx.term.fail("Service name required");
  Spinner spin(cx.term, "Syncing " + id);
  auto link = connect(cx, remote.value());
  if (!link) return spin.fail(link.error());
  Link& l = *link.value();
  const Reply r = l.call(Opcode::sync, id, "null", &spin);
  if (spin.finish(r.ok, r.text)) return 1;
  if (!cx.args.restart) return 0;
  Spinner again(cx.term, "Restarting " + id);
  const Reply rr = l.call(Opcode::restart, id, {}, &again);
  return again.finish(rr.ok, rr.text);
}

}  // namespace hms::cli
