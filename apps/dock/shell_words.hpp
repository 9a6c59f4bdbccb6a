// Splits a service's `start` text into argv the way the reference dock does
// (shell-quote 1.x `parse(start, env)`, reference.md 3.7): words split on
// blanks; '...' literal; "..." with \" \\ \$ escapes and $VAR expansion;
// a backslash outside quotes escapes the next character; $VAR, ${VAR} and
// the one-character $*, $@, $#, $?, $$, $!, $- come from `env` only (the
// service's env and SERVICE_NAME; an unset variable is an empty word, a
// lone '$' stays '$'); $'...' is bash ANSI-C quoting; an unquoted '#'
// starts a comment that runs to the end. No word splitting of values, no
// tilde or glob expansion (a glob word is passed as written, as a shell
// does when nothing matches).
//
// Where the reference passes garbage to the program (shell operators such
// as && | ; > become the argument "[object Object]") or crashes the dock
// (${ without its }), we refuse with an error naming the problem, so the
// service shows as crashed with a reason instead.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hms::dock {

using EnvList = std::vector<std::pair<std::string, std::string>>;

struct Words {
  std::vector<std::string> argv;  // at least one word when error is empty
  std::string error;              // why the text cannot be run, or ""
};

Words split_command(std::string_view start, const EnvList& env);

}  // namespace hms::dock
