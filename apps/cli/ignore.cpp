#include "ignore.hpp"

#include <fstream>
#include <sstream>

namespace hms::cli {

namespace {

// A bracket expression at pattern[i] ('['); on success sets *end past ']'
// and *hit to whether `c` is in the class.
bool bracket(std::string_view p, std::size_t i, char c, std::size_t* end, bool* hit) {
  std::size_t j = i + 1;
  bool negate = false;
  if (j < p.size() && (p[j] == '!' || p[j] == '^')) negate = true, ++j;
  bool match = false;
  bool first = true;
  while (j < p.size() && (p[j] != ']' || first)) {
    first = false;
    char lo = p[j];
    if (lo == '\\' && j + 1 < p.size()) lo = p[++j];
    char hi = lo;
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      hi = p[j + 2];
      if (hi == '\\' && j + 3 < p.size()) hi = p[++j + 2];
      j += 2;
    }
    if (c >= lo && c <= hi) match = true;
    ++j;
  }
  if (j >= p.size()) return false;  // no closing ']': not a class
  *end = j + 1;
  *hit = match != negate && c != '/';
  return true;
}

bool match_at(std::string_view p, std::size_t pi, std::string_view t, std::size_t ti) {
  while (pi < p.size()) {
    const char c = p[pi];
    if (c == '*') {
      const bool dbl = pi + 1 < p.size() && p[pi + 1] == '*';
      if (dbl) {
        // "**" as a whole segment spans directories: "**/" matches zero or
        // more leading directories, "/**" the rest, "/**/" zero or more.
        const bool seg_start = pi == 0 || p[pi - 1] == '/';
        const bool seg_end = pi + 2 == p.size() || p[pi + 2] == '/';
        if (seg_start && seg_end) {
          if (pi + 2 == p.size()) return true;  // trailing /**: anything below
          // "**/rest": rest at ti, or after any '/' further on.
          for (std::size_t k = ti;; ++k) {
            if ((k == ti || t[k - 1] == '/') && match_at(p, pi + 3, t, k)) return true;
            if (k == t.size()) return false;
          }
        }
      }
      // '*' (or a "**" inside a segment): any run without '/'.
      std::size_t next = pi + (dbl ? 2 : 1);
      for (std::size_t k = ti;; ++k) {
        if (match_at(p, next, t, k)) return true;
        if (k == t.size() || t[k] == '/') return false;
      }
    }
    if (ti == t.size()) return false;
    if (c == '?') {
      if (t[ti] == '/') return false;
      ++pi, ++ti;
      continue;
    }
    if (c == '[') {
      std::size_t end;
      bool hit;
      if (bracket(p, pi, t[ti], &end, &hit)) {
        if (!hit) return false;
        pi = end, ++ti;
        continue;
      }
    }
    char lit = c;
    if (c == '\\' && pi + 1 < p.size()) lit = p[++pi];
    if (lit != t[ti]) return false;
    ++pi, ++ti;
  }
  return ti == t.size();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) { return match_at(pattern, 0, text, 0); }

void IgnoreRules::add(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // Trailing spaces go, unless escaped.
  while (!line.empty() && line.back() == ' ' && !(line.size() >= 2 && line[line.size() - 2] == '\\'))
    line.remove_suffix(1);
  if (line.empty() || line[0] == '#') return;
  Rule r;
  if (line[0] == '!') {
    r.negate = true;
    line.remove_prefix(1);
  } else if (line.size() >= 2 && line[0] == '\\' && (line[1] == '!' || line[1] == '#')) {
    line.remove_prefix(1);
  }
  if (!line.empty() && line.back() == '/') {
    r.dir_only = true;
    line.remove_suffix(1);
  }
  if (line.empty()) return;
  if (line.find('/') != std::string_view::npos) r.anchored = true;
  if (line[0] == '/') line.remove_prefix(1);
  if (line.empty()) return;
  r.pattern = std::string(line);
  rules_.push_back(std::move(r));
}

IgnoreRules IgnoreRules::from_text(std::string_view text) {
  IgnoreRules rules;
  for (const char* fixed : {".git", ".svn", ".hg", ".*.swp"}) rules.add(fixed);
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    rules.add(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return rules;
}

IgnoreRules IgnoreRules::for_directory(const std::string& dir) {
  std::string text = read_file(dir + "/.hmsignore");
  if (blank(text)) text = read_file(dir + "/.gitignore");
  return from_text(text);
}

bool IgnoreRules::ignored(std::string_view path, bool is_dir) const {
  const std::size_t slash = path.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  bool out = false;
  for (const Rule& r : rules_) {
    if (r.dir_only && !is_dir) continue;
    const bool hit = r.anchored ? glob_match(r.pattern, path) : glob_match(r.pattern, base);
    if (hit) out = !r.negate;
  }
  return out;
}

}  // namespace hms::cli
