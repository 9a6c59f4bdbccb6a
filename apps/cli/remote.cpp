#include "remote.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "text.hpp"

namespace hms::cli {

std::string Remote::authority() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

Outcome<std::uint16_t> port_of(std::string_view digits, std::string_view url) {
  // parseInt of a \d+ run; 0 and anything past 65535 cannot be connected to.
  unsigned long v = 0;
  for (char c : digits) {
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > 65535) break;
  }
  if (v == 0 || v > 65535) return Failure{"Invalid port in remote " + std::string(url)};
  return static_cast<std::uint16_t>(v);
}

}  // namespace

Outcome<Remote> parse_remote(std::string_view url, std::optional<std::uint16_t> port) {
  // ^(?:([^@]+)@)?([^:]+)(?::(?:(\d+)\+)?(\d+))?$
  const Failure bad{"Invalid remote " + std::string(url) + " (want host[:port] or user@host[:sshport+port])"};
  Remote r;
  r.url = std::string(url);
  std::string_view rest = url;
  std::string user;
  if (const std::size_t at = rest.find('@'); at != std::string_view::npos) {
    if (at == 0) return bad;
    user = std::string(rest.substr(0, at));
    rest.remove_prefix(at + 1);
  }
  std::string host;
  std::string_view ports;
  if (rest.starts_with("[")) {  // [v6] or [v6]:ports (not in the reference)
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos || close == 1) return bad;
    host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad;
      ports = rest.substr(1);
      if (ports.empty()) return bad;
    }
  } else {
    const std::size_t colon = rest.find(':');
    host = std::string(rest.substr(0, colon));
    if (host.empty()) return bad;
    if (colon != std::string_view::npos) {
      ports = rest.substr(colon + 1);
      if (ports.empty()) return bad;
    }
  }
  std::string_view ssh_port, hub_port;
  if (!ports.empty()) {
    if (const std::size_t plus = ports.find('+'); plus != std::string_view::npos) {
      ssh_port = ports.substr(0, plus);
      hub_port = ports.substr(plus + 1);
      if (!all_digits(ssh_port)) return bad;
    } else {
      hub_port = ports;
    }
    if (!all_digits(hub_port)) return bad;
  }
  if (!hub_port.empty()) {
    auto p = port_of(hub_port, url);
    if (!p) return Failure{p.error()};
    r.port = p.value();
  } else {
    r.port = port.value_or(kDefaultPort);
  }
  if (!user.empty()) {
    SshHop hop;
    hop.user = user;
    hop.host = host;
    if (!ssh_port.empty()) {
      auto p = port_of(ssh_port, url);
      if (!p) return Failure{p.error()};
      hop.port = p.value();
    }
    r.ssh = hop;
    r.host = "127.0.0.1";
  } else {
    r.host = host;
  }
  return r;
}

// ---------------------------------------------------------------- config

namespace {

std::string home_dir() {
  if (const char* h = std::getenv("HOME"); h && *h) return h;
  if (const char* h = std::getenv("USERPROFILE"); h && *h) return h;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return ".";
}

}  // namespace

Config Config::load() { return load_from(home_dir() + "/.hms.json"); }

Config Config::load_from(std::string path) {
  Config c;
  c.path_ = std::move(path);
  std::ifstream in(c.path_, std::ios::binary);
  if (!in) return c;  // no file yet: nothing configured
  std::ostringstream ss;
  ss << in.rdbuf();
  JsParse p = parse_json(ss.str());
  if (!p.ok() || !p.value.is_object()) {
    c.broken_ = true;
    c.warning_ = c.path_ + " is not a JSON object (" + (p.ok() ? std::string("wrong type") : p.error) +
                 "): no remotes read from it";
    return c;
  }
  c.conf_ = std::move(p.value);
  return c;
}

const JsValue* Config::entry(std::string_view name) const {
  const JsValue* v = conf_.get(name);
  return v && v->truthy() ? v : nullptr;
}

void Config::drop_ids_cache(std::string_view name) {
  JsValue* e = conf_.get(name);
  if (!e || !e->truthy() || !e->is_object()) return;
  JsValue* cache = e->get("cache");
  if (!cache || !cache->truthy()) {
    e->set("cache", JsValue::object());
    cache = e->get("cache");
  }
  if (cache->is_object()) cache->erase("ids");
}

Outcome<bool> Config::save() const {
  if (broken_) return Failure{"Not overwriting " + path_ + ": it is not valid JSON (fix or remove it)"};
  const std::string text = conf_.stringify(2) + "\n";
  // Write a sibling and rename it over: a crash never leaves half a file.
  // A symlinked file (dotfile managers) is replaced at its target.
  std::string target = path_;
  if (char* real = ::realpath(path_.c_str(), nullptr)) {
    target = real;
    std::free(real);
  }
  const std::string tmp = target + ".tmp-" + std::to_string(getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Failure{fs_error(errno, "open", tmp)};
  bool ok = true;
  for (std::size_t off = 0; off < text.size();) {
    const ssize_t w = ::write(fd, text.data() + off, text.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      ok = false;
      break;
    }
    off += static_cast<std::size_t>(w);
  }
  const int err = errno;
  if (::close(fd) != 0) ok = false;
  if (!ok || ::rename(tmp.c_str(), target.c_str()) != 0) {
    const int e = ok ? errno : err;
    ::unlink(tmp.c_str());
    return Failure{fs_error(e, "write", path_)};
  }
  return true;
}

Outcome<Remote> resolve_remote(const Config& config, std::string_view name, const RemoteOverrides& o) {
  std::string url(name);
  std::optional<std::string> key = o.key, passphrase = o.passphrase;
  if (const JsValue* e = config.entry(name)) {
    const JsValue* u = e->get("url");
    if (!u || !u->is_string() || u->as_string().empty())
      return Failure{"Remote " + std::string(name) + " has no url in " + config.path()};
    url = u->as_string();
    if (const JsValue* k = e->get("key"); k && k->is_string() && !key) key = k->as_string();
    if (const JsValue* p = e->get("passphrase"); p && p->is_string() && !passphrase) passphrase = p->as_string();
  }
  auto r = parse_remote(url, o.port);
  if (!r) return r;
  r->key = key;
  r->passphrase = passphrase;
  return r;
}

}  // namespace hms::cli
