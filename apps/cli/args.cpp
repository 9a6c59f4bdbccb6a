#include "args.hpp"

#include <CLI/CLI.hpp>

#include <string_view>

#include "service_fields.hpp"

namespace hms::cli {

const char* const kHelpText =
    "Usage: hms [command] [remote] [service?] [options?]\n"
    "\n"
    "Available commands are:\n"
    "  remotes      manage remotes\n"
    "  add          add a new service\n"
    "  update       update an existing service\n"
    "  remove       remove and stop a service\n"
    "  deploy       deploy cwd to your service\n"
    "  tarball      fetch the service as a tgz file\n"
    "  list         lists available services\n"
    "  start        start service processes\n"
    "  stop         stop service processes\n"
    "  restart      restart service processes\n"
    "  log          tail service logs\n"
    "  sync         force a sync\n"
    "\n"
    "Use the following commands to setup a remote\n"
    "  dock         start a service dock\n"
    "  terminal     start a service terminal\n"
    "\n"
    "hms <command> --help lists the options of a command.\n";

namespace {

// CLI11 shows an option's default as "=<text>"; the editor sentinel is not
// something to show.
class Formatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override {
    std::string s = CLI::Formatter::make_option_opts(opt);
    const std::string hidden = "=" + std::string(kAskEditor);
    for (std::size_t p; (p = s.find(hidden)) != std::string::npos;) s.erase(p, hidden.size());
    return s;
  }
};

CLI::App* command(CLI::App& app, const char* name, const char* what, Args& a) {
  CLI::App* sub = app.add_subcommand(name, what);
  sub->set_help_flag("-h,--help", "Print this help and exit");
  sub->allow_extras(false);  // (the root allows them, for its help)
  sub->formatter(std::make_shared<Formatter>());
  // Accepted anywhere; Term reads them from argv (has-color does the same).
  sub->add_flag("--color")->description("Colour the output even when it is not a terminal");
  sub->add_flag("--no-color")->description("Never colour the output");
  sub->callback([sub, &a] { a.command = sub->get_name(); });
  return sub;
}

// remote [service]: the positionals; extra ones are ignored, as the
// reference ignores them.
void positionals(CLI::App* sub, Args& a, const char* names) {
  sub->add_option("args", a.pos, names)->type_name("");
}

// What every command that talks to a hub takes.
void client_options(CLI::App* sub, Args& a) {
  sub->add_flag("-f,--force", a.force, "update: send even without fields; deploy: deploy from below a git root");
  sub->add_option("-k,-i,--key", a.key, "ssh identity file for user@host remotes")->type_name("FILE");
  sub->add_option("--passphrase", a.passphrase, "Kept with `remotes add` (ssh asks for it itself)")
      ->type_name("TEXT");
  sub->add_option("-p,--port", a.port, "The hub's port when the remote has none (default 10002)")
      ->type_name("PORT")
      ->check(CLI::Range(1, 65535));
  sub->add_option("--timeout", a.timeout, "Seconds to wait for each reply (default 60)")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);
}

// `hms terminal`: hms-hub's flags (the same code), with the reference's
// -d,--dock and -t,--tag. The reference's -t is --tag, so the hub's
// --threads keeps only its long name here.
void terminal_options(CLI::App* sub, Args& a) {
  hub::add_hub_flags(*sub, a.hub);
  if (CLI::Option* threads = sub->get_option_no_throw("--threads")) {
    const std::string what = threads->get_description();
    sub->remove_option(threads);
    sub->add_option("--threads", a.hub.opts.threads, what)->capture_default_str()->check(CLI::Range(1u, 64u));
  }
  sub->get_option("--env")->allow_extra_args(false);
  sub->add_flag("-d,--dock", a.with_dock, "Also run a dock in this process (not available yet)");
  sub->add_option("-t,--tag", a.serve_tags, "Tags of the --dock dock")->allow_extra_args(false);
}

void service_options(CLI::App* sub, Args& a, bool update) {
  sub->add_option("-s,--start", a.start, "Start script (no value: edit it in $EDITOR)")
      ->expected(0, 1)
      ->default_str(std::string(kAskEditor))
      ->type_name("SCRIPT");
  sub->add_option("-b,--build", a.build, "Build script, run by the hub on deploy (no value: $EDITOR)")
      ->expected(0, 1)
      ->default_str(std::string(kAskEditor))
      ->type_name("SCRIPT");
  sub->add_option("-t,--tag", a.tags, "Run on docks with this id or tag (repeatable)")
      ->allow_extra_args(false)
      ->type_name("TAG");
  sub->add_option("-l,--limit", a.limit, "Run on at most this many docks")->type_name("N");
  sub->add_option("-e,--env", a.env, "NAME=value[,NAME2=value2]; NAME= deletes (no value: $EDITOR)")
      ->expected(0, 1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)  // each --env counts
      ->allow_extra_args(false)
      ->default_str(std::string(kAskEditor))
      ->type_name("VARS");
  if (!update) return;
  sub->add_option("-u,--untag", a.untags, "Remove a tag (repeatable)")->allow_extra_args(false)->type_name("TAG");
  sub->add_flag("--restart", a.restart, "Restart the service afterwards");
  sub->add_flag("--no-log", a.no_log, "(with --restart) do not print the log header");
  sub->add_flag("--no-start", a.no_start, "Clear the start script");
  sub->add_flag("--no-build", a.no_build, "Clear the build script");
  sub->add_flag("--no-limit", a.no_limit, "Run on every matching dock");
  sub->add_flag("--no-env", a.no_env, "Clear the environment");
}

}  // namespace

Parsed parse_args(int argc, char** argv) {
  Parsed out;
  Args& a = out.args;
  CLI::App app{"hms: ship services to docks through a hub", "hms"};
  app.set_help_flag();
  app.allow_extras();  // an unknown command prints the help
  app.require_subcommand(0, 1);
  app.add_flag("-h,--help", a.help);
  app.add_flag("-v,--version", a.version);
  app.add_flag("--color");
  app.add_flag("--no-color");

  CLI::App* sub = command(app, "remotes", "Manage remotes: hms remotes [add|remove|list] [name] [url]", a);
  positionals(sub, a, "add|remove|list, then name and url");
  sub->add_flag("-y,--yes", a.yes, "Do not ask (host keys are ssh's business here)");
  sub->add_option("--fingerprint", a.fingerprint, "Accepted for compatibility")->type_name("MD5");
  sub->add_flag("--no-fingerprint")->description("Accepted for compatibility");
  sub->add_option("-k,-i,--key", a.key, "ssh identity file to keep with the remote")->type_name("FILE");
  sub->add_option("--passphrase", a.passphrase, "Kept with the remote")->type_name("TEXT");
  sub->add_option("-p,--port", a.port, "The hub's port when the url has none")->check(CLI::Range(1, 65535));
  sub->add_option("--timeout", a.timeout, "Seconds to wait for the check")->check(CLI::PositiveNumber);

  sub = command(app, "add", "Add a service: hms add <remote> <service> --start <script>", a);
  positionals(sub, a, "remote and service");
  client_options(sub, a);
  service_options(sub, a, false);

  sub = command(app, "update", "Update a service: hms update <remote> <service> [fields]", a);
  positionals(sub, a, "remote and service");
  client_options(sub, a);
  service_options(sub, a, true);

  sub = command(app, "remove", "Remove (and stop) a service: hms remove <remote> <service>", a);
  positionals(sub, a, "remote and service");
  client_options(sub, a);

  sub = command(app, "list", "List services: hms list <remote> [service]", a);
  positionals(sub, a, "remote and optionally a service");
  client_options(sub, a);

  sub = command(app, "ps", "Processes on every dock: hms ps <remote> [service]", a);
  positionals(sub, a, "remote and optionally a service");
  client_options(sub, a);
  sub->add_flag("-e,--env", a.ps_env, "Show each process's environment");

  for (const char* name : {"start", "restart"}) {
    sub = command(app, name,
                  std::string_view(name) == "start" ? "Start a service, then tail its logs: hms start <remote> <service>"
                                                    : "Restart a service, then tail its logs: hms restart <remote> <service>",
                  a);
    positionals(sub, a, "remote and service");
    client_options(sub, a);
    sub->add_flag("--no-log", a.no_log, "Do not tail the logs afterwards");
  }

  sub = command(app, "stop", "Stop a service: hms stop <remote> <service>", a);
  positionals(sub, a, "remote and service");
  client_options(sub, a);

  sub = command(app, "sync", "Place a deployed service on its docks again: hms sync <remote> <service>", a);
  positionals(sub, a, "remote and service");
  client_options(sub, a);
  sub->add_flag("--restart", a.restart, "Restart it afterwards");

  sub = command(app, "log", "Tail logs: hms log <remote> [service]", a);
  positionals(sub, a, "remote and optionally a service (default: all)");
  client_options(sub, a);
  sub->add_flag("--no-events", a.no_events, "Leave out process spawn/exit lines");
  sub->add_flag("--no-id", a.no_id, "Leave out the service column");
  sub->add_flag("--no-origin", a.no_origin, "Leave out the dock column");

  sub = command(app, "deploy", "Upload this directory, build it on the hub, restart: hms deploy <remote> <service>", a);
  positionals(sub, a, "remote and service");
  client_options(sub, a);
  sub->add_option("-r,--revision", a.revision, "Revision to record (default: git describe --always)")
      ->type_name("REV");
  sub->add_flag("--no-log", a.no_log, "Do not tail the logs afterwards");
  sub->add_flag("--stdin", a.from_stdin, "Read the tarball (.tgz) from stdin");
  sub->add_option("--file", a.file, "Deploy this tarball (.tgz)")->type_name("FILE");
  sub->add_option("--url", a.url, "Download the tarball (.tgz) from this http:// URL")->type_name("URL");
  sub->add_flag("--retry", a.retry, "Try again, up to 5 times, 1 s apart");
  sub->add_flag("--no-ignore", a.no_ignore, "Ignore .hmsignore/.gitignore");

  sub = command(app, "tarball", "Fetch a service's build as .tgz: hms tarball <remote> <service>", a);
  positionals(sub, a, "remote and service");
  client_options(sub, a);
  sub->add_option("-o,--out", a.out, "Write to this file (default: stdout)")->type_name("FILE");

  sub = command(app, "terminal", "Run a hub (the reference's terminal) on this machine", a);
  terminal_options(sub, a);

  sub = command(app, "dock", "Run a dock on this machine: hms dock <remote>", a);
  positionals(sub, a, "the hub's remote");
  sub->add_option("-i,--id", a.id, "Dock id (default: the host name)");
  sub->add_option("-p,--port", a.serve_port, "Port to listen on (default 10002)")->check(CLI::Range(0, 65535));
  sub->add_option("--db", a.db, "Dock database file")->type_name("FILE");
  sub->add_option("-t,--tag", a.serve_tags, "Tags (repeatable)")->allow_extra_args(false);
  sub->add_flag("--default", a.is_default, "Run services that have no tags");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    // A command's --help (the root's own -h is a plain flag).
    for (const CLI::App* s : app.get_subcommands()) {
      out.action = Parsed::Action::printed;
      out.output = s->help();
      return out;
    }
    out.action = Parsed::Action::help;
    return out;
  } catch (const CLI::ParseError& e) {
    out.action = Parsed::Action::error;
    out.error = e.what();
    return out;
  }
  if (a.command.empty()) {
    out.action = a.version ? Parsed::Action::version : Parsed::Action::help;
    return out;
  }
  // --env with no value (alone, or among valued ones).
  for (auto it = a.env.begin(); it != a.env.end();) {
    if (*it == kAskEditor) {
      a.env_editor = true;
      it = a.env.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace hms::cli
