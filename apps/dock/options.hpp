// What a dock is told on its command line, and the flags that set it.
//
// `hms-dock HOST:PORT [flags]` and, later, `hms dock HOST:PORT [flags]` in
// the `hms` command share add_dock_flags(), so both accept the same flags
// as the reference's `hms dock` (--id/-i, --tag/-t, --default, --port/-p,
// --db) plus ours (--address, --grace, --output-queue-mb, --log-level).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace hms::dock {

inline constexpr const char* kDockVersion = "0.1.0";
// The reference's default port, for the hub and for the dock's own port.
inline constexpr std::uint16_t kDefaultPort = 10002;

struct DockOptions {
  std::string remote;                  // the hub: HOST:PORT, or HOST (port 10002)
  std::string id;                      // "" = the host name
  std::vector<std::string> tags;
  bool is_default = false;             // runs services that have no tags
  std::string address = "0.0.0.0";     // the client port listens here
  std::uint16_t port = kDefaultPort;   // the client port; 0 = any free port
  std::string db = "dock.db";          // SQLite store, relative to the cwd
  // Builds live in <cwd>/builds/<id>@<deployed>, as the reference's.
  std::string builds = "builds";
  // stop: SIGTERM to the service's process group, SIGKILL after this.
  std::chrono::milliseconds stop_grace{10000};
  // Output queued for one subscriber (the hub, a client) past this is
  // dropped and counted, so a slow reader never blocks a child.
  std::size_t output_queue_bytes = std::size_t{8} << 20;
  // The reactor's receive buffers: every read of a child's pipe lands in
  // one (so a read is at most one buffer long). Output that pins more than
  // three quarters of them is dropped.
  std::uint32_t recv_buffers = 256;              // power of two
  std::uint32_t recv_buffer_size = 64 * 1024;
  std::string log_level = "warn";      // engine diagnostics on stderr
};

// Adds the dock's positional remote and flags to `app`, writing into `o`.
// `o` must outlive app.parse().
void add_dock_flags(CLI::App& app, DockOptions& o);

// Where the hub is. The reference dock, given a remote without a port,
// connected to its *own* --port (a bug, reference.md 8.4); ours uses the
// hub's default port 10002.
struct HubAddress {
  std::string host;  // name or numeric address, without brackets
  std::uint16_t port = kDefaultPort;
  std::string text() const;  // "host:port" ("[v6]:port"), for the Host header
};
// False with a message for remotes we cannot reach: ssh remotes
// (user@host), URLs, bad ports.
bool parse_remote(std::string_view remote, HubAddress* out, std::string* error);

// The dock's id when --id is not given: the host name.
std::string default_dock_id();

}  // namespace hms::dock
