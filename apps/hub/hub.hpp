// The hub (the reference calls it the terminal): service registry, dock
// commands, and log fan-out to subscribed clients.
//
// ### Threads
// N shards, one reactor thread each, all listening on one port
// (SO_REUSEPORT). Every connection lives on the shard that accepted it. The
// hub's shared state (registry, dock list, subscription counts) belongs to
// shard 0, the control shard: other shards post requests to it and it posts
// answers and dock commands back. The log path never touches it: a dock's
// frame is relayed to the subscribers on its own shard directly, and posted
// (as a reference to the same bytes) to the other shards that have any
// subscriber.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "hms/connection.hpp"

namespace hms::hub {

inline constexpr const char* kHubVersion = "0.1.0";

struct HubOptions {
  std::string address = "0.0.0.0";
  std::uint16_t port = 10002;          // 0: any free port (see Hub::port())
  std::string db = "hms-hub.db";
  std::vector<std::pair<std::string, std::string>> default_env;
  unsigned threads = 1;
  OutputLimits client_limits;          // 32 MiB hard, 8 MiB for 60 s soft
  std::optional<std::string> token;    // handshakes must carry it
  std::uint32_t recv_buffers = 1024;   // per shard
  std::uint32_t recv_buffer_size = 32 * 1024;
};

class HubImpl;

class Hub {
 public:
  // Opens the registry; throws std::runtime_error on a bad option or db.
  explicit Hub(const HubOptions& opts);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Starts the shard threads and listens; throws std::system_error when the
  // port cannot be bound.
  void start();
  // Thread-safe: stops the shards (connections flushed and closed) and joins.
  void stop();
  std::uint16_t port() const;
  // Prometheus text, as GET /metrics serves it.
  std::string metrics() const;

 private:
  std::unique_ptr<HubImpl> impl_;
};

// Parses KEY=VALUE as the reference does (split at '=', both trimmed; empty
// key or value: ignored). Returns false when it is not usable.
bool parse_env_assignment(std::string_view text, std::pair<std::string, std::string>* out);

}  // namespace hms::hub
