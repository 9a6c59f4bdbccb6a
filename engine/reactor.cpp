// The public Reactor: a thin facade over ReactorImpl (reactor_impl.hpp), and the
// names of the engine's enums.
#include "hms/reactor.hpp"

#include "reactor_impl.hpp"

namespace hms {

const char* to_string(Backend b) noexcept {
  switch (b) {
    case Backend::automatic: return "automatic";
    case Backend::uring: return "io_uring";
    case Backend::epoll: return "epoll";
  }
  return "?";
}

const char* to_string(CloseReason r) noexcept {
  switch (r) {
    case CloseReason::peer_closed: return "peer closed";
    case CloseReason::io_error: return "i/o error";
    case CloseReason::protocol_error: return "protocol error";
    case CloseReason::http_error: return "bad http head";
    case CloseReason::output_limit: return "output limit exceeded";
    case CloseReason::local: return "closed locally";
    case CloseReason::shutdown: return "shutdown";
  }
  return "?";
}

Reactor::Reactor(const ReactorOptions& opts) : impl_(std::make_unique<ReactorImpl>(opts)) {
  register_reactor(this, impl_.get());
}
Reactor::~Reactor() { unregister_reactor(this); }

Backend Reactor::backend() const noexcept { return impl_->io_->kind(); }
void Reactor::run() { impl_->run(); }
void Reactor::stop() noexcept { impl_->stop(); }
void Reactor::post(std::function<void()> fn) { impl_->post(std::move(fn)); }
bool Reactor::in_loop_thread() const noexcept { return impl_->in_loop_thread(); }
void Reactor::add_source(std::function<void()> drain, std::function<bool()> pending) {
  impl_->add_source(std::move(drain), std::move(pending));
}
void Reactor::wake() noexcept { impl_->wake(); }
TimerId Reactor::add_timer(std::chrono::nanoseconds after, std::function<void()> fn) {
  return impl_->add_timer(after, {}, std::move(fn));
}
TimerId Reactor::add_periodic(std::chrono::nanoseconds every, std::function<void()> fn) {
  return impl_->add_timer(every, every, std::move(fn));
}
void Reactor::cancel_timer(TimerId id) noexcept { impl_->cancel_timer(id); }
void Reactor::add_before_flush(std::function<void()> fn) { impl_->before_flush.push_back(std::move(fn)); }
std::chrono::steady_clock::time_point Reactor::now() const noexcept { return impl_->now; }
Listener& Reactor::listen(std::string_view endpoint, const ListenOptions& opts,
                          std::function<void(Connection&)> on_accept) {
  return impl_->listen(endpoint, opts, std::move(on_accept));
}
void Reactor::close_listener(Listener& l) { impl_->close_listener(l); }
std::uint16_t Reactor::listen_port(const Listener& l) const { return l.port; }
Connection& Reactor::connect(std::string_view endpoint, const ConnectOptions& opts,
                             ConnectionHandler* handler) {
  return impl_->connect(endpoint, opts, handler);
}
Connection& Reactor::adopt(int fd, const ConnectionOptions& opts, ConnectionHandler* handler) {
  return impl_->adopt(fd, opts, handler, ConnMode::frames);
}
Connection& Reactor::adopt_stream(int fd, ConnectionHandler* handler) {
  return impl_->adopt(fd, ConnectionOptions{}, handler, ConnMode::bytes, true);
}
const ReactorStats& Reactor::stats() const noexcept { return impl_->stats; }
std::size_t Reactor::connection_count() const noexcept { return impl_->live_connections; }
std::size_t Reactor::free_recv_buffers() const noexcept { return impl_->pool.free_count(); }

}  // namespace hms
