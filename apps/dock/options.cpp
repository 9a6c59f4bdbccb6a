#include "dock/options.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>

namespace hms::dock {

void add_dock_flags(CLI::App& app, DockOptions& o) {
  app.add_option("remote", o.remote, "The hub (terminal): HOST:PORT, or HOST for port 10002")->required();
  app.add_option("-i,--id", o.id, "Dock id (default: the host name)");
  app.add_option("-t,--tag", o.tags, "Tag this dock (repeatable); services tagged so run here");
  app.add_flag("--default", o.is_default, "Run services that have no tags");
  app.add_option("-p,--port", o.port, "Port for direct clients (0: any free port)")->capture_default_str();
  app.add_option("--address", o.address, "Address the client port listens on")->capture_default_str();
  app.add_option("--db", o.db, "Service store (SQLite, WAL)")->capture_default_str();
  app.add_option_function<double>(
         "--grace",
         [&o](double s) { o.stop_grace = std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000)); },
         "Seconds between SIGTERM and SIGKILL when stopping a service (default 10)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option_function<std::size_t>(
         "--output-queue-mb", [&o](std::size_t mb) { o.output_queue_bytes = mb << 20; },
         "Output queued per subscriber before it is dropped (default 8)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
  app.add_option("--recv-buffers", o.recv_buffers, "Receive buffers (power of two); reads of children's output land in them")
      ->capture_default_str()
      ->check(CLI::Range(16u, 32768u));
  app.add_option_function<std::uint32_t>(
         "--recv-buffer-kb", [&o](std::uint32_t kb) { o.recv_buffer_size = kb * 1024; },
         "Size of one receive buffer, KiB: the largest read (default 64)")
      ->check(CLI::Range(4u, 1024u));
  app.add_option("--log-level", o.log_level, "Engine diagnostics on stderr: error, warn, info or debug")
      ->capture_default_str();
}

std::string HubAddress::text() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

bool parse_remote(std::string_view r, HubAddress* out, std::string* error) {
  if (r.empty()) {
    *error = "Remote is required";
    return false;
  }
  if (r.find("://") != std::string_view::npos) {
    *error = "remote '" + std::string(r) + "' is a URL; give HOST:PORT";
    return false;
  }
  if (r.find('@') != std::string_view::npos) {
    *error = "ssh remotes (user@host) are not supported by hms-dock; tunnel the hub's port and give HOST:PORT";
    return false;
  }
  HubAddress a;
  std::string_view port;
  if (r.front() == '[') {
    const auto close = r.find(']');
    if (close == std::string_view::npos || (close + 1 < r.size() && r[close + 1] != ':')) {
      *error = "bad remote '" + std::string(r) + "': want [v6-address]:port";
      return false;
    }
    a.host = std::string(r.substr(1, close - 1));
    if (close + 1 < r.size()) port = r.substr(close + 2);
  } else {
    const auto colon = r.find(':');
    if (colon != r.rfind(':')) {
      *error = "bad remote '" + std::string(r) + "': write IPv6 addresses as [addr]:port";
      return false;
    }
    a.host = std::string(r.substr(0, colon));
    // The reference accepts host:sshport+port and ignores the ssh port
    // without user@ (parse-remote.js).
    if (colon != std::string_view::npos) {
      port = r.substr(colon + 1);
      if (const auto plus = port.find('+'); plus != std::string_view::npos) port = port.substr(plus + 1);
    }
  }
  if (a.host.empty()) {
    *error = "bad remote '" + std::string(r) + "': no host";
    return false;
  }
  if (!port.empty() || r.back() == ':') {
    unsigned long v = 0;
    if (port.empty() || port.size() > 5) {
      *error = "bad port in remote '" + std::string(r) + "'";
      return false;
    }
    for (char c : port) {
      if (c < '0' || c > '9') {
        *error = "bad port in remote '" + std::string(r) + "'";
        return false;
      }
      v = v * 10 + static_cast<unsigned long>(c - '0');
    }
    if (v == 0 || v > 65535) {
      *error = "port out of range in remote '" + std::string(r) + "'";
      return false;
    }
    a.port = static_cast<std::uint16_t>(v);
  }
  *out = std::move(a);
  return true;
}

std::string default_dock_id() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "dock";
  return buf;
}

}  // namespace hms::dock
