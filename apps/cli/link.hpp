// The connection to a hub (or a reference terminal), for one command.
//
// open() dials the remote (through an ssh tunnel for user@host), does the
// CONNECT upgrade and the client handshake, each by its deadline, then hands
// the socket to an engine Reactor on an I/O thread of its own. The command
// code on the main thread stays linear: call() sends a request and waits for
// its reply (with the spinner animating, when given one), while the I/O
// thread answers the hub's pings and, for log tails, formats events as they
// arrive. Requests go out in call order.
//
// Replies: ok with the reply text, or the hub's error message, or
// "cable was destroyed" when the connection ended first, or a timeout
// message when the hub did not answer in time (--timeout).
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "hms/frame.hpp"
#include "log_tail.hpp"
#include "outcome.hpp"
#include "remote.hpp"

namespace hms::cli {

class Spinner;
class SshTunnel;

struct Timeouts {
  std::chrono::milliseconds connect{15000};  // TCP connect, CONNECT answer, handshake
  std::chrono::milliseconds reply{60000};    // any other request (--timeout)
  std::chrono::milliseconds ssh{60000};      // the tunnel up, prompts included
  // An HTTP answer going quiet (a build may print nothing for minutes).
  std::chrono::milliseconds transfer_idle{600000};
};

struct Reply {
  bool ok = false;
  std::string text;  // the reply body, or the error message
};

// Where HTTP requests (deploy, tarball) go for a remote: the host and port
// to dial, or the tunnel's socket.
struct HttpRoute {
  std::string host;
  std::uint16_t port = 0;
  std::string unix_path;
  std::string host_header;
};

// Opens the ssh tunnel a remote needs, if any, and says where to dial.
// Keep the tunnel alive while the route is used.
Outcome<HttpRoute> route_to(const Remote& r, const Timeouts& t, std::unique_ptr<SshTunnel>* tunnel);

class Link {
 public:
  // `tail`: size the receive buffers for a log stream.
  static Outcome<std::unique_ptr<Link>> open(const Remote& r, const Timeouts& t, bool tail = false);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  const HttpRoute& route() const noexcept { return route_; }

  // Sends a request now; get() the reply later (the timeout counts from then).
  std::shared_future<Reply> send(Opcode op, std::string id, std::string payload);
  // Waits for a reply by the reply deadline, ticking the spinner every
  // 500 ms if there is one.
  Reply wait(const std::shared_future<Reply>& f, Spinner* spin = nullptr);
  Reply call(Opcode op, std::string id, std::string payload, Spinner* spin = nullptr) {
    return wait(send(op, std::move(id), std::move(payload)), spin);
  }

  // Routes stdout/stderr/spawn/exit to `tail` (on the I/O thread) from now
  // on, and pings the hub every 15 s (dropping it after 5 s without an
  // answer), as the reference's pingable does while tailing.
  void attach(std::shared_ptr<LogTail> tail);
  // Switches the attached tail's mode (drop, hold, stream), in order with
  // the events around it.
  void set_tail_mode(LogTail::Mode mode);
  // Blocks until the connection ends (the hub closed it, or it stopped
  // answering pings).
  void wait_closed();
  bool closed() const;

 private:
  Link();
  struct State;
  static void schedule_ping(State* st);
  std::unique_ptr<SshTunnel> tunnel_;
  std::unique_ptr<State> st_;
  HttpRoute route_;
  Timeouts timeouts_;
};

}  // namespace hms::cli
