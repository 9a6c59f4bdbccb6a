// Sockets: endpoints, listening, connecting, adopting and accepting.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "hms/log.hpp"
#include "reactor_impl.hpp"

namespace hms {

namespace {

[[noreturn]] void throw_errno(const std::string& what, int err = errno) {
  throw std::system_error(err, std::generic_category(), what);
}

std::string sockaddr_name(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    // Appended piece by piece: GCC 12 -O3 reports a false -Wrestrict for
    // "[" + std::string + ... (a known libstdc++ inlining artefact).
    std::string out = "[";
    out += buf;
    out += "]:";
    out += std::to_string(ntohs(a->sin6_port));
    return out;
  }
  return "unix";
}

std::string peer_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  return sockaddr_name(ss);
}

void set_nodelay(int fd) {
  int one = 1;
  // Fails on Unix sockets; that is fine.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Builds a sockaddr for an endpoint.
socklen_t make_addr(const Endpoint& ep, sockaddr_storage* ss) {
  std::memset(ss, 0, sizeof *ss);
  if (ep.kind == Endpoint::Kind::unix_path) {
    auto* un = reinterpret_cast<sockaddr_un*>(ss);
    un->sun_family = AF_UNIX;
    if (ep.path.size() >= sizeof un->sun_path) throw std::invalid_argument("unix path too long: " + ep.path);
    std::memcpy(un->sun_path, ep.path.data(), ep.path.size());
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + ep.path.size() + 1);
  }
  std::string host = ep.host.empty() || ep.host == "localhost" ? "127.0.0.1" : ep.host;
  auto* a4 = reinterpret_cast<sockaddr_in*>(ss);
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(ep.port);
    return sizeof(sockaddr_in);
  }
  auto* a6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(ep.port);
    return sizeof(sockaddr_in6);
  }
  throw std::invalid_argument("not a numeric address: " + ep.host);
}

std::uint16_t bound_port(int fd) {
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen) != 0) return 0;
  return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

}  // namespace

// ---------------------------------------------------------------- endpoint

bool Endpoint::parse(std::string_view text, Endpoint* out, std::string* error) {
  Endpoint ep;
  if (text.starts_with("unix:")) {
    ep.kind = Kind::unix_path;
    ep.path = std::string(text.substr(5));
  } else if (text.find('/') != std::string_view::npos) {
    ep.kind = Kind::unix_path;
    ep.path = std::string(text);
  } else {
    std::string_view host, port;
    if (text.starts_with("[")) {
      const auto close = text.find(']');
      if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
        if (error) *error = "expected [v6-address]:port";
        return false;
      }
      host = text.substr(1, close - 1);
      port = text.substr(close + 2);
    } else {
      const auto colon = text.rfind(':');
      if (colon == std::string_view::npos) {
        // A bare port number means all interfaces' loopback default.
        port = text;
        host = "127.0.0.1";
      } else {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
      }
    }
    unsigned long v = 0;
    if (port.empty() || port.size() > 5) {
      if (error) *error = "bad port in '" + std::string(text) + "'";
      return false;
    }
    for (char ch : port) {
      if (ch < '0' || ch > '9') {
        if (error) *error = "bad port in '" + std::string(text) + "'";
        return false;
      }
      v = v * 10 + static_cast<unsigned long>(ch - '0');
    }
    if (v > 65535) {
      if (error) *error = "port out of range in '" + std::string(text) + "'";
      return false;
    }
    ep.host = host.empty() ? "0.0.0.0" : std::string(host);
    ep.port = static_cast<std::uint16_t>(v);
  }
  if (ep.kind == Kind::unix_path && ep.path.empty()) {
    if (error) *error = "empty unix socket path";
    return false;
  }
  *out = std::move(ep);
  return true;
}

std::string Endpoint::to_string() const {
  if (kind == Kind::unix_path) return "unix:" + path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// ---------------------------------------------------------------- listen

Listener& ReactorImpl::listen(std::string_view endpoint, const ListenOptions& lopts,
                              std::function<void(Connection&)> on_accept) {
  Endpoint ep;
  std::string err;
  if (!Endpoint::parse(endpoint, &ep, &err)) throw std::invalid_argument(err);
  sockaddr_storage ss;
  const socklen_t len = make_addr(ep, &ss);
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (lopts.reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (ep.kind == Endpoint::Kind::unix_path) ::unlink(ep.path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int e = errno;
    ::close(fd);
    throw_errno("bind " + ep.to_string(), e);
  }
  if (::listen(fd, lopts.backlog) != 0) {
    const int e = errno;
    ::close(fd);
    throw_errno("listen " + ep.to_string(), e);
  }
  auto l = std::make_unique<Listener>();
  l->fd = fd;
  if (ep.kind == Endpoint::Kind::tcp) l->port = bound_port(fd);
  l->opts = lopts;
  l->on_accept = std::move(on_accept);
  if (ep.kind == Endpoint::Kind::unix_path) l->unix_path = ep.path;
  Listener& ref = *l;
  listeners_.push_back(std::move(l));
  io_->add_listener(ref);
  return ref;
}

void ReactorImpl::close_listener(Listener& l) {
  if (l.closed) return;
  l.closed = true;
  io_->remove_listener(l);
  ::shutdown(l.fd, SHUT_RDWR);
  // Free the port now, not when the reactor dies (an io_uring accept still
  // in flight holds its own reference to the socket until it is cancelled).
  ::close(l.fd);
  l.fd = -1;
  // Once: a later unlink could remove another listener's fresh socket file.
  if (!l.unix_path.empty()) ::unlink(l.unix_path.c_str());
  l.unix_path.clear();
}

bool ReactorImpl::on_accept_error(Listener& l, int err) {
  if (l.closed) return false;  // the cancel of a closed listener's accept
  ++stats.accept_errors;
  if (err != EMFILE && err != ENFILE) {
    if (err != EAGAIN && err != ECANCELED && err != EINVAL) HMS_LOG(warn, "accept failed: %s", strerror(err));
    return false;
  }
  return !refuse_waiting(l);
}

namespace {
// Shards refuse one at a time: a descriptor one of them frees for a moment
// is not taken by another's accept4 in between (an io_uring accept armed in
// the kernel still can; the loop below survives that).
std::mutex g_refusing;
}  // namespace

// Out of descriptors: refuse every waiting client at once (accept each on
// the spare descriptor and close it) instead of leaving them hanging in the
// backlog, where they would also lock out whoever comes next. False: no
// spare to refuse with (another thread took the slot); the caller backs
// off and comes back here before it accepts again.
bool ReactorImpl::refuse_waiting(Listener& l) {
  std::lock_guard<std::mutex> lock(g_refusing);
  if (spare_fd < 0) spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (spare_fd < 0) {
    if (!spare_lost_logged) HMS_LOG(warn, "out of file descriptors and no spare one: pausing accepts");
    spare_lost_logged = true;
    return false;
  }
  spare_lost_logged = false;
  ::close(spare_fd);
  spare_fd = -1;
  std::uint64_t shed = 0;
  for (;;) {
    const int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) break;  // none left (EAGAIN), or the free slot was taken (EMFILE)
    ::close(fd);
    ++shed;
  }
  stats.accept_shed += shed;
  // Never leave the reactor without its spare (if this fails, the next
  // refusal tries again).
  spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  note_refused(shed);
  return spare_fd >= 0;
}

// Refusals come in bursts of a few at a time while a flood arrives: one
// log line a second at most, with the count since the last.
void ReactorImpl::note_refused(std::uint64_t n) {
  if (const std::uint64_t told = refused_log.note(std::chrono::steady_clock::now(), n))
    HMS_LOG(warn, "out of file descriptors: refused %llu waiting connection%s",
            static_cast<unsigned long long>(told), told == 1 ? "" : "s");
}

// Before a paused listener accepts again: the spare first, and with it the
// backlog refused, so that the accept does not take the one free slot
// (which, with the backlog full, it would win every time).
void ReactorImpl::before_accepting_again(Listener& l) {
  if (l.closed || spare_fd >= 0) return;
  refuse_waiting(l);
}

void ReactorImpl::on_accepted(Listener& l, int fd) {
  if (l.closed) {
    ::close(fd);
    return;
  }
  set_nodelay(fd);
  Conn& c = adopt(fd, l.opts.conn, nullptr, l.opts.allow_raw ? ConnMode::detect : ConnMode::server_head);
  c.listen_opts = &l.opts;  // listeners live as long as the reactor
  l.on_accept(c);
  if (!c.handler) conn_close(c, CloseReason::local, "no handler", true);
}

// ---------------------------------------------------------------- adopt / connect

Conn& ReactorImpl::adopt(int fd, const ConnectionOptions& copts, ConnectionHandler* handler, ConnMode mode,
                         bool stream) {
  // Non-blocking under both backends: epoll reads and writes the socket
  // itself, and io_uring must never park a send in a kernel worker thread
  // (on a blocking socket a send that is woken without room is handed to
  // io-wq and blocks a thread there; a full socket is handled with a
  // POLLOUT poll instead, see on_send_done). adopt() takes any socket.
  const int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  auto* c = new Conn();
  c->loop = this;
  c->fd = fd;
  c->id = next_conn_id_++;
  c->opts = copts;
  c->handler = handler;
  c->mode = mode;
  c->peer_name = stream ? "pipe" : peer_of(fd);
  if (stream) c->set(kStream);
  conns_.emplace(c->id, c);
  ++live_connections;
  try {
    io_->add(*c);
  } catch (...) {
    conns_.erase(c->id);
    --live_connections;
    delete c;
    ::close(fd);
    throw;
  }
  return *c;
}

Connection& ReactorImpl::connect(std::string_view endpoint, const ConnectOptions& copts,
                                 ConnectionHandler* handler) {
  Endpoint ep;
  std::string err;
  if (!Endpoint::parse(endpoint, &ep, &err)) throw std::invalid_argument(err);
  if (ep.kind == Endpoint::Kind::tcp && ep.host == "0.0.0.0") ep.host = "127.0.0.1";
  sockaddr_storage ss;
  const socklen_t len = make_addr(ep, &ss);
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int e = errno;
    ::close(fd);
    throw_errno("connect " + ep.to_string(), e);
  }
  set_nodelay(fd);
  Conn& c = adopt(fd, copts.conn, handler, copts.upgrade ? ConnMode::client_head : ConnMode::frames);
  if (copts.upgrade) {
    // The reference dock's exact head (header order and case included).
    std::string head = "CONNECT " + copts.path + " HTTP/1.1\r\n";
    if (!copts.origin.empty()) head += "origin: " + copts.origin + "\r\n";
    head += "Host: " + (ep.kind == Endpoint::Kind::tcp ? ep.to_string() : std::string("localhost")) +
            "\r\nConnection: keep-alive\r\n\r\n";
    c.send_copy(head.data(), head.size());
  }
  return c;
}

}  // namespace hms
