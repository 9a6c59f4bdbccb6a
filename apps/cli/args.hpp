// The command line: the reference's commands and flags on CLI11.
//
//   hms <command> [remote] [service] [options]
//
// Options may come anywhere after the command, `--k v` and `--k=v` alike;
// repeated flags accumulate (--tag a --tag b). Differences from the
// reference's minimist parsing, on purpose: an unknown option or a bad value
// is an error ("[!] ..." and exit 1) instead of being ignored, values stay
// text (`--tag 1` is the tag "1", `--revision 123` is used), and a repeated
// --env applies each.
//
// `hms`, `hms --help` and an unknown command print the reference's help to
// stderr and exit 1 (as the reference does); `hms <command> --help` prints
// that command's options to stdout. `hms --version` prints v<version>.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "options.hpp"  // apps/hub: the hub's flags, shared with hms-hub

namespace hms::cli {

struct Args {
  std::string command;            // "add", "list", ... ("" when none)
  std::vector<std::string> pos;   // positionals after the command

  // Every client command.
  bool force = false;
  std::optional<std::string> key, passphrase;
  std::optional<std::uint16_t> port;  // the hub's port when the remote has none
  double timeout = 60;                // seconds to wait for a reply

  // add / update (kAskEditor: the flag without a value).
  std::optional<std::string> start, build;
  std::vector<std::string> tags, untags, env;
  bool env_editor = false;            // --env without a value
  std::optional<std::string> limit;
  bool no_start = false, no_build = false, no_limit = false, no_env = false;
  bool restart = false;               // update, sync

  bool no_log = false;                // start, restart, update, deploy
  bool ps_env = false;                // ps --env
  bool no_events = false, no_id = false, no_origin = false;  // log

  // deploy
  std::optional<std::string> revision, file, url;
  bool from_stdin = false, retry = false, no_ignore = false;

  // tarball
  std::optional<std::string> out;

  // remotes
  bool yes = false;
  std::optional<std::string> fingerprint;

  // terminal: the hub's own flags (as hms-hub's), and the reference's.
  hub::HubFlags hub;
  // dock (and terminal's --dock, --tag)
  std::optional<std::uint16_t> serve_port;
  std::optional<std::string> db, id;
  std::vector<std::string> serve_tags;
  bool with_dock = false, is_default = false;

  // Root flags.
  bool help = false, version = false;
};

struct Parsed {
  enum class Action : unsigned char { run, help, version, error, printed } action = Action::run;
  Args args;
  std::string error;   // Action::error
  std::string output;  // Action::printed: a command's --help text (stdout)
};

Parsed parse_args(int argc, char** argv);

// The reference's bin/help, which `hms` and `hms --help` print.
extern const char* const kHelpText;

}  // namespace hms::cli
