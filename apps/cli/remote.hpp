// Remotes: where a command connects, and the user's list of named remotes.
//
// A remote is a name from ~/.hms.json or an address (lib/parse-remote.js):
//
//   host              host:10002
//   host:9000         host:9000
//   host:22+9000      host:9000 (the ssh port means nothing without user@)
//   user@host         ssh user@host (port 22), then the hub at 127.0.0.1:10002
//                     on that machine (a hub bound to loopback)
//   user@host:9000    ssh port 22, hub port 9000
//   user@host:2222+9000
//   [::1]:9000        (ours: an IPv6 literal)
//
// `--port` gives the hub port when the address has none. Anything else is
// an error value (the reference crashes on it).
//
// ~/.hms.json ($HOME, or the passwd entry's home) holds
// { "<name>": {"url", "key", "passphrase", "fingerprint", "cache"} } and is
// written as JSON.stringify(conf, null, 2) + "\n", like the reference's, so
// both CLIs share it. A file that is not JSON is treated as empty for reading
// (with a warning) and never overwritten.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "jsvalue.hpp"
#include "outcome.hpp"

namespace hms::cli {

inline constexpr std::uint16_t kDefaultPort = 10002;

struct SshHop {
  std::string user;
  std::string host;
  std::uint16_t port = 22;
};

struct Remote {
  std::string url;                // the address, as configured or typed
  std::string host;               // the hub's host (127.0.0.1 behind ssh)
  std::uint16_t port = kDefaultPort;
  std::optional<SshHop> ssh;
  std::optional<std::string> key;         // ssh identity file
  std::optional<std::string> passphrase;  // kept in the config; ssh asks itself
  // host:port as the Host header shows it ([v6]:port for IPv6).
  std::string authority() const;
};

// Parses an address. `port` is --port, used when the address has no port.
Outcome<Remote> parse_remote(std::string_view url, std::optional<std::uint16_t> port = std::nullopt);

class Config {
 public:
  // Reads ~/.hms.json. A missing file is an empty config; a broken one too,
  // with warning() saying so.
  static Config load();
  static Config load_from(std::string path);

  const std::string& path() const noexcept { return path_; }
  const std::string& warning() const noexcept { return warning_; }
  // The entry of a named remote (any JSON value), or nullptr.
  const JsValue* entry(std::string_view name) const;
  // Remote names, in the file's order.
  const JsValue& all() const noexcept { return conf_; }
  void put(std::string_view name, JsValue entry) { conf_.set(name, std::move(entry)); }
  void erase(std::string_view name) { conf_.erase(name); }
  // The reference drops the remote's cached id list on add/remove (which
  // leaves "cache": {} in its entry); so do we, for identical files.
  void drop_ids_cache(std::string_view name);
  // Writes the file. Refuses to overwrite a file that did not parse.
  Outcome<bool> save() const;

 private:
  std::string path_;
  JsValue conf_ = JsValue::object();
  std::string warning_;
  bool broken_ = false;
};

// Resolves what the user typed: a configured name (its url, key and
// passphrase, overridden by the command line's) or an address.
struct RemoteOverrides {
  std::optional<std::uint16_t> port;
  std::optional<std::string> key;
  std::optional<std::string> passphrase;
};
Outcome<Remote> resolve_remote(const Config& config, std::string_view name, const RemoteOverrides& o);

}  // namespace hms::cli
