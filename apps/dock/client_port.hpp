// The dock's own port, as the reference dock's (reference.md 3.9):
//   GET /       200 "hms-dock <version>\n"
//   other HTTP  404 "Cannot deploy to a dock" (no Content-Type)
//   CONNECT     the protocol; the first message must be a client handshake
//               ({"type":"client","protocol":1}), answered with the dock's
//               own handshake object; otherwise "Server and client do not
//               speak the same protocol" or "Invalid handshake". Until a
//               handshake succeeds, everything else is "Command is not
//               supported".
// Raw frames without CONNECT are accepted too (the engine's listeners do).
#pragma once

#include <cstdint>

#include "dock/context.hpp"

namespace hms {
class Listener;
}

namespace hms::dock {

class Commands;

class ClientPort {
 public:
  ClientPort(Context& ctx, Commands& commands) : ctx_(ctx), commands_(commands) {}

  // Listens on --address:--port. Throws std::system_error (port in use).
  std::uint16_t listen();
  void close();

 private:
  Context& ctx_;
  Commands& commands_;
  Listener* listener_ = nullptr;
};

}  // namespace hms::dock
