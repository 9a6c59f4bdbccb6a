// The io_uring backend: multishot accept, multishot recv into a registered
// provided-buffer ring (single-shot buffer-select reads for pipes), one
// gathered sendmsg in flight per socket, a POLLOUT poll when a socket is
// full, and a multishot poll on the reactor's eventfd for wake-ups.
//
// The ring is created SINGLE_ISSUER | DEFER_TASKRUN where the kernel has
// them (6.1+); SINGLE_ISSUER ties it to the task that enables it, so it is
// created disabled and enabled in start(), on the loop thread.
#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "hms/log.hpp"
#include "reactor_impl.hpp"

namespace hms {

namespace {

// How long to wait before sending again to a peer that has shut its side
// down while our output waits for room (see on_room_cqe).
constexpr auto kRoomRetry = std::chrono::milliseconds(20);
// Accepting again after running out of descriptors.
constexpr auto kAcceptRetry = std::chrono::milliseconds(50);

class UringBackend final : public IoBackend {
 public:
  UringBackend(ReactorImpl& loop, const ReactorOptions& opts, int wake_fd)
      : loop_(loop), entries_(opts.recv_buffers), wake_fd_(wake_fd) {}
  ~UringBackend() override;
  bool init(const ReactorOptions& opts, std::string* why);

  Backend kind() const noexcept override { return Backend::uring; }
  void start() override;
  void refill(PoolBlock& b) noexcept override;
  void add_listener(Listener& l) override { arm_accept(l); }
  void remove_listener(Listener& l) override;
  void add(Conn& c) override { arm_recv(c); }
  void resume_recv(Conn& c) override { arm_recv(c); }
  void pause_recv(Conn& c) override { end_recv(c); }
  void unpause_recv(Conn& c) override {
    // A cancel still in flight re-arms when it completes (on_recv_cqe).
    if (!c.has(kRecvActive | kWaitBuffers)) arm_recv(c);
  }
  void reads_stopped(Conn&) override {}  // the receive ends with shutdown(2)
  void end_recv(Conn& c) override;
  void send(Conn& c) override;
  void wait_room(Conn& c) override;
  void cancel_send(Conn& c) override;
  bool kernel_holds_send(const Conn& c) const noexcept override {
    return c.has(kSendActive) && !c.has(kWantRoom);
  }
  std::int64_t wait(int timeout_ms) override;

 private:
  io_uring_sqe* get_sqe();
  void cancel(std::uint64_t ud);
  void arm_recv(Conn& c);
  void arm_accept(Listener& l);
  void on_cqe(const io_uring_cqe& cqe);
  void on_recv_cqe(Conn& c, int res, unsigned flags);
  void on_accept_cqe(Listener& l, int res, bool more);
  void on_room_cqe(Conn& c, int res);

  ReactorImpl& loop_;
  io_uring ring_{};
  bool ring_ok_ = false;
  bool disabled_ = false;  // created R_DISABLED, enabled by start()
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::size_t buf_ring_bytes_ = 0;
  std::uint32_t entries_;
  int wake_fd_;
  bool wake_armed_ = false;
};

bool UringBackend::init(const ReactorOptions& opts, std::string* why) {
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
  int rc = io_uring_queue_init_params(opts.ring_entries, &ring_, &p);
  if (rc == 0) disabled_ = true;
  if (rc == -EINVAL) {  // kernel older than 6.1: no DEFER_TASKRUN
    p = io_uring_params{};
    p.flags = IORING_SETUP_COOP_TASKRUN;
    rc = io_uring_queue_init_params(opts.ring_entries, &ring_, &p);
  }
  if (rc == -EINVAL) {
    p = io_uring_params{};
    rc = io_uring_queue_init_params(opts.ring_entries, &ring_, &p);
  }
  if (rc != 0) {
    *why = strerror(-rc);
    return false;
  }
  ring_ok_ = true;
  // Provided-buffer ring (liburing 2.3: registered by hand).
  buf_ring_bytes_ = sizeof(io_uring_buf) * entries_;
  void* m = mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    *why = std::string("provided buffers: ") + strerror(errno);
    return false;
  }
  buf_ring_ = static_cast<io_uring_buf_ring*>(m);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(m);
  reg.ring_entries = entries_;
  reg.bgid = 0;
  rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc != 0) {
    *why = std::string("provided buffers: ") + strerror(-rc);
    munmap(buf_ring_, buf_ring_bytes_);
    buf_ring_ = nullptr;
    return false;
  }
  io_uring_buf_ring_init(buf_ring_);
  return true;
}

UringBackend::~UringBackend() {
  if (!ring_ok_) return;
  if (buf_ring_) {
    io_uring_unregister_buf_ring(&ring_, 0);
    munmap(buf_ring_, buf_ring_bytes_);
  }
  io_uring_queue_exit(&ring_);
}

void UringBackend::start() {
  if (!disabled_) return;
  // liburing 2.3 declares io_uring_enable_rings but does not export it.
  const long rc = ::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  if (rc < 0) throw std::system_error(errno, std::generic_category(), "io_uring enable rings");
  disabled_ = false;
}

void UringBackend::refill(PoolBlock& b) noexcept {
  const int mask = io_uring_buf_ring_mask(entries_);
  io_uring_buf_ring_add(buf_ring_, b.data(), static_cast<unsigned>(b.capacity()), b.bid, mask, 0);
  // Release store of the tail: the kernel sees the entry before the tail.
  io_uring_buf_ring_advance(buf_ring_, 1);
}

io_uring_sqe* UringBackend::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  if (!sqe) throw std::runtime_error("io_uring submission queue full");
  return sqe;
}

void UringBackend::cancel(std::uint64_t ud) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel64(sqe, ud, 0);
  io_uring_sqe_set_data64(sqe, make_ud(this, OpTag::ignore));
}

// ---------------------------------------------------------------- listeners

void UringBackend::arm_accept(Listener& l) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_multishot_accept(sqe, l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, make_ud(&l, OpTag::accept));
  l.accept_active = true;
}

void UringBackend::remove_listener(Listener& l) {
  if (l.accept_active) cancel(make_ud(&l, OpTag::accept));
}

void UringBackend::on_accept_cqe(Listener& l, int res, bool more) {
  if (!more) l.accept_active = false;
  bool back_off = false;
  if (res >= 0) loop_.on_accepted(l, res);
  else back_off = loop_.on_accept_error(l, -res);
  if (l.accept_active || l.closed) return;
  if (back_off) {
    // No descriptor to refuse with: try again shortly rather than spin.
    Listener* lp = &l;
    loop_.add_timer(kAcceptRetry, {}, [this, lp] {
      if (lp->closed || lp->accept_active) return;
      loop_.before_accepting_again(*lp);
      arm_accept(*lp);
    });
  } else {
    arm_accept(l);
  }
}

// ---------------------------------------------------------------- receive

void UringBackend::arm_recv(Conn& c) {
  io_uring_sqe* sqe = get_sqe();
  if (c.has(kStream)) {
    // Pipes take reads, not recvs: one buffer-select read at a time.
    io_uring_prep_read(sqe, c.fd, nullptr, static_cast<unsigned>(loop_.pool.size()), static_cast<__u64>(-1));
  } else {
    io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  io_uring_sqe_set_data64(sqe, make_ud(&c, OpTag::recv));
  c.set(kRecvActive);
}

void UringBackend::end_recv(Conn& c) {
  if (c.has(kRecvActive)) cancel(make_ud(&c, OpTag::recv));
}

void UringBackend::on_recv_cqe(Conn& c, int res, unsigned flags) {
  const bool more = (flags & IORING_CQE_F_MORE) != 0;
  if (!more) c.clear(kRecvActive);
  if (res > 0) {
    PoolBlock& b = loop_.pool.block(static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT));
    b.set_refs(1);
    loop_.pool.taken();
    loop_.on_data(c, BufRef::adopt(&b), static_cast<std::size_t>(res));
    if (!more && !c.has(kClosing | kPaused)) arm_recv(c);
  } else if (res == -ENOBUFS) {
    loop_.on_buffers_short(c);
  } else if (res == -ECANCELED && !c.has(kClosing)) {
    if (!more && !c.has(kPaused)) arm_recv(c);  // resumed while pause's cancel was in flight
  } else if (!(res == -ECANCELED && c.has(kClosing))) {  // not our own cancel at close
    loop_.on_recv_end(c, res);
  }
  if (c.has(kClosing)) loop_.maybe_finalize(c);
}

// ---------------------------------------------------------------- send

void UringBackend::send(Conn& c) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_sendmsg(sqe, c.fd, &c.msg, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, make_ud(&c, OpTag::send));
}

void UringBackend::wait_room(Conn& c) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_poll_add(sqe, c.fd, POLLOUT);
  io_uring_sqe_set_data64(sqe, make_ud(&c, OpTag::room));
}

void UringBackend::on_room_cqe(Conn& c, int res) {
  if (res > 0 && !c.has(kAborted) && !(res & (POLLOUT | POLLERR | POLLHUP | POLLNVAL))) {
    // io_uring always adds RDHUP to a poll's mask, so once the peer has
    // shut down its side every POLLOUT poll completes at once, with room or
    // not: polling again would spin. Try again a little later instead (the
    // connection is closing: its EOF came in; close_timeout bounds this).
    const std::uint64_t id = c.id;
    c.room_timer = loop_.add_timer(kRoomRetry, {}, [this, id] {
      if (Conn* cc = loop_.find(id)) {
        cc->room_timer = 0;
        loop_.on_room(*cc);
      }
    });
    return;
  }
  loop_.on_room(c);
}

void UringBackend::cancel_send(Conn& c) {
  if (c.room_timer) {
    // Waiting on a timer, nothing in the kernel: just stop waiting.
    loop_.cancel_timer(c.room_timer);
    c.room_timer = 0;
    c.clear(kSendActive | kWantRoom);
    return;
  }
  if (!c.has(kSendActive) || c.has(kCancelAsked)) return;
  cancel(make_ud(&c, c.has(kWantRoom) ? OpTag::room : OpTag::send));
  c.set(kCancelAsked);
}

// ---------------------------------------------------------------- the wait

void UringBackend::on_cqe(const io_uring_cqe& cqe) {
  const std::uint64_t ud = io_uring_cqe_get_data64(&cqe);
  void* obj = ud_ptr(ud);
  switch (ud_tag(ud)) {
    case OpTag::recv:
      on_recv_cqe(*static_cast<Conn*>(obj), cqe.res, cqe.flags);
      break;
    case OpTag::send:
      loop_.on_send_done(*static_cast<Conn*>(obj), cqe.res);
      break;
    case OpTag::room:
      on_room_cqe(*static_cast<Conn*>(obj), cqe.res);
      break;
    case OpTag::accept:
      on_accept_cqe(*static_cast<Listener*>(obj), cqe.res, (cqe.flags & IORING_CQE_F_MORE) != 0);
      break;
    case OpTag::wake: {
      if (!(cqe.flags & IORING_CQE_F_MORE)) wake_armed_ = false;
      std::uint64_t v;
      if (::read(wake_fd_, &v, sizeof v) > 0) loop_.on_wake();
      break;
    }
    case OpTag::ignore:
      break;
  }
}

std::int64_t UringBackend::wait(int timeout_ms) {
  if (!wake_armed_) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_multishot(sqe, wake_fd_, POLLIN);
    io_uring_sqe_set_data64(sqe, make_ud(this, OpTag::wake));
    wake_armed_ = true;
  }
  __kernel_timespec ts{};
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
  io_uring_cqe* cqe = nullptr;
  const auto from = std::chrono::steady_clock::now();
  const int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout_ms >= 0 ? &ts : nullptr, nullptr);
  loop_.now = std::chrono::steady_clock::now();
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
    HMS_LOG(error, "io_uring wait: %s", strerror(-rc));
  unsigned head;
  unsigned seen = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    on_cqe(*cqe);
    ++seen;
  }
  io_uring_cq_advance(&ring_, seen);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(loop_.now - from).count();
}

}  // namespace

std::unique_ptr<IoBackend> make_uring_backend(ReactorImpl& loop, const ReactorOptions& opts, int wake_fd,
                                              std::string* why) {
  auto b = std::make_unique<UringBackend>(loop, opts, wake_fd);
  if (!b->init(opts, why)) return nullptr;
  return b;
}

}  // namespace hms
