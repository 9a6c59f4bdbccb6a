// What add and update send: the service fields from the command line
// (lib/updateable.js and commands/{add,update}.js of the reference).
//
// --env text: split at ';', ',' or newlines; each part trimmed; parts that
// start with '#' or have no '=' are skipped; KEY is the text before the
// first '=' (trimmed), VALUE the rest (trimmed, one leading and one trailing
// quote removed). An empty VALUE deletes KEY. The result is merged over the
// service's current env (update) or {} (add). Several --env flags apply in
// order (the reference crashes on that).
//
// --start, --build or --env without a value open $VISUAL, $EDITOR or vim on
// a temporary file holding the current value (env as KEY=value lines);
// what is saved replaces it (start/build trimmed; env replaced whole, not
// merged). Order: env, start, build.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jsvalue.hpp"
#include "outcome.hpp"

namespace hms::cli {

// The value CLI11 stores for a flag given without its value.
inline constexpr std::string_view kAskEditor = "\x01";

// parseEnv(text): keys mapped to their value, or undefined (delete).
JsValue parse_env(std::string_view text);
// stringifyEnv(env): "KEY=value\n" per member.
std::string stringify_env(const JsValue& env);
// xtend(base, over): base's members, then over's (over wins; JS key order).
JsValue merge_objects(const JsValue& base, const JsValue& over);

// Runs the user's editor on `text` (a temporary file named after `name`,
// e.g. "web-start.sh"); the edited text, or why not.
Outcome<std::string> edit_text(std::string_view text, std::string_view name);

}  // namespace hms::cli
