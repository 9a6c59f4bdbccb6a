#include "service_fields.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "text.hpp"

extern char** environ;

namespace hms::cli {

JsValue parse_env(std::string_view text) {
  JsValue map = JsValue::object();
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find_first_of(";\n,", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = js_trim(text.substr(start, end - start));
    start = end + 1;
    if (!part.empty() && part[0] == '#') continue;
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = js_trim(part.substr(0, eq));
    std::string_view val = js_trim(part.substr(eq + 1));
    // .replace(/(^["'])|(["']$)/g, ''): one quote off each end.
    if (!val.empty() && (val.front() == '"' || val.front() == '\'')) val.remove_prefix(1);
    if (!val.empty() && (val.back() == '"' || val.back() == '\'')) val.remove_suffix(1);
    map.set(key, val.empty() ? JsValue() : JsValue::string(std::string(val)));
    if (end == text.size()) break;
  }
  return map;
}

std::string stringify_env(const JsValue& env) {
  std::string out;
  if (!env.is_object()) return out;
  for (const auto& [k, v] : env.members()) out += k + "=" + v.to_js_string() + "\n";
  return out;
}

JsValue merge_objects(const JsValue& base, const JsValue& over) {
  JsValue out = JsValue::object();
  if (base.is_object())
    for (const auto& [k, v] : base.members()) out.set(k, v);
  if (over.is_object())
    for (const auto& [k, v] : over.members()) out.set(k, v);
  return out;
}

Outcome<std::string> edit_text(std::string_view text, std::string_view name) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string base = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/";
  // <id>-start.sh -> <id>-start-XXXXXX.sh: unique, and the editor still
  // sees the extension.
  std::string stem(name), ext;
  if (const std::size_t dot = stem.rfind('.'); dot != std::string::npos && dot > 0) {
    ext = stem.substr(dot);
    stem.resize(dot);
  }
  std::string path = base + stem + "-XXXXXX" + ext;
  const int fd = ::mkstemps(path.data(), static_cast<int>(ext.size()));
  if (fd < 0) return Failure{fs_error(errno, "open", path)};
  bool wrote = true;
  for (std::size_t off = 0; off < text.size();) {
    const ssize_t w = ::write(fd, text.data() + off, text.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      wrote = false;
      break;
    }
    off += static_cast<std::size_t>(w);
  }
  ::close(fd);
  if (!wrote) {
    ::unlink(path.c_str());
    return Failure{fs_error(errno, "write", path)};
  }

  std::string editor = "vim";
  if (const char* v = std::getenv("VISUAL"); v && *v) editor = v;
  else if (const char* e = std::getenv("EDITOR"); e && *e) editor = e;
  std::vector<std::string> args;
  std::istringstream in(editor);
  for (std::string w; in >> w;) args.push_back(w);
  if (args.empty()) args.push_back("vim");
  args.push_back(path);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid;
  if (int rc = ::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ); rc != 0) {
    ::unlink(path.c_str());
    return Failure{"spawn " + args[0] + " " + errno_name(rc)};
  }
  // The user is typing: no deadline on an editor.
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    ::unlink(path.c_str());
    if (WIFSIGNALED(st)) return Failure{std::string("editor killed by signal ") + sigabbrev_np(WTERMSIG(st))};
    return Failure{"non-zero exit code (" + std::to_string(WEXITSTATUS(st)) + ")"};
  }
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  ::unlink(path.c_str());
  if (!f) return Failure{fs_error(ENOENT, "open", path)};
  return ss.str();
}

}  // namespace hms::cli
