// Which files a deploy leaves out: .hmsignore, or .gitignore when there is
// no .hmsignore (or it is empty), read from the deployed directory.
//
// The reference matched every pattern against base names only (minimatch
// 0.2.14): `node_modules/`, `/build` and `a/b` never matched, and `!keep`
// excluded everything *but* keep. We follow gitignore(5) instead, which is
// what such a file means to everyone who writes one:
// - blank lines and `#` comments are skipped; trailing spaces are dropped
//   unless escaped with `\`; `\#` and `\!` start a literal # or !
// - `!pattern` re-includes what an earlier pattern left out (not inside a
//   directory that is left out: it is never entered)
// - a trailing `/` matches directories only
// - a pattern with a `/` at its start or middle matches the path from the
//   deployed directory; one without matches a name at any depth
// - `*` and `?` do not match `/`; `[a-z]`, `[!a-z]` classes; `**/x`,
//   `x/**` and `a/**/b` span directories
// - the last pattern that matches decides
// `.git`, `.svn`, `.hg` and `.*.swp` are always left out (as in the
// reference), before the file's patterns.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hms::cli {

class IgnoreRules {
 public:
  // The rules of a deploy from `dir` (reads .hmsignore/.gitignore there).
  static IgnoreRules for_directory(const std::string& dir);
  // Rules from text (one pattern per line), after the fixed ones.
  static IgnoreRules from_text(std::string_view text);
  // None at all (--no-ignore: even .git goes).
  static IgnoreRules none() { return IgnoreRules(); }

  // `path` is relative to the deployed directory, '/'-separated, no
  // leading "./".
  bool ignored(std::string_view path, bool is_dir) const;

 private:
  struct Rule {
    std::string pattern;  // without !, leading and trailing /
    bool negate = false;
    bool dir_only = false;
    bool anchored = false;  // had a / at the start or in the middle
  };
  void add(std::string_view line);
  std::vector<Rule> rules_;
};

// Glob match of a whole text (gitignore flavour, see above).
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace hms::cli
