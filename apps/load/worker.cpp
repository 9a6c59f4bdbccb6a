#include "worker.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>

#include "hms/http.hpp"
#include "hms/log.hpp"
#include "procstat.hpp"

namespace hms::load {

Worker::Worker(Shared& sh, unsigned index) : sh_(sh), index_(index), next_dock_(index) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  evfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (evfd_ < 0) {
    const int e = errno;
    ::close(epfd_);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the one event that is not a connection
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
  rbuf_.resize(kReadBuffer);
}

Worker::~Worker() {
  join();
  for (auto& d : docks_)
    if (d->fd >= 0) ::close(d->fd);
  for (auto& c : clients_)
    if (c->fd >= 0) ::close(c->fd);
  ::close(evfd_);
  ::close(epfd_);
}

void Worker::add_client(std::uint32_t index) {
  auto c = std::make_unique<Client>();
  c->index = index;
  c->stream = index >= sh_.opt.clients;
  c->last_seq.assign(sh_.opt.docks, kNoSeq);
  clients_.push_back(std::move(c));
}

void Worker::start() {
  thread_ = std::thread([this] { loop(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

std::optional<double> Worker::cpu_seconds() const { return thread_cpu_seconds(thread_); }

void Worker::notify() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t w = ::write(evfd_, &one, sizeof one);
}

void Worker::watch(Conn& c) {
  // Edge-triggered: a read drains the socket (until a short read), a send
  // that the kernel cut short waits for the next EPOLLOUT edge. No
  // epoll_ctl per state change.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &c;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) != 0)
    close_conn(c, std::string("epoll_ctl: ") + std::strerror(errno));
}

// ---------------------------------------------------------------- the loop

void Worker::loop() {
  for (auto& c : clients_) open_client(*c);
  epoll_event events[256];
  bool pwait2 = true;  // epoll_pwait2 needs Linux 5.11
  while (!sh_.stopping.load(std::memory_order_relaxed)) {
    // A timeout in nanoseconds: in rate mode the loop sleeps until the next
    // dock is due, not to the next millisecond, so docks send at their own
    // times and a frame relayed back is read when it arrives, not after a
    // whole tick's worth of sends (that wait would count as hub latency).
    const std::int64_t wait = timeout_ns();
    int n = -1;
    if (pwait2) {
      const timespec ts{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
      n = ::epoll_pwait2(epfd_, events, 256, &ts, nullptr);
      if (n < 0 && errno == ENOSYS) pwait2 = false;
    }
    if (!pwait2) n = ::epoll_wait(epfd_, events, 256, static_cast<int>((wait + 999'999) / 1'000'000));
    for (int i = 0; i < n; ++i) {
      if (!events[i].data.ptr) {
        std::uint64_t v;
        [[maybe_unused]] const ssize_t r = ::read(evfd_, &v, sizeof v);
        continue;
      }
      on_event(*static_cast<Conn*>(events[i].data.ptr), events[i].events);
    }
    if (docks_to_connect()) connect_docks();
    if (sh_.opt.rate == 0) pump();
    else tick();
  }
  unpark();
}

std::int64_t Worker::timeout_ns() {
  constexpr std::int64_t kMs = 1'000'000, kIdle = 100 * kMs;
  if (sh_.stopping.load(std::memory_order_relaxed)) return 0;
  // Docks left to connect: the connect window frees up on other threads too.
  if (docks_to_connect()) return kMs;
  if (sh_.opt.rate == 0) {
    if (ready_.empty()) return kIdle;
    // Parked: another thread's clients may free the credit; notify() wakes
    // us then, and the millisecond is the safety net.
    return parked_.load(std::memory_order_relaxed) ? kMs : 0;
  }
  if (schedule_.empty()) return kIdle;
  return std::clamp<std::int64_t>(schedule_.top().first - mono_ns(), 0, kIdle);
}

void Worker::on_event(Conn& c, std::uint32_t events) {
  if (c.state == Conn::State::closed) return;
  if (c.state == Conn::State::connecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (const int e = connect_error(c.fd)) {
      close_conn(c, std::string("connect: ") + std::strerror(e));
      return;
    }
    if (c.is_dock) dock_connected(static_cast<Dock&>(c));
    else client_connected(static_cast<Client&>(c));
  } else if (events & EPOLLOUT) {
    if (!flush_out(c)) {
      close_conn(c, std::string("send: ") + std::strerror(errno));
      return;
    }
    if (c.is_dock) dock_writable(static_cast<Dock&>(c));
  }
  if (c.state != Conn::State::closed && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
    read_ready(c);
}

void Worker::read_ready(Conn& c) {
  for (;;) {
    // The unfinished frame of the last read goes in front (less than one
    // frame: a memcpy of ~100 bytes per read on the hot path).
    const std::size_t keep = c.partial.size();
    if (rbuf_.size() < c.need) rbuf_.resize(c.need);
    if (keep) std::memcpy(rbuf_.data(), c.partial.data(), keep);
    const std::size_t space = rbuf_.size() - keep;
    const ssize_t r = ::recv(c.fd, rbuf_.data() + keep, space, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) close_conn(c, std::string("recv: ") + std::strerror(errno));
      return;
    }
    if (r == 0) {
      close_conn(c, keep ? "closed by the hub inside a frame" : "closed by the hub");
      return;
    }
    // One clock read per read: the frames of one read arrived together.
    const std::int64_t now = mono_ns();
    const std::size_t len = keep + static_cast<std::size_t>(r);
    std::size_t used = 0;
    c.need = 0;
    if (!c.is_dock && static_cast<Client&>(c).stream) {
      used = stream_input(static_cast<Client&>(c), rbuf_.data(), len, now);
    } else if (c.state == Conn::State::upgrading) {
      used = take_upgrade(c, rbuf_.data(), len);
    }
    if (c.state == Conn::State::open && !(!c.is_dock && static_cast<Client&>(c).stream)) {
      used += c.is_dock ? dock_input(static_cast<Dock&>(c), rbuf_.data() + used, len - used)
                        : client_input(static_cast<Client&>(c), rbuf_.data() + used, len - used, now);
    }
    if (c.state == Conn::State::closed) return;
    c.partial.assign(rbuf_.data() + used, rbuf_.data() + len);
    // Edge-triggered: a short read means the socket is drained; the next
    // bytes bring the next edge.
    if (static_cast<std::size_t>(r) < space) return;
  }
}

std::size_t Worker::take_upgrade(Conn& c, const std::uint8_t* p, std::size_t n) {
  // Clients only read the status, as the reference does.
  ResponseHead head;
  const HttpResult r = parse_response_head(p, n, &head);
  if (r.status == HttpStatus::need_more) return 0;
  if (r.status == HttpStatus::error) {
    close_conn(c, std::string("bad answer to CONNECT: ") + to_string(r.error) + " at byte " +
                      std::to_string(r.error_offset));
    return 0;
  }
  if (head.status != 101) {
    close_conn(c, "the hub answered CONNECT with HTTP " + std::to_string(head.status));
    return 0;
  }
  c.state = Conn::State::open;
  return r.size;
}

void Worker::protocol_error(Conn& c, const std::uint8_t* at, std::size_t left, const char* what) {
  close_conn(c, std::string("protocol error: ") + what + " (bytes " + hex_sample(at, left) + ")");
}

void Worker::close_conn(Conn& c, const std::string& why) {
  if (c.state == Conn::State::closed) return;
  HMS_LOG(debug, "hms-load: %s %u closed: %s", c.is_dock ? "dock" : "client",
          c.is_dock ? static_cast<Dock&>(c).index : static_cast<Client&>(c).index, why.c_str());
  if (c.fd >= 0) ::close(c.fd);  // also leaves the epoll set
  c.fd = -1;
  c.state = Conn::State::closed;
  c.partial.clear();
  c.out.clear();
  c.out_off = 0;
  if (c.is_dock) dock_closed(static_cast<Dock&>(c), why);
  else client_closed(static_cast<Client&>(c), why);
}

void Worker::reply(Conn& c, FrameType type, std::uint16_t request_id, std::string_view body) {
  scratch_.clear();
  append_frame(scratch_, type, request_id, body);
  if (!send_bytes(c, scratch_.data(), scratch_.size()))
    close_conn(c, std::string("send: ") + std::strerror(errno));
}

// ---------------------------------------------------------------- pacing

void Worker::pump() {
  if (ready_.empty()) return;
  const std::int64_t credit = sh_.credit();
  if (credit <= 0) {
    park();
    return;
  }
  unpark();
  std::uint64_t budget = std::min<std::uint64_t>(static_cast<std::uint64_t>(credit), kPumpBudget);
  std::uint64_t total = 0;
  while (budget && !ready_.empty()) {
    if (rr_ >= ready_.size()) rr_ = 0;
    Dock* d = ready_[rr_];
    // One clock read per batch: its frames leave in one send(2).
    const std::uint64_t n = d->streaming ? send_frames(*d, std::min<std::uint64_t>(sh_.opt.batch, budget), mono_ns()) : 0;
    total += n;
    budget -= n;
    if (!d->streaming || d->blocked || !d->out_empty()) {
      // Out of the rotation until EPOLLOUT (or a new subscription).
      d->in_ready = false;
      ready_[rr_] = ready_.back();
      ready_.pop_back();
    } else {
      ++rr_;
    }
  }
  sh_.sent_total.fetch_add(total, std::memory_order_relaxed);
}

void Worker::park() {
  if (!parked_.exchange(true)) sh_.parked.fetch_add(1);
}

void Worker::unpark() {
  if (parked_.exchange(false)) sh_.parked.fetch_sub(1);
}

void Worker::kick_parked() {
  // Resume once half the window is free again, not at the first free
  // frame: a pump pass then has something worth writing.
  if (sh_.credit() < sh_.window_frames / 2) return;
  for (Worker* w : sh_.workers) {
    if (w == this) continue;  // this loop checks its own credit after the reads
    if (w->parked_.exchange(false)) {
      sh_.parked.fetch_sub(1);
      w->notify();
    }
  }
}

void Worker::tick() {
  if (schedule_.empty()) return;
  const std::int64_t now = mono_ns();
  const std::int64_t period = sh_.period_ns;
  // Docks due within kSendAhead send now, a little early: one wake-up per
  // kSendAhead at most, however many docks there are (a wake-up per frame
  // costs more than the frame here, in timer programming and context
  // switches), and few enough sends per wake-up that a frame relayed back
  // meanwhile is read soon (its wait counts as hub latency).
  const std::int64_t horizon = now + kSendAhead;
  while (!schedule_.empty() && schedule_.top().first <= horizon) {
    Dock* d = schedule_.top().second;
    schedule_.pop();
    if (d->state != Conn::State::open || !d->streaming) {
      d->in_heap = false;
      continue;
    }
    const std::int64_t late = now - d->next_due;  // < 0: sent ahead
    const auto due = static_cast<std::uint64_t>(late >= 0 ? late / period + 1 : 1);
    d->next_due += static_cast<std::int64_t>(due) * period;
    // Stamped right before its own send, not with the wake-up's time: the
    // sends of one wake-up take microseconds each, which would count as
    // the hub's latency. At these rates a clock read per send is cheap.
    const std::uint64_t n = send_frames(*d, std::min(due, kMaxCatchUp), mono_ns());
    if (sh_.in_window(now)) counts_.skipped += due - n;
    schedule_.emplace(d->next_due, d);
  }
}

}  // namespace hms::load
