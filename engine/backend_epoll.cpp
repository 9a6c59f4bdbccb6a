// The epoll backend (the fallback where io_uring cannot be set up, or with
// HMS_BACKEND=epoll): level-triggered readiness, reads into the pool's free
// buffers, sendmsg straight from the flush, EPOLLOUT while a socket is full.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "reactor_impl.hpp"

namespace hms {

namespace {

constexpr int kReadsPerEvent = 8;  // fairness: then let others run
constexpr int kAcceptsPerEvent = 64;
constexpr int kEventsPerWait = 256;

class EpollBackend final : public IoBackend {
 public:
  EpollBackend(ReactorImpl& loop, int wake_fd);
  ~EpollBackend() override {
    if (epfd_ >= 0) ::close(epfd_);
  }

  Backend kind() const noexcept override { return Backend::epoll; }
  void start() override {}
  void refill(PoolBlock& b) noexcept override {
    b.set_refs(0);
    b.next = free_;
    free_ = &b;
  }
  void add_listener(Listener& l) override;
  void remove_listener(Listener& l) override { epoll_ctl(epfd_, EPOLL_CTL_DEL, l.fd, nullptr); }
  void add(Conn& c) override;
  void resume_recv(Conn& c) override { update(c); }
  void pause_recv(Conn& c) override { update(c); }
  void unpause_recv(Conn& c) override { update(c); }
  void reads_stopped(Conn& c) override { update(c); }
  void end_recv(Conn& c) override;
  void send(Conn& c) override;
  void wait_room(Conn& c) override { update(c); }
  void cancel_send(Conn& c) override;
  bool kernel_holds_send(const Conn&) const noexcept override { return false; }
  std::int64_t wait(int timeout_ms) override;

 private:
  PoolBlock* take() noexcept;
  void update(Conn& c);
  void read(Conn& c);
  bool read_direct(Conn& c);
  void on_event(std::uint64_t data, std::uint32_t events);
  void on_accept_ready(Listener& l);
  // Level-triggered: a backlog we cannot take would report ready at once,
  // again and again. Leave the listener out of the set for a moment.
  void pause_listener(Listener& l);

  ReactorImpl& loop_;
  int epfd_ = -1;
  int wake_fd_;
  PoolBlock* free_ = nullptr;  // buffers a read may fill
};

EpollBackend::EpollBackend(ReactorImpl& loop, int wake_fd) : loop_(loop), wake_fd_(wake_fd) {
  loop_.direct_reads = true;
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = make_ud(this, OpTag::wake);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl eventfd");
}

PoolBlock* EpollBackend::take() noexcept {
  PoolBlock* b = free_;
  if (!b) return nullptr;
  free_ = b->next;
  b->set_refs(1);
  loop_.pool.taken();
  return b;
}

void EpollBackend::add_listener(Listener& l) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = make_ud(&l, OpTag::accept);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, l.fd, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl listener");
}

void EpollBackend::add(Conn& c) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = make_ud(&c, OpTag::recv);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl add");
  c.set(kRegistered | kRecvActive);
}

// The interest set follows the state: input unless closing or waiting for
// buffers, output while waiting for room.
void EpollBackend::update(Conn& c) {
  if (!c.has(kRegistered)) return;
  epoll_event ev{};
  ev.events = (c.has(kWaitBuffers | kClosing | kReadEnded | kPaused) ? 0u : static_cast<std::uint32_t>(EPOLLIN)) |
              (c.has(kWantRoom) ? static_cast<std::uint32_t>(EPOLLOUT) : 0u);
  ev.data.u64 = make_ud(&c, OpTag::recv);
  if (ev.events == 0) {
    // Waiting for receive buffers and nothing to send: take the fd out.
    // epoll reports a hang-up whatever the mask says, and a peer that hung
    // up while we wait would wake every epoll_wait at once (a busy loop).
    if (!c.has(kParked) && epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr) == 0) c.set(kParked);
    return;
  }
  if (c.has(kParked)) {
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) == 0) c.clear(kParked);
    return;
  }
  epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void EpollBackend::end_recv(Conn& c) {
  if (c.has(kRegistered) && !c.has(kParked)) epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
  c.clear(kRegistered | kParked | kRecvActive);
}

void EpollBackend::send(Conn& c) {
  const ssize_t w = ::sendmsg(c.fd, &c.msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  loop_.on_send_done(c, w < 0 ? -errno : static_cast<int>(w));
}

void EpollBackend::cancel_send(Conn& c) {
  // Nothing is ever in the kernel here: a send in progress is only a wish
  // for EPOLLOUT. Drop it.
  if (!c.has(kSendActive)) return;
  c.clear(kSendActive | kWantRoom);
  update(c);
}

void EpollBackend::read(Conn& c) {
  for (int i = 0; i < kReadsPerEvent && !c.has(kClosing | kPaused); ++i) {
    if (loop_.direct_read_wanted(c)) {
      if (!read_direct(c)) return;
      continue;
    }
    PoolBlock* b = take();
    if (!b) {
      loop_.on_buffers_short(c);
      update(c);
      return;
    }
    BufRef ref = BufRef::adopt(b);
    const ssize_t n = ::read(c.fd, b->data(), b->capacity());
    if (n > 0) {
      loop_.on_data(c, std::move(ref), static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < b->capacity()) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    loop_.on_recv_end(c, n == 0 ? 0 : -errno);
    return;
  }
}

void EpollBackend::on_accept_ready(Listener& l) {
  for (int i = 0; i < kAcceptsPerEvent && !l.closed; ++i) {
    const int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && loop_.on_accept_error(l, errno)) pause_listener(l);
      return;
    }
    loop_.on_accepted(l, fd);
  }
}

// One read straight into the frame being assembled (see receive.cpp).
// False: stop reading for now.
bool EpollBackend::read_direct(Conn& c) {
  std::uint8_t* dst = nullptr;
  std::size_t room = 0;
  if (!loop_.direct_read_room(c, &dst, &room)) return false;
  const ssize_t n = ::read(c.fd, dst, room);
  if (n > 0) {
    loop_.on_direct_data(c, static_cast<std::size_t>(n));
    return static_cast<std::size_t>(n) == room;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
  if (n < 0 && errno == EINTR) return true;
  loop_.on_recv_end(c, n == 0 ? 0 : -errno);
  return false;
}

void EpollBackend::pause_listener(Listener& l) {
  epoll_ctl(epfd_, EPOLL_CTL_DEL, l.fd, nullptr);
  Listener* lp = &l;
  loop_.add_timer(std::chrono::milliseconds(50), {}, [this, lp] {
    if (lp->closed) return;
    loop_.before_accepting_again(*lp);
    add_listener(*lp);
  });
}

void EpollBackend::on_event(std::uint64_t data, std::uint32_t events) {
  void* obj = ud_ptr(data);
  switch (ud_tag(data)) {
    case OpTag::recv: {
      Conn& c = *static_cast<Conn*>(obj);
      if (c.has(kFreed)) return;
      // A hang-up or error also ends the wait for room: the next send
      // reports it (and a closing connection no longer listens for input).
      if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && c.has(kWantRoom)) {
        loop_.on_room(c);
        update(c);
      }
      if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c.has(kClosing | kWaitBuffers | kReadEnded | kPaused)) read(c);
      if (c.has(kClosing)) loop_.maybe_finalize(c);
      break;
    }
    case OpTag::accept:
      on_accept_ready(*static_cast<Listener*>(obj));
      break;
    case OpTag::wake: {
      std::uint64_t v;
      if (::read(wake_fd_, &v, sizeof v) > 0) loop_.on_wake();
      break;
    }
    default:
      break;
  }
}

std::int64_t EpollBackend::wait(int timeout_ms) {
  epoll_event evs[kEventsPerWait];
  const auto from = std::chrono::steady_clock::now();
  const int n = epoll_wait(epfd_, evs, kEventsPerWait, timeout_ms);
  loop_.now = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) on_event(evs[i].data.u64, evs[i].events);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(loop_.now - from).count();
}

}  // namespace

std::unique_ptr<IoBackend> make_epoll_backend(ReactorImpl& loop, const ReactorOptions&, int wake_fd) {
  return std::make_unique<EpollBackend>(loop, wake_fd);
}

}  // namespace hms
