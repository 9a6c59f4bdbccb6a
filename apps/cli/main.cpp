// hms: the command line (the reference's `hms`), see args.hpp and
// `hms --help`.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string_view>

#include "args.hpp"
#include "commands.hpp"
#include "version.hpp"

namespace hms::cli {
namespace {

int dispatch(Context& cx) {
  const std::string_view c = cx.args.command;
  if (c == "add") return cmd_add(cx);
  if (c == "update") return cmd_update(cx);
  if (c == "remove") return cmd_remove(cx);
  if (c == "list") return cmd_list(cx);
  if (c == "ps") return cmd_ps(cx);
  if (c == "start") return cmd_start(cx);
  if (c == "restart") return cmd_restart(cx);
  if (c == "stop") return cmd_stop(cx);
  if (c == "sync") return cmd_sync(cx);
  if (c == "log") return cmd_log(cx);
  if (c == "deploy") return cmd_deploy(cx);
  if (c == "tarball") return cmd_tarball(cx);
  if (c == "remotes") return cmd_remotes(cx);
  if (c == "terminal") return cmd_terminal(cx);
  if (c == "dock") return cmd_dock(cx);
  return cx.term.fail("Unknown command " + std::string(c));
}

int run(int argc, char** argv) {
  Term term(Term::detect(argc, argv));
  const Parsed p = parse_args(argc, argv);
  switch (p.action) {
    case Parsed::Action::help:
      Term::write_all(STDERR_FILENO, kHelpText, std::string_view(kHelpText).size());
      return 1;
    case Parsed::Action::version:
      term.line(std::string("v") + kVersion);
      return 0;
    case Parsed::Action::printed:
      term.out(p.output);
      return 0;
    case Parsed::Action::error:
      return term.fail(p.error);
    case Parsed::Action::run:
      break;
  }
  Config config = Config::load();
  if (!config.warning().empty()) term.err_line("hms: warning: " + config.warning());
  Context cx{term, p.args, config, Timeouts{}};
  cx.timeouts.reply = std::chrono::milliseconds(static_cast<long long>(p.args.timeout * 1000));
  const int rc = dispatch(cx);
  term.finish();
  return rc;
}

}  // namespace
}  // namespace hms::cli

int main(int argc, char** argv) { return hms::cli::run(argc, argv); }
