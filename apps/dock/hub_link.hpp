// The dock's connection to its hub, kept up for as long as the dock runs.
//
// An attempt (on the `net` worker, with a deadline): TCP connect, the
// reference dock's CONNECT head with `origin: <id>`, the 101 answer; then
// the socket is handed to the reactor, "connection to remote established"
// is logged (before the handshake, as the reference does) and the dock
// handshakes. A refused handshake closes the connection. The hub's commands
// are answered from the first frame (see on_socket: hubs send subscriptions
// ahead of their handshake reply).
//
// Reconnects as the reference's (reference.md 3.3): after a connection
// that was up drops, "connection to remote dropped" and a new attempt in
// 2.5 s; after an attempt that failed, silently again in 5 s. Services keep
// running meanwhile; the hub's subscriptions end with the connection (a
// hub subscribes a dock again when it comes back).
//
// Liveness as the reference's pingable: a ping every 15 s, and a hub that
// does not answer within 5 s is dropped (and reconnected).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "dock/context.hpp"
#include "hms/reactor.hpp"

namespace hms {
class Peer;
}

namespace hms::dock {

class Commands;
class Workers;

inline constexpr std::chrono::milliseconds kRetryAfterDrop{2500};
inline constexpr std::chrono::milliseconds kRetryAfterFailure{5000};
inline constexpr std::chrono::milliseconds kConnectTimeout{5000};
inline constexpr std::chrono::milliseconds kPingEvery{15000};
inline constexpr std::chrono::milliseconds kPingTimeout{5000};

class HubLink {
 public:
  HubLink(Context& ctx, Commands& commands, Workers& net);
  ~HubLink();
  HubLink(const HubLink&) = delete;
  HubLink& operator=(const HubLink&) = delete;

  void start();  // the first attempt, now
  void stop();   // no more attempts; the connection closes
  bool up() const noexcept { return peer_ != nullptr; }

 private:
  void attempt();
  void on_socket(int fd);
  void on_attempt_failed();
  void on_closed();
  void retry();
  void ping();

  Context& ctx_;
  Commands& commands_;
  Workers& net_;
  std::shared_ptr<Peer> peer_;
  bool dropped_ = true;   // the last attempt did not get through
  bool stopping_ = false;
  bool pinging_ = false;
  TimerId retry_timer_ = 0, ping_timer_ = 0, ping_deadline_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for jobs that outlive us
};

}  // namespace hms::dock
