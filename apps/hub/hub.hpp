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
#include <cstddef>
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

  // ---- Nothing waits for ever (the reference pings every 15 s, 5 s to answer).
  std::chrono::milliseconds ping_interval{15000};  // every peer, dock and client
  std::chrono::milliseconds ping_timeout{5000};    // no pong in time: dropped
  std::chrono::milliseconds handshake_timeout{10000};  // HTTP head + handshake
  std::chrono::milliseconds read_timeout{30000};   // a frame begun must finish
  std::chrono::milliseconds dock_timeout{10000};   // every hub-to-dock request

  // ---- Nothing grows without bound. Limits agree: a frame the hub takes
  // is smaller than a client's hard output limit, so it reaches any reader
  // that keeps up.
  std::uint32_t max_frame = 16u << 20;             // frame body, after the handshake
  std::uint32_t max_frame_before_handshake = 64 * 1024;
  std::size_t partial_budget = std::size_t{256} << 20;  // all partly received frames

  // ---- Deploys (PUT /<id>) and tarballs (GET /<id>).
  std::string builds = "builds";                   // build folders, relative to the working folder
  std::chrono::seconds build_timeout{3600};        // a build still running then is killed
  std::chrono::seconds upload_timeout{3600};       // a deploy's upload not finished then fails
  unsigned max_deploys = 8;                        // jobs at once; more are answered 503
  bool keep_old_builds = false;                    // with --dock: the dock shares the folder
};

// Limits on one service record, so a stored record can always be sent.
inline constexpr std::size_t kMaxServiceIdBytes = 256;
inline constexpr std::size_t kMaxServiceBytes = 256 * 1024;  // its JSON
inline constexpr std::size_t kMaxServiceEnv = 1024;          // variables

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
