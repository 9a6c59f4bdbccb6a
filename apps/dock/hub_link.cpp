#include "dock/hub_link.hpp"

#include <unistd.h>

#include "dock/commands.hpp"
#include "dock/net.hpp"
#include "dock/outputs.hpp"
#include "dock/say.hpp"
#include "dock/workers.hpp"
#include "hms/log.hpp"
#include "hms/peer.hpp"

namespace hms::dock {

HubLink::HubLink(Context& ctx, Commands& commands, Workers& net) : ctx_(ctx), commands_(commands), net_(net) {}

HubLink::~HubLink() { *alive_ = false; }

void HubLink::start() { attempt(); }

void HubLink::stop() {
  stopping_ = true;
  for (TimerId* t : {&retry_timer_, &ping_timer_, &ping_deadline_})
    if (*t) ctx_.reactor.cancel_timer(std::exchange(*t, 0));
  if (peer_) peer_->close();
}

void HubLink::attempt() {
  retry_timer_ = 0;
  if (stopping_) return;
  Reactor* reactor = &ctx_.reactor;
  const HubAddress hub = ctx_.hub;
  const std::string origin = ctx_.id;
  const std::atomic<bool>* cancel = &net_.cancelled();
  auto alive = alive_;
  const bool queued = net_.post([=, this] {
    std::string error;
    const Deadline d{Clock::now() + kConnectTimeout, cancel};
    int fd = connect_tcp(hub, d, &error);
    if (fd >= 0 && !upgrade(fd, hub, origin, d, &error)) {
      ::close(fd);
      fd = -1;
    }
    reactor->post([this, alive, fd, error] {
      if (!*alive) {
        if (fd >= 0) ::close(fd);
        return;
      }
      if (fd >= 0) return on_socket(fd);
      HMS_LOG(info, "cannot reach the hub at %s: %s", ctx_.hub.text().c_str(), error.c_str());
      on_attempt_failed();
    });
  });
  if (!queued) on_attempt_failed();
}

void HubLink::on_socket(int fd) {
  if (stopping_) {
    ::close(fd);
    return;
  }
  ConnectionOptions co;
  // The dock bounds what it queues for the hub itself (Outputs drops
  // output past --output-queue-mb); the engine's limit only backs that up.
  co.limits.hard = ctx_.opts.output_queue_bytes * 4 + (std::size_t{16} << 20);
  co.limits.soft = 0;
  Connection* c = nullptr;
  try {
    c = &ctx_.reactor.adopt(fd, co, nullptr);
  } catch (const std::exception& e) {
    HMS_LOG(warn, "cannot use the hub connection: %s", e.what());
    return on_attempt_failed();
  }
  peer_ = Peer::attach(*c);
  // The hub's commands are answered from the start, not only once its
  // handshake reply is in: a hub sends a dock that connects the ids its
  // clients listen to *before* that reply (the reference terminal does, and
  // hms-hub), and the reference dock, answering those too early ones
  // "Command is not supported", forwarded nothing after a reconnect.
  peer_->set_handlers(commands_.table(true));
  dropped_ = false;
  say("connection to remote established");
  peer_->on_close([this](const CloseInfo&) { on_closed(); });
  std::weak_ptr<Peer> weak = peer_;
  peer_->handshake(ctx_.handshake_json(), [this, weak](const Result& r) {
    auto p = weak.lock();
    if (!p || p->closed()) return;
    if (!r.ok()) {
      HMS_LOG(warn, "the hub refused the handshake: %.*s", static_cast<int>(r.text.size()), r.text.data());
      p->close();
    }
  });
  ping_timer_ = ctx_.reactor.add_periodic(kPingEvery, [this] { ping(); });
}

void HubLink::ping() {
  if (!peer_ || pinging_) return;
  pinging_ = true;
  std::weak_ptr<Peer> weak = peer_;
  ping_deadline_ = ctx_.reactor.add_timer(kPingTimeout, [this, weak] {
    ping_deadline_ = 0;
    auto p = weak.lock();
    if (!p || p->closed()) return;
    HMS_LOG(warn, "the hub did not answer a ping within %lld ms: dropping the connection",
            static_cast<long long>(kPingTimeout.count()));
    if (Connection* c = p->connection()) c->abort(CloseReason::local, "ping timeout");
  });
  peer_->ping([this](const Result&) {
    pinging_ = false;
    if (ping_deadline_) ctx_.reactor.cancel_timer(std::exchange(ping_deadline_, 0));
  });
}

void HubLink::on_closed() {
  if (peer_) ctx_.outputs.clear(*peer_);
  peer_.reset();
  pinging_ = false;
  for (TimerId* t : {&ping_timer_, &ping_deadline_})
    if (*t) ctx_.reactor.cancel_timer(std::exchange(*t, 0));
  if (!stopping_) retry();
}

void HubLink::on_attempt_failed() {
  if (!stopping_) retry();
}

void HubLink::retry() {
  std::chrono::milliseconds after = kRetryAfterFailure;
  if (!dropped_) {
    dropped_ = true;
    say("connection to remote dropped");
    after = kRetryAfterDrop;
  }
  retry_timer_ = ctx_.reactor.add_timer(after, [this] { attempt(); });
}

}  // namespace hms::dock
