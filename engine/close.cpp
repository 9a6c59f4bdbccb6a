// Closing: flush-then-close with a deadline, abort, shutdown(2) and the
// final free outside every callback; the reactor's own shutdown.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "hms/log.hpp"
#include "reactor_impl.hpp"

namespace hms {

namespace {

constexpr auto kShutdownDrain = std::chrono::seconds(2);

bool worth_logging(CloseReason r) {
  return r == CloseReason::protocol_error || r == CloseReason::output_limit || r == CloseReason::io_error ||
         r == CloseReason::http_error;
}

// close() flushes first, but not for ever: a peer that does not read would
// keep the connection (and its queue) alive indefinitely.
void arm_close_timer(ReactorImpl& r, Conn& c) {
  const std::uint64_t id = c.id;
  c.close_timer = r.add_timer(c.opts.limits.close_timeout, {}, [&r, id] {
    Conn* cc = r.find(id);
    if (!cc) return;
    cc->close_timer = 0;
    if (!cc->has(kShut)) {
      HMS_LOG(info, "%s: connection %llu did not drain in time; dropping its output", cc->peer_name.c_str(),
              static_cast<unsigned long long>(id));
      r.conn_close(*cc, cc->close_info.reason, {}, true);
    }
  });
}

}  // namespace

void ReactorImpl::conn_close(Conn& c, CloseReason reason, std::string msg, bool now_) {
  if (c.has(kFreed)) return;  // already on its way out (e.g. close() from on_close)
  if (!c.has(kClosing)) {
    c.set(kClosing);
    c.close_info.reason = reason;
    c.close_info.message = std::move(msg);
    if (worth_logging(reason))
      HMS_LOG(info, "%s: closing connection %llu: %s", c.peer_name.c_str(), static_cast<unsigned long long>(c.id),
              c.close_info.message.c_str());
  }
  release_assembly(c);
  if (now_) {
    c.set(kAborted);
    // Drop what was not handed to the kernel yet. The segments of a send
    // the kernel holds stay until it completes (it reads their iovecs).
    const std::size_t keep = io_->kernel_holds_send(c) ? c.in_flight_segs : 0;
    while (c.out.count() > keep) c.out.drop_back();
    // A peer that stopped reading never completes that send (or makes
    // room): take it back, or the connection and its memory would never be
    // freed. Its completion finishes the close.
    io_->cancel_send(c);
  } else if (!c.out.empty() && !c.close_timer && c.opts.limits.close_timeout.count() > 0) {
    arm_close_timer(*this, c);
  }
  // Reads stop now: epoll must not keep reporting input nobody reads (a
  // level-triggered busy loop while the output drains).
  io_->reads_stopped(c);
  mark_dirty(c);
}

void ReactorImpl::maybe_finalize(Conn& c) {
  if (c.has(kFreed)) return;
  if (!c.has(kShut) && (c.out.empty() || c.fd < 0) && !c.has(kSendActive)) {
    c.set(kShut);
    // Ends the receive (it completes with 0) and tells the peer. A pipe is
    // no socket: shutdown fails there, and end_recv alone ends it.
    if (!c.has(kStream)) ::shutdown(c.fd, SHUT_RDWR);
    io_->end_recv(c);
  }
  if (c.has(kShut) && !c.has(kRecvActive | kSendActive)) {
    c.set(kFreed);
    finalize_.push_back(&c);
  }
}

void ReactorImpl::finalize(Conn& c) {
  // Outside every callback of this connection (Redis frees clients so too).
  c.out.clear();
  c.out.scratch.reset();
  release_assembly(c);
  // No list may keep a pointer to the connection past its deletion.
  if (!buffer_waiters_.empty()) std::erase(buffer_waiters_, &c);
  if (c.has(kPinner)) std::erase(pinners_, &c);
  if (c.has(kInPartials)) std::erase(partials_, &c);
  if (c.soft_timer) cancel_timer(c.soft_timer);
  if (c.close_timer) cancel_timer(c.close_timer);
  if (c.room_timer) cancel_timer(c.room_timer);
  ::close(c.fd);
  c.fd = -1;
  if (c.handler) c.handler->on_close(c, c.close_info);
  conns_.erase(c.id);
  --live_connections;
  delete &c;
}

void ReactorImpl::finalize_pending() {
  for (std::size_t i = 0; i < finalize_.size(); ++i) finalize(*finalize_[i]);
  finalize_.clear();
}

void ReactorImpl::shutdown_all() {
  for (auto& l : listeners_) close_listener(*l);
  for (auto& [id, c] : conns_) conn_close(*c, CloseReason::shutdown, "reactor stopping", false);
  // Flush what is queued, for a bounded time, then drop the rest.
  const auto deadline = std::chrono::steady_clock::now() + kShutdownDrain;
  bool forced = false;
  while (!conns_.empty()) {
    now = std::chrono::steady_clock::now();
    if (!forced && now > deadline) {
      forced = true;
      for (auto& [id, c] : conns_) conn_close(*c, CloseReason::shutdown, "reactor stopping", true);
    }
    pool.drain_returned();
    flush();
    finalize_pending();
    if (conns_.empty()) break;
    io_->wait(10);
  }
  run_posted();
}

}  // namespace hms
