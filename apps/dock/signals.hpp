// Signals the dock acts on, read on its reactor from a signalfd: SIGCHLD
// (a service process ended: reap it) and SIGTERM/SIGINT (shut down). The
// three are blocked in every thread, which is why block() must run before
// the dock starts any thread; children get an empty mask back at spawn.
// SIGPIPE is ignored (a closed socket is an error value, not a death).
#pragma once

#include <functional>

#include "hms/connection.hpp"

namespace hms {
class Reactor;
}

namespace hms::dock {

class SignalWatch final : public ConnectionHandler {
 public:
  // Blocks SIGCHLD, SIGTERM and SIGINT in the calling thread (and the
  // threads it starts afterwards); ignores SIGPIPE.
  static void block();

  // Adopts a signalfd on `reactor`; `on_signal` runs on its thread for
  // every signal that arrives. Throws std::system_error.
  SignalWatch(Reactor& reactor, std::function<void(int sig)> on_signal);

  void on_frame(Connection&, const FrameView&, const BufRef&) override {}
  void on_bytes(Connection&, const std::uint8_t* data, std::size_t len, const BufRef&) override;
  void on_close(Connection&, const CloseInfo&) override {}

 private:
  std::function<void(int)> on_signal_;
};

}  // namespace hms::dock
