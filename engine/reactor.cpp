// The reactor: loop, timers, posted tasks, buffer pool, and the two I/O
// backends (io_uring first, epoll as the fallback) feeding one connection
// state machine.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "hms/log.hpp"
#include "reactor_impl.hpp"

namespace hms {

thread_local ReactorImpl* tls_reactor = nullptr;

namespace {

[[noreturn]] void throw_errno(const std::string& what, int err = errno) {
  throw std::system_error(err, std::generic_category(), what);
}

constexpr std::size_t kMaxIov = 64;
constexpr std::size_t kScratchBlock = 64 * 1024;
constexpr std::size_t kScratchFirst = 1024;
constexpr int kEpollReadsPerEvent = 8;  // fairness: then let others run
constexpr auto kShutdownDrain = std::chrono::seconds(2);
// io_uring: how long to wait before sending again to a peer that has shut
// its side down while our output waits for room (see on_room).
constexpr auto kRoomRetry = std::chrono::milliseconds(20);

// Every reactor of the process, so one whose pool runs low can wake the
// others: their connections may hold its receive buffers (a frame relayed
// across reactors), and only their own threads may copy those out.
std::mutex g_reactors_mu;
std::vector<ReactorImpl*> g_reactors;  // guarded by g_reactors_mu
// How many pools are below their low mark right now. Relaxed: it only
// tells a reactor to look for pinned frames of a low pool on its loop
// passes; the wake-up from wake_others() is what makes a sleeping reactor
// look promptly, and the per-pool count decides what is copied.
std::atomic<int> g_low_pools{0};

std::string hex_sample(const std::uint8_t* p, std::size_t len) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  const std::size_t n = len < 16 ? len : 16;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  if (len > n) out += "...";
  return out;
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
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a->sin6_port));
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

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    default: return "Status";
  }
}

}  // namespace

// ---------------------------------------------------------------- names

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

HttpResponse ConnectionHandler::on_http(Connection&, const HttpRequest& req) {
  HttpResponse r;
  if (req.head.method == HttpMethod::get && req.head.target == "/") {
    r.body = "hms\n";
  } else {
    r.status = 404;
    r.body = "Not found\n";
  }
  return r;
}

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

// ---------------------------------------------------------------- blocks

Block* Block::heap(std::size_t capacity) {
  // One allocation: the Block header, then the bytes and their padding.
  void* mem = std::malloc(sizeof(Block) + capacity + kBlockPadding);
  if (!mem) throw std::bad_alloc();
  auto* b = new (mem) Block();
  b->data_ = reinterpret_cast<std::uint8_t*>(b + 1);
  b->capacity_ = static_cast<std::uint32_t>(capacity);
  b->refs_.store(1, std::memory_order_relaxed);
  return b;
}

void Block::recycle() noexcept {
  if (pool_) {
    pool_->recycle(this);
  } else {
    this->~Block();
    std::free(this);
  }
}

BlockPool::BlockPool(ReactorImpl* owner, std::uint32_t count, std::uint32_t size)
    : owner_(owner), count_(count), size_(size) {
  const std::size_t bytes = stride() * count;
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw_errno("mmap receive buffers");
  mem_ = static_cast<std::uint8_t*>(m);
  blocks_.reset(new Block[count]);
  for (std::uint32_t i = 0; i < count; ++i) {
    Block& b = blocks_[i];
    b.data_ = mem_ + stride() * i;
    b.capacity_ = size;
    b.pool_ = this;
    b.bid_ = static_cast<std::uint16_t>(i);
  }
}

BlockPool::~BlockPool() {
  if (mem_) munmap(mem_, stride() * count_);
}

void BlockPool::recycle(Block* b) noexcept {
  if (tls_reactor == owner_) {
    give_back(b);
    return;
  }
  // Foreign thread: push on the returned stack and wake the owner.
  Block* head = returned_.load(std::memory_order_relaxed);
  do {
    b->next_ = head;
  } while (!returned_.compare_exchange_weak(head, b, std::memory_order_release,
                                            std::memory_order_relaxed));
  if (head == nullptr) owner_->wake();
}

void BlockPool::drain_returned() noexcept {
  Block* b = returned_.exchange(nullptr, std::memory_order_acquire);
  while (b) {
    Block* next = b->next_;
    give_back(b);
    b = next;
  }
}

void BlockPool::give_back(Block* b) noexcept {
  add_free(1);
  if (owner_->backend == Backend::uring) {
    owner_->recycle_to_ring(b);
  } else {
    b->next_ = free_;
    free_ = b;
  }
}

Block* BlockPool::take() noexcept {
  Block* b = free_;
  if (!b) return nullptr;
  free_ = b->next_;
  add_free(-1);
  b->refs_.store(1, std::memory_order_relaxed);
  return b;
}

// ---------------------------------------------------------------- connection

Connection::~Connection() {
  delete[] static_cast<iovec*>(iov_);
  delete[] seg_;
}

// ConnAccess gives the reactor's helpers the connection's private parts.
struct ConnAccess {
  using Segment = Connection::Segment;
  static void grow(Connection* c) {
    const std::size_t cap = c->seg_cap_ ? c->seg_cap_ * 2 : 16;
    auto* n = new Segment[cap];
    for (std::size_t i = 0; i < c->seg_count_; ++i)
      n[i] = std::move(c->seg_[(c->seg_head_ + i) & (c->seg_cap_ - 1)]);
    delete[] c->seg_;
    c->seg_ = n;
    c->seg_cap_ = cap;
    c->seg_head_ = 0;
  }
  // seg_cap_ is a power of two: a mask, not a 64-bit divide per access.
  static Segment& at(Connection* c, std::size_t i) {
    return c->seg_[(c->seg_head_ + i) & (c->seg_cap_ - 1)];
  }
  static void push(Connection* c, BufRef ref, const std::uint8_t* p, std::size_t n) {
    if (c->seg_count_ == c->seg_cap_) grow(c);
    Segment& s = c->seg_[(c->seg_head_ + c->seg_count_) & (c->seg_cap_ - 1)];
    if (ref->is_pooled()) {
      // Pins a receive buffer: the reactor must be able to find it when
      // that buffer's pool runs low.
      if (c->pooled_segs_++ == 0) c->reactor_->note_pinner(c);
    }
    s.ref = std::move(ref);
    s.data = p;
    s.len = n;
    ++c->seg_count_;
  }
  static void release(Connection* c, Segment& s) {
    if (s.ref && s.ref->is_pooled()) --c->pooled_segs_;
    s.ref.reset();
  }
  static void pop(Connection* c) {
    release(c, c->seg_[c->seg_head_]);
    c->seg_head_ = (c->seg_head_ + 1) & (c->seg_cap_ - 1);
    --c->seg_count_;
  }
  // Drops the newest segment (not yet handed to the kernel).
  static void drop_back(Connection* c) {
    Segment& s = at(c, c->seg_count_ - 1);
    c->queued_ -= s.len;
    release(c, s);
    --c->seg_count_;
  }
  static void clear(Connection* c) {
    while (c->seg_count_) pop(c);
    c->queued_ = 0;
  }
  static void over_soft_limit(Connection* c) {
    ReactorImpl* r = c->reactor_;
    const OutputLimits& lim = c->opts_.limits;
    ++r->stats.slow_disconnects;
    r->conn_close(c, CloseReason::output_limit,
                  "output queue over soft limit " + std::to_string(lim.soft) + " bytes for " +
                      std::to_string(lim.soft_seconds.count()) + " s",
                  true);
  }
  // After n more bytes were queued: limits and the high-water edge.
  static void queued_more(Connection* c, std::size_t n) {
    c->queued_ += n;
    ReactorImpl* r = c->reactor_;
    const OutputLimits& lim = c->opts_.limits;
    if (lim.hard && c->queued_ > lim.hard) {
      ++r->stats.slow_disconnects;
      r->conn_close(c, CloseReason::output_limit,
                    "output queue " + std::to_string(c->queued_) + " bytes over hard limit " +
                        std::to_string(lim.hard),
                    true);
      return;
    }
    if (lim.soft && c->queued_ > lim.soft) {
      if (c->soft_since_ == std::chrono::steady_clock::time_point{}) {
        c->soft_since_ = r->now;
        // A queue that stops growing is never checked here again: a timer
        // looks once the period may have run out (Redis checks in its cron).
        r->arm_soft_timer(c, lim.soft_seconds);
      } else if (r->now - c->soft_since_ > lim.soft_seconds) {
        over_soft_limit(c);
        return;
      }
    }
    if (c->queued_ >= c->high_water_) c->above_high_ = true;
    r->mark_dirty(c);
  }
};


std::uint8_t* Connection::reserve(std::size_t n) {
  if (!scratch_ || scratch_->capacity() - scratch_used_ < n) {
    // Start small and double up to kScratchBlock: most of 10,000 docks only
    // ever send a handshake and a few replies, and must not cost 64 KiB each.
    std::size_t want = kScratchFirst;
    if (scratch_) want = std::min<std::size_t>(std::size_t{scratch_->capacity()} * 2, kScratchBlock);
    scratch_ = BufRef::adopt(Block::heap(n > want ? n : want));
    scratch_used_ = 0;
  }
  return scratch_->data() + scratch_used_;
}

void Connection::commit(std::size_t n) {
  if (closing_ || n == 0) return;
  std::uint8_t* p = scratch_->data() + scratch_used_;
  scratch_used_ += n;
  // Contiguous with the last segment in the same block: extend it. This is
  // safe even while that segment is in flight: completions advance by the
  // byte count the kernel reports, so the extension simply goes next time.
  if (seg_count_) {
    auto& last = ConnAccess::at(this, seg_count_ - 1);
    if (last.ref.get() == scratch_.get() && last.data + last.len == p) {
      last.len += n;
      ConnAccess::queued_more(this, n);
      return;
    }
  }
  ConnAccess::push(this, scratch_, p, n);
  ConnAccess::queued_more(this, n);
}

void Connection::note_frames_out(std::size_t n) noexcept { reactor_->stats.frames_out += n; }

bool Connection::send_copy(const void* data, std::size_t n) {
  if (closing_) return false;
  if (n == 0) return true;
  std::memcpy(reserve(n), data, n);
  commit(n);
  return true;
}

bool Connection::send_ref(const BufRef& storage, const std::uint8_t* data, std::size_t n) {
  if (closing_) return false;
  if (n == 0) return true;
  // A pooled receive buffer pinned by a slow reader starves the ring that
  // every connection on its reactor reads into: when that pool runs low,
  // copy once into a heap block instead of taking a reference. (The pool
  // may be another reactor's: its count is readable from any thread.)
  if (!storage || BlockPool::pinning_hurts(*storage.get())) {
    if (storage) ++reactor_->stats.pinned_copies;
    return send_copy(data, n);
  }
  // Frames relayed back to back from one receive buffer are contiguous
  // there too: one iovec for all of them (safe while in flight, as in
  // commit(): completions advance by the bytes the kernel reports).
  if (seg_count_) {
    auto& last = ConnAccess::at(this, seg_count_ - 1);
    if (last.ref.get() == storage.get() && last.data + last.len == data) {
      last.len += n;
      ConnAccess::queued_more(this, n);
      return true;
    }
  }
  ConnAccess::push(this, storage, data, n);
  ConnAccess::queued_more(this, n);
  return true;
}

void Connection::close(CloseReason reason, std::string message) {
  reactor_->conn_close(this, reason, std::move(message), false);
}

void Connection::abort(CloseReason reason, std::string message) {
  reactor_->conn_close(this, reason, std::move(message), true);
}

// ---------------------------------------------------------------- reactor

ReactorImpl::ReactorImpl(Reactor* api, const ReactorOptions& opts)
    : pool_(this, opts.recv_buffers, opts.recv_buffer_size), api_(api), opts_(opts) {
  if (opts.recv_buffers == 0 || (opts.recv_buffers & (opts.recv_buffers - 1)) ||
      opts.recv_buffers > 32768)
    throw std::invalid_argument("recv_buffers must be a power of two <= 32768");
  // At least one: with a tiny pool (2 or 4 buffers) a rounded-down mark of
  // zero would never count as low, and pinned frames would starve the ring.
  const auto mark = static_cast<std::uint32_t>(opts.recv_buffers * opts.low_water);
  pool_.set_low_mark(mark > 0 ? mark : 1);
  now = std::chrono::steady_clock::now();

  Backend want = opts.backend;
  if (want == Backend::automatic) {
    if (const char* env = std::getenv("HMS_BACKEND")) {
      if (std::strcmp(env, "epoll") == 0) want = Backend::epoll;
      else if (std::strcmp(env, "uring") == 0 || std::strcmp(env, "io_uring") == 0) want = Backend::uring;
    }
  }

  evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (evfd_ < 0) throw_errno("eventfd");
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  if (want != Backend::epoll) {
    io_uring_params p{};
    // SINGLE_ISSUER ties the ring to the task that enables it: start it
    // disabled and enable it in run(), on the loop thread.
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
    int rc = io_uring_queue_init_params(opts.ring_entries, &ring_, &p);
    if (rc == 0) ring_disabled_ = true;
    if (rc == -EINVAL) {  // kernel older than 6.1: no DEFER_TASKRUN
      p = io_uring_params{};
      p.flags = IORING_SETUP_COOP_TASKRUN;
      rc = io_uring_queue_init_params(opts.ring_entries, &ring_, &p);
    }
    if (rc == -EINVAL) {
      p = io_uring_params{};
      rc = io_uring_queue_init_params(opts.ring_entries, &ring_, &p);
    }
    if (rc == 0) {
      ring_ok_ = true;
      // Provided-buffer ring (liburing 2.3: register it by hand).
      buf_ring_bytes_ = sizeof(io_uring_buf) * opts.recv_buffers;
      void* m = mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) {
        rc = -errno;
      } else {
        buf_ring_ = static_cast<io_uring_buf_ring*>(m);
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uint64_t>(m);
        reg.ring_entries = opts.recv_buffers;
        reg.bgid = 0;
        rc = io_uring_register_buf_ring(&ring_, &reg, 0);
      }
      if (rc != 0) {
        HMS_LOG(warn, "io_uring provided buffers unavailable (%s): using epoll", strerror(-rc));
        if (buf_ring_) munmap(buf_ring_, buf_ring_bytes_);
        buf_ring_ = nullptr;
        io_uring_queue_exit(&ring_);
        ring_ok_ = false;
      }
    } else {
      if (log_enabled(LogLevel::info))
        log(want == Backend::uring ? LogLevel::warn : LogLevel::info,
            "io_uring unavailable (%s): using epoll", strerror(-rc));
    }
    if (!ring_ok_ && want == Backend::uring)
      throw std::runtime_error("io_uring was requested but cannot be set up here");
  }

  if (ring_ok_) {
    backend = Backend::uring;
    io_uring_buf_ring_init(buf_ring_);
    const int mask = io_uring_buf_ring_mask(opts.recv_buffers);
    for (std::uint32_t i = 0; i < opts.recv_buffers; ++i) {
      Block& b = pool_.block(static_cast<std::uint16_t>(i));
      io_uring_buf_ring_add(buf_ring_, b.data(), b.capacity(), static_cast<unsigned short>(i), mask,
                            static_cast<int>(i));
    }
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(opts.recv_buffers));
    pool_.nfree_.store(opts.recv_buffers, std::memory_order_relaxed);
  } else {
    backend = Backend::epoll;
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw_errno("epoll_create1");
    for (std::uint32_t i = opts.recv_buffers; i-- > 0;) {
      Block& b = pool_.block(static_cast<std::uint16_t>(i));
      b.refs_.store(0, std::memory_order_relaxed);
      b.next_ = pool_.free_;
      pool_.free_ = &b;
    }
    pool_.nfree_.store(opts.recv_buffers, std::memory_order_relaxed);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = make_ud(this, OpTag::wake);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev) != 0) throw_errno("epoll_ctl eventfd");
  }
  std::lock_guard lock(g_reactors_mu);
  g_reactors.push_back(this);
}

ReactorImpl::~ReactorImpl() {
  {
    std::lock_guard lock(g_reactors_mu);
    std::erase(g_reactors, this);
  }
  if (pool_was_low_) g_low_pools.fetch_sub(1, std::memory_order_relaxed);
  // Tasks never run and timers never fired go first, while the pool and
  // the eventfd still exist: they may hold references to our receive
  // buffers, whose release writes to the eventfd (a closed, maybe reused,
  // descriptor number later in this destructor).
  {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(post_mu_);
      tasks.swap(posted_);
    }
    tasks.clear();
    posted_run_.clear();
  }
  timers_.clear();
  timer_heap_ = {};
  // Connections still here (run() never ran, or was not stopped) are freed
  // without callbacks.
  for (auto& [id, c] : conns_) {
    if (c->fd_ >= 0) ::close(c->fd_);
    ConnAccess::clear(c);
    c->asm_.reset();
    c->scratch_.reset();
    delete c;
  }
  conns_.clear();
  for (auto& l : listeners_) {
    if (l->fd >= 0) ::close(l->fd);
    if (!l->unix_path.empty()) ::unlink(l->unix_path.c_str());
  }
  pool_.drain_returned();
  if (ring_ok_) {
    if (buf_ring_) {
      io_uring_unregister_buf_ring(&ring_, 0);
      munmap(buf_ring_, buf_ring_bytes_);
    }
    io_uring_queue_exit(&ring_);
  }
  if (epfd_ >= 0) ::close(epfd_);
  if (evfd_ >= 0) ::close(evfd_);
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void ReactorImpl::recycle_to_ring(Block* b) noexcept {
  const int mask = io_uring_buf_ring_mask(opts_.recv_buffers);
  io_uring_buf_ring_add(buf_ring_, b->data(), b->capacity(), b->buffer_id(), mask, 0);
  // Release store of the tail: the kernel sees the entry before the tail.
  io_uring_buf_ring_advance(buf_ring_, 1);
}

bool ReactorImpl::in_loop_thread() const noexcept { return tls_reactor == this; }

void ReactorImpl::wake() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(evfd_, &one, sizeof one);
}

void ReactorImpl::wake_others() noexcept {
  std::lock_guard lock(g_reactors_mu);
  for (ReactorImpl* r : g_reactors)
    if (r != this) r->wake();
}

void ReactorImpl::stop() noexcept {
  stop_.store(true, std::memory_order_release);  // pairs with run()'s acquire load
  wake();
}

void ReactorImpl::post(std::function<void()> fn) {
  bool was_empty;
  {
    std::lock_guard lock(post_mu_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  if (was_empty) wake();
}

void ReactorImpl::run_posted() {
  {
    std::lock_guard lock(post_mu_);
    if (posted_.empty()) return;
    posted_run_.swap(posted_);
  }
  for (auto& fn : posted_run_) fn();
  posted_run_.clear();
}

TimerId ReactorImpl::add_timer(std::chrono::nanoseconds after, std::chrono::nanoseconds period,
                               std::function<void()> fn) {
  const TimerId id = next_timer_++;
  timers_.emplace(id, Timer{std::move(fn), period});
  timer_heap_.emplace(std::chrono::steady_clock::now() + after, id);
  return id;
}

void ReactorImpl::cancel_timer(TimerId id) noexcept { timers_.erase(id); }

void ReactorImpl::run_timers() {
  while (!timer_heap_.empty() && timer_heap_.top().first <= now) {
    const TimerId id = timer_heap_.top().second;
    timer_heap_.pop();
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled
    if (it->second.period.count() > 0) {
      timer_heap_.emplace(now + it->second.period, id);
      auto fn = it->second.fn;  // the callback may cancel itself
      fn();
    } else {
      auto fn = std::move(it->second.fn);
      timers_.erase(it);
      fn();
    }
  }
}

int ReactorImpl::next_timeout_ms() {
  while (!timer_heap_.empty() && !timers_.count(timer_heap_.top().second)) timer_heap_.pop();
  if (timer_heap_.empty()) return 1000;
  const auto d = timer_heap_.top().first - std::chrono::steady_clock::now();
  if (d <= std::chrono::nanoseconds::zero()) return 0;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count() + 1;
  return ms > 1000 ? 1000 : static_cast<int>(ms);
}

io_uring_sqe* ReactorImpl::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  if (!sqe) throw std::runtime_error("io_uring submission queue full");
  return sqe;
}

void ReactorImpl::mark_dirty(Connection* c) {
  // A connection on the free list is deleted after this loop pass; the
  // flush list must not keep a pointer to it.
  if (!c->dirty_ && !c->freed_) {
    c->dirty_ = true;
    dirty_.push_back(c);
  }
}

// ---------------------------------------------------------------- listen / connect

Listener& ReactorImpl::listen(std::string_view endpoint, const ListenOptions& opts,
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
  if (opts.reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (ep.kind == Endpoint::Kind::unix_path) ::unlink(ep.path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int e = errno;
    ::close(fd);
    throw_errno("bind " + ep.to_string(), e);
  }
  if (::listen(fd, opts.backlog) != 0) {
    const int e = errno;
    ::close(fd);
    throw_errno("listen " + ep.to_string(), e);
  }
  auto l = std::make_unique<Listener>();
  l->fd = fd;
  if (ep.kind == Endpoint::Kind::tcp) {
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen) == 0)
      l->port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                  : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  l->opts = opts;
  l->on_accept = std::move(on_accept);
  if (ep.kind == Endpoint::Kind::unix_path) l->unix_path = ep.path;
  Listener& ref = *l;
  listeners_.push_back(std::move(l));
  if (backend == Backend::epoll) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = make_ud(&ref, OpTag::accept);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("epoll_ctl listener");
  } else {
    arm_accept(&ref);
  }
  return ref;
}

void ReactorImpl::close_listener(Listener& l) {
  if (l.closed) return;
  l.closed = true;
  if (backend == Backend::uring && l.accept_active) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, make_ud(&l, OpTag::accept), 0);
    io_uring_sqe_set_data64(sqe, make_ud(this, OpTag::ignore));
  }
  if (backend == Backend::epoll) epoll_ctl(epfd_, EPOLL_CTL_DEL, l.fd, nullptr);
  ::shutdown(l.fd, SHUT_RDWR);
  // Free the port now, not when the reactor dies (an io_uring accept still
  // in flight holds its own reference to the socket until it is cancelled).
  ::close(l.fd);
  l.fd = -1;
  // Once: a later unlink could remove another listener's fresh socket file.
  if (!l.unix_path.empty()) ::unlink(l.unix_path.c_str());
  l.unix_path.clear();
}

void ReactorImpl::arm_accept(Listener* l) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_multishot_accept(sqe, l->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, make_ud(l, OpTag::accept));
  l->accept_active = true;
}

void ReactorImpl::on_accept_error(Listener* l, int err) {
  if (l->closed) return;  // the cancel of a closed listener's accept
  ++stats.accept_errors;
  if (err == EMFILE || err == ENFILE) {
    // Out of descriptors: refuse the waiting client cleanly (accept it on
    // the spare descriptor and close it) instead of leaving it hanging.
    HMS_LOG(warn, "out of file descriptors: refusing a connection");
    if (spare_fd_ >= 0) {
      ::close(spare_fd_);
      const int fd = ::accept4(l->fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) ::close(fd);
      spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
  } else if (err != EAGAIN && err != ECANCELED && err != EINVAL) {
    HMS_LOG(warn, "accept failed: %s", strerror(err));
  }
}

Connection& ReactorImpl::adopt(int fd, const ConnectionOptions& opts, ConnectionHandler* handler,
                               Connection::Mode mode) {
  // Non-blocking under both backends: epoll reads and writes the socket
  // itself, and io_uring must never park a send in a kernel worker thread
  // (on a blocking socket a send that is woken without room is handed to
  // io-wq and blocks a thread there; a full socket is handled with a
  // POLLOUT poll instead, see on_send_done). adopt() takes any socket.
  const int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  auto* c = new Connection();
  c->reactor_ = this;
  c->fd_ = fd;
  c->id_ = next_conn_id_++;
  c->opts_ = opts;
  c->handler_ = handler;
  c->mode_ = mode;
  c->iov_ = new iovec[kMaxIov];
  c->peer_name_ = peer_of(fd);
  conns_.emplace(c->id_, c);
  ++live_connections;
  if (backend == Backend::epoll) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = make_ud(c, OpTag::recv);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      const int e = errno;
      conns_.erase(c->id_);
      --live_connections;
      delete c;
      ::close(fd);
      throw_errno("epoll_ctl add", e);
    }
    c->registered_ = true;
    c->recv_active_ = true;
  } else {
    arm_recv(c);
  }
  return *c;
}

void ReactorImpl::on_accepted(Listener* l, int fd) {
  if (l->closed) {
    ::close(fd);
    return;
  }
  set_nodelay(fd);
  Connection& c = adopt(fd, l->opts.conn, nullptr, Connection::Mode::detect);
  if (!l->opts.allow_raw) c.mode_ = Connection::Mode::server_head;
  c.listen_opts_ = &l->opts;  // listeners live as long as the reactor
  l->on_accept(c);
  if (!c.handler_) conn_close(&c, CloseReason::local, "no handler", true);
}

Connection& ReactorImpl::connect(std::string_view endpoint, const ConnectOptions& opts,
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
  Connection& c = adopt(fd, opts.conn, handler,
                        opts.upgrade ? Connection::Mode::client_head : Connection::Mode::frames);
  if (opts.upgrade) {
    // The reference dock's exact head (header order and case included).
    std::string head = "CONNECT " + opts.path + " HTTP/1.1\r\n";
    if (!opts.origin.empty()) head += "origin: " + opts.origin + "\r\n";
    head += "Host: " + (ep.kind == Endpoint::Kind::tcp ? ep.to_string() : std::string("localhost")) +
            "\r\nConnection: keep-alive\r\n\r\n";
    c.send_copy(head.data(), head.size());
  }
  return c;
}

// ---------------------------------------------------------------- receive path

void ReactorImpl::arm_recv(Connection* c) {
  if (backend != Backend::uring) {
    if (c->wait_buffers_) {
      c->wait_buffers_ = false;
      epoll_update(c);
    }
    return;
  }
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_recv_multishot(sqe, c->fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  io_uring_sqe_set_data64(sqe, make_ud(c, OpTag::recv));
  c->recv_active_ = true;
  c->wait_buffers_ = false;
}

void ReactorImpl::retry_buffer_waiters() {
  if (buffer_waiters_.empty() || pool_.free_count() == 0) return;
  std::vector<Connection*> waiters;
  waiters.swap(buffer_waiters_);
  for (Connection* c : waiters) {
    if (c->closing_ || c->freed_) {
      c->wait_buffers_ = false;
      maybe_finalize(c);
      continue;
    }
    arm_recv(c);
  }
}

Connection* ReactorImpl::find(std::uint64_t id) const noexcept {
  const auto it = conns_.find(id);
  return it == conns_.end() || it->second->freed_ ? nullptr : it->second;
}

void ReactorImpl::arm_soft_timer(Connection* c, std::chrono::nanoseconds after) {
  if (c->soft_timer_) return;  // one per connection, however often it crosses
  const std::uint64_t id = c->id_;
  c->soft_timer_ = add_timer(after, {}, [this, id] {
    Connection* cc = find(id);
    if (!cc) return;
    cc->soft_timer_ = 0;
    if (cc->closing_ || cc->soft_since_ == std::chrono::steady_clock::time_point{}) return;
    const auto limit = cc->opts_.limits.soft_seconds;
    const auto over = now - cc->soft_since_;
    if (over >= limit) ConnAccess::over_soft_limit(cc);
    else arm_soft_timer(cc, limit - over);  // it dipped and rose again since
  });
}

void ReactorImpl::note_pinner(Connection* c) {
  if (c->pinner_) return;
  c->pinner_ = true;
  pinners_.push_back(c);
}

void ReactorImpl::check_pool() {
  const bool low = pool_.low();
  if (low != pool_was_low_) {
    pool_was_low_ = low;
    if (low) {
      g_low_pools.fetch_add(1, std::memory_order_relaxed);
      // Other reactors may hold our buffers in their queues; only they can
      // move them out.
      wake_others();
    } else {
      g_low_pools.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  if (pinners_.empty() || (!low && g_low_pools.load(std::memory_order_relaxed) == 0)) return;
  // Move pinned frames out of every pool that is low (ours or another's),
  // and forget connections that no longer pin anything.
  std::size_t keep = 0;
  for (Connection* c : pinners_) {
    if (c->pooled_segs_ && !c->freed_) unpin(c);
    if (c->pooled_segs_ && !c->freed_) pinners_[keep++] = c;
    else c->pinner_ = false;
  }
  pinners_.resize(keep);
}

void ReactorImpl::unpin(Connection* c) {
  // The segments of an io_uring send in flight are the kernel's until it
  // completes, and a reader that stopped means it never does: cancel it
  // (on_send_done sends again) and move those segments on a later pass.
  std::size_t first = 0;
  if (send_in_kernel(c)) {
    first = c->in_flight_segs_;
    bool held = false;
    for (std::size_t i = 0; i < first && i < c->seg_count_ && !held; ++i) {
      const auto& seg = ConnAccess::at(c, i);
      held = seg.ref && BlockPool::pinning_hurts(*seg.ref.get());
    }
    if (held) {
      HMS_LOG(debug, "%s: taking back a stuck send that pins receive buffers", c->peer_name_.c_str());
      cancel_send(c);
    }
  }
  for (std::size_t i = first; i < c->seg_count_; ++i) {
    auto& seg = ConnAccess::at(c, i);
    if (!seg.ref || !BlockPool::pinning_hurts(*seg.ref.get())) continue;
    // One counted copy into a heap block; the receive buffer goes back to
    // its ring when its last reference drops (here, or on its own thread).
    BufRef copy = BufRef::adopt(Block::heap(seg.len));
    std::memcpy(copy->data(), seg.data, seg.len);
    ConnAccess::release(c, seg);
    seg.ref = std::move(copy);
    seg.data = seg.ref->data();
    ++stats.pinned_copies;
  }
}

void ReactorImpl::on_recv_end(Connection* c, int res) {
  if (c->closing_) return;
  if (res == 0) {
    // Orderly EOF: what we still have to say goes out first.
    conn_close(c, CloseReason::peer_closed, "peer closed the connection", false);
  } else {
    const int e = -res;
    CloseInfo& ci = c->close_info_;
    ci.error = e;
    conn_close(c, e == ECONNRESET || e == EPIPE ? CloseReason::peer_closed : CloseReason::io_error,
               std::string("recv: ") + strerror(e), true);
  }
}

bool ReactorImpl::handle_head(Connection* c, const std::uint8_t*& p, std::size_t& len) {
  if (c->mode_ == Connection::Mode::detect) {
    c->mode_ = looks_like_http(p[0]) ? Connection::Mode::server_head : Connection::Mode::frames;
    if (c->mode_ == Connection::Mode::frames) return true;
  }
  const std::size_t prior = c->head_.size();
  const std::size_t take = std::min(len, kMaxHeadSize + 1 - std::min(prior, kMaxHeadSize + 1));
  c->head_.append(reinterpret_cast<const char*>(p), take);
  HttpResult r;
  RequestHead req;
  ResponseHead resp;
  if (c->mode_ == Connection::Mode::client_head)
    r = parse_response_head(c->head_.data(), c->head_.size(), &resp);
  else
    r = parse_request_head(c->head_.data(), c->head_.size(), &req);
  // A head past kMaxHeadSize without its blank line is the parser's
  // head_too_large error (handled below), so need_more stays bounded.
  if (r.status == HttpStatus::need_more) {
    len = 0;
    return true;
  }
  if (r.status == HttpStatus::error) {
    ++stats.protocol_errors;
    HMS_LOG(warn, "%s: bad http head (%s at byte %zu): %s", c->peer_name_.c_str(),
            to_string(r.error), r.error_offset,
            hex_sample(reinterpret_cast<const std::uint8_t*>(c->head_.data()) + r.error_offset,
                       c->head_.size() - r.error_offset)
                .c_str());
    if (c->mode_ == Connection::Mode::server_head) {
      static constexpr std::string_view k400 =
          "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      c->send_copy(k400.data(), k400.size());
    }
    conn_close(c, CloseReason::http_error, to_string(r.error), false);
    return false;
  }
  // Complete: bytes behind the head in this read already are frames.
  const std::size_t used = r.size - prior;
  p += used;
  len -= used;
  if (c->mode_ == Connection::Mode::client_head) {
    if (resp.status != 101) {
      conn_close(c, CloseReason::http_error,
                 "upgrade refused: HTTP status " + std::to_string(resp.status), true);
      return false;
    }
    c->mode_ = Connection::Mode::frames;
    c->via_http_ = true;
    c->head_.clear();
    c->head_.shrink_to_fit();
    if (c->handler_) c->handler_->on_upgrade(*c, nullptr);
    return !c->closing_;
  }
  if (req.method == HttpMethod::connect) {
    c->mode_ = Connection::Mode::frames;
    c->via_http_ = true;
    c->send_copy(kUpgradeResponse.data(), kUpgradeResponse.size());
    if (c->handler_) c->handler_->on_upgrade(*c, &req);
    c->head_.clear();
    c->head_.shrink_to_fit();
    return !c->closing_;
  }
  // Plain HTTP: answer and close.
  c->mode_ = Connection::Mode::http_reply;
  HttpResponse out;
  const ListenOptions* lo = c->listen_opts_;
  if (lo && lo->http) {
    out = lo->http(HttpRequest{req});
  } else if (req.method == HttpMethod::get && req.target == "/") {
    out.body = lo ? lo->banner : std::string("hms\n");
  } else if (c->handler_) {
    out = c->handler_->on_http(*c, HttpRequest{req});
  } else {
    out.status = 404;
    out.body = "Not found\n";
  }
  std::string text = "HTTP/1.1 " + std::to_string(out.status) + " " + reason_phrase(out.status) +
                     "\r\nContent-Type: " + out.content_type +
                     "\r\nContent-Length: " + std::to_string(out.body.size()) +
                     "\r\nConnection: close\r\n\r\n";
  if (req.method_text != "HEAD") text += out.body;
  c->send_copy(text.data(), text.size());
  conn_close(c, CloseReason::local, "http request answered", false);
  return false;
}

void ReactorImpl::protocol_error(Connection* c, const DecodeResult& r, const std::uint8_t* p,
                                 std::size_t len) {
  ++stats.protocol_errors;
  const std::size_t off = r.error_offset < len ? r.error_offset : 0;
  HMS_LOG(warn, "%s: protocol error %s at byte %zu of the frame: %s; closing", c->peer_name_.c_str(),
          to_string(r.error), r.error_offset, hex_sample(p, len).c_str());
  (void)off;
  c->close_info_.decode = r.error;
  conn_close(c, CloseReason::protocol_error, std::string("protocol error: ") + to_string(r.error),
             false);
}

void ReactorImpl::feed_frames(Connection* c, const BufRef& blk, const std::uint8_t* p,
                              std::size_t len) {
  ConnectionHandler* h = c->handler_;
  while (len && !c->closing_) {
    const DecodeResult r = decode_frame(p, len, c->opts_.decode);
    if (r.status == DecodeStatus::frame) {
      ++stats.frames_in;
      h->on_frame(*c, r.frame, blk);
      p += r.size;
      len -= r.size;
      continue;
    }
    if (r.status == DecodeStatus::error) {
      protocol_error(c, r, p, len);
      return;
    }
    // need_more: carry the tail to the next read in an assembly block sized
    // for the whole frame (once the header is in), so it is copied once.
    const std::size_t cap = len >= kHeaderSize ? r.size : kHeaderSize;
    c->asm_ = BufRef::adopt(Block::heap(cap));
    std::memcpy(c->asm_->data(), p, len);
    c->asm_len_ = len;
    c->asm_need_ = cap;
    return;
  }
}

void ReactorImpl::on_data(Connection* c, BufRef blk, std::size_t n) {
  stats.bytes_in += n;
  if (c->closing_ || c->mode_ == Connection::Mode::http_reply) return;
  const std::uint8_t* p = blk->data();
  std::size_t len = n;
  if (c->mode_ != Connection::Mode::frames) {
    if (!handle_head(c, p, len)) return;
    if (len == 0) return;
  }
  if (!c->handler_) {
    conn_close(c, CloseReason::local, "no handler", true);
    return;
  }
  while (c->asm_ && len) {
    // Finish the frame carried over from earlier reads.
    const std::size_t want = c->asm_need_ - c->asm_len_;
    const std::size_t take = len < want ? len : want;
    std::memcpy(c->asm_->data() + c->asm_len_, p, take);
    c->asm_len_ += take;
    p += take;
    len -= take;
    if (c->asm_len_ < c->asm_need_) {
      // Reject early: the id length is judged as soon as its two bytes are
      // in, not when the whole (maybe megabytes long) body is.
      DecodeResult early;
      early.error = check_prefix(c->asm_->data(), c->asm_len_, c->opts_.decode, &early.error_offset);
      if (early.error != DecodeError::none) {
        early.status = DecodeStatus::error;
        protocol_error(c, early, c->asm_->data(), c->asm_len_);
      }
      return;
    }
    const DecodeResult r = decode_frame(c->asm_->data(), c->asm_len_, c->opts_.decode);
    if (r.status == DecodeStatus::error) {
      protocol_error(c, r, c->asm_->data(), c->asm_len_);
      c->asm_.reset();
      return;
    }
    if (r.status == DecodeStatus::need_more) {
      // Only the header was in: grow to the frame's full size.
      BufRef bigger = BufRef::adopt(Block::heap(r.size));
      std::memcpy(bigger->data(), c->asm_->data(), c->asm_len_);
      c->asm_ = std::move(bigger);
      c->asm_need_ = r.size;
      continue;
    }
    ++stats.assembled_frames;
    ++stats.frames_in;
    BufRef done = std::move(c->asm_);
    c->asm_len_ = c->asm_need_ = 0;
    c->handler_->on_frame(*c, r.frame, done);
    if (c->closing_) return;
  }
  if (len) feed_frames(c, blk, p, len);
}

// ---------------------------------------------------------------- send path

void ReactorImpl::start_send(Connection* c) {
  if (c->send_active_ || c->seg_count_ == 0 || c->fd_ < 0) return;
  auto* iov = static_cast<iovec*>(c->iov_);
  std::size_t n = 0;
  for (; n < c->seg_count_ && n < kMaxIov; ++n) {
    auto& s = ConnAccess::at(c, n);
    iov[n].iov_base = const_cast<std::uint8_t*>(s.data);
    iov[n].iov_len = s.len;
  }
  auto* msg = reinterpret_cast<msghdr*>(c->msg_storage_);
  static_assert(sizeof(msghdr) <= sizeof(Connection::msg_storage_));
  std::memset(msg, 0, sizeof *msg);
  msg->msg_iov = iov;
  msg->msg_iovlen = n;
  c->in_flight_segs_ = n;
  if (backend == Backend::uring) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_sendmsg(sqe, c->fd_, msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, make_ud(c, OpTag::send));
    c->send_active_ = true;
    return;
  }
  const ssize_t w = ::sendmsg(c->fd_, msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  on_send_done(c, w < 0 ? -errno : static_cast<int>(w));
}

void ReactorImpl::wait_for_room(Connection* c) {
  c->send_active_ = true;  // no other send until there is room
  c->want_room_ = true;
  if (backend == Backend::uring) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_add(sqe, c->fd_, POLLOUT);
    io_uring_sqe_set_data64(sqe, make_ud(c, OpTag::room));
  } else {
    epoll_update(c);
  }
}

void ReactorImpl::on_room(Connection* c, int poll_res) {
  if (backend == Backend::uring && poll_res > 0 && !c->aborted_ &&
      !(poll_res & (POLLOUT | POLLERR | POLLHUP | POLLNVAL))) {
    // io_uring always adds RDHUP to a poll's mask, so once the peer has
    // shut down its side every POLLOUT poll completes at once, with room or
    // not: polling again would spin. Try again a little later instead (the
    // connection is closing: its EOF came in; close_timeout bounds this).
    const std::uint64_t id = c->id_;
    c->room_timer_ = add_timer(kRoomRetry, {}, [this, id] {
      if (Connection* cc = find(id)) {
        cc->room_timer_ = 0;
        on_room(cc, 0);
      }
    });
    return;
  }
  c->send_active_ = false;
  c->want_room_ = false;
  c->send_cancel_ = false;
  if (backend == Backend::epoll) epoll_update(c);
  if (c->aborted_) ConnAccess::clear(c);
  // Send again; a poll that ended in an error shows it on that send.
  mark_dirty(c);
  if (c->closing_) maybe_finalize(c);
}

void ReactorImpl::cancel_send(Connection* c) {
  if (c->room_timer_) {
    // Waiting on a timer, nothing in the kernel: just stop waiting.
    cancel_timer(c->room_timer_);
    c->room_timer_ = 0;
    c->send_active_ = false;
    c->want_room_ = false;
    return;
  }
  if (!c->send_active_ || c->send_cancel_ || backend != Backend::uring) return;
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel64(sqe, make_ud(c, c->want_room_ ? OpTag::room : OpTag::send), 0);
  io_uring_sqe_set_data64(sqe, make_ud(this, OpTag::ignore));
  c->send_cancel_ = true;
}

void ReactorImpl::on_send_done(Connection* c, int res) {
  c->send_active_ = false;
  const bool cancelled = std::exchange(c->send_cancel_, false);
  if ((res == -EAGAIN || res == -EWOULDBLOCK) && !c->aborted_) {
    // The socket is full (the reader is slow). Resubmitting at once would
    // spin: io_uring completes a send on a full non-blocking socket with
    // -EAGAIN rather than waiting. Wait for room instead.
    wait_for_room(c);
    return;
  }
  if (res < 0 && !c->aborted_ && (res == -EINTR || (res == -ECANCELED && cancelled))) {
    // Nothing went out. A send we cancelled to move pinned receive buffers
    // goes again after the unpin pass (it runs before the flush).
    mark_dirty(c);
    return;
  }
  if (res < 0) {
    ConnAccess::clear(c);
    if (!c->closing_) {
      c->close_info_.error = -res;
      conn_close(c, res == -EPIPE || res == -ECONNRESET ? CloseReason::peer_closed : CloseReason::io_error,
                 std::string("send: ") + strerror(-res), true);
    } else {
      maybe_finalize(c);
    }
    return;
  }
  std::size_t sent = static_cast<std::size_t>(res);
  stats.bytes_out += sent;
  c->queued_ -= sent;
  while (sent && c->seg_count_) {
    auto& s = ConnAccess::at(c, 0);
    if (sent >= s.len) {
      sent -= s.len;
      ConnAccess::pop(c);
    } else {
      s.data += sent;
      s.len -= sent;
      sent = 0;
    }
  }
  if (c->aborted_) ConnAccess::clear(c);  // abort() dropped the rest
  if (c->queued_ <= c->opts_.limits.soft) c->soft_since_ = {};
  if (c->seg_count_) {
    mark_dirty(c);
  } else if (c->scratch_ && c->scratch_->refs() == 1) {
    // Queue empty and no segment uses the scratch block: write from its
    // start again (warm cache), or let go of an oversized one.
    if (c->scratch_->capacity() > kScratchBlock) c->scratch_.reset();
    c->scratch_used_ = 0;
  }
  if (c->above_high_ && c->queued_ < c->high_water_ / 2) {
    c->above_high_ = false;
    if (!c->closing_ && c->handler_) c->handler_->on_drain(*c);
  }
  if (c->closing_) maybe_finalize(c);
}

void ReactorImpl::flush() {
  // Index loop: a drain callback may mark more connections dirty.
  for (std::size_t i = 0; i < dirty_.size(); ++i) {
    Connection* c = dirty_[i];
    c->dirty_ = false;
    if (c->freed_) continue;
    if (c->seg_count_ && !c->send_active_ && !c->aborted_) start_send(c);
    if (c->closing_) maybe_finalize(c);
  }
  dirty_.clear();
}

// ---------------------------------------------------------------- close

void ReactorImpl::conn_close(Connection* c, CloseReason r, std::string msg, bool now_) {
  if (c->freed_) return;  // already on its way out (e.g. close() from on_close)
  if (!c->closing_) {
    c->closing_ = true;
    c->close_info_.reason = r;
    c->close_info_.message = std::move(msg);
    if (r == CloseReason::protocol_error || r == CloseReason::output_limit ||
        r == CloseReason::io_error || r == CloseReason::http_error)
      HMS_LOG(info, "%s: closing connection %llu: %s", c->peer_name_.c_str(),
              static_cast<unsigned long long>(c->id_), c->close_info_.message.c_str());
  }
  c->asm_.reset();
  if (now_) {
    c->aborted_ = true;
    // Drop what was not handed to the kernel yet. Under io_uring the
    // segments of the send in flight stay until it completes (the kernel
    // reads their iovecs); while waiting for room, and under epoll, the
    // kernel holds nothing, so everything goes.
    const bool kernel_holds = send_in_kernel(c);
    while (c->seg_count_ > (kernel_holds ? c->in_flight_segs_ : 0)) ConnAccess::drop_back(c);
    if (c->send_active_ && backend == Backend::epoll) {
      c->send_active_ = false;  // only a wish for EPOLLOUT: drop it
      c->want_room_ = false;
    }
    // A peer that stopped reading never completes that send (or makes
    // room): cancel it, or the connection and its memory would never be
    // freed. Its completion finishes the close.
    cancel_send(c);
  } else if (c->seg_count_ && !c->close_timer_ && c->opts_.limits.close_timeout.count() > 0) {
    // Flush first, but not for ever: a peer that does not read would keep
    // the connection (and its queue) alive indefinitely.
    const std::uint64_t id = c->id_;
    c->close_timer_ = add_timer(c->opts_.limits.close_timeout, {}, [this, id] {
      Connection* cc = find(id);
      if (!cc) return;
      cc->close_timer_ = 0;
      if (!cc->shut_) {
        HMS_LOG(info, "%s: connection %llu did not drain in time; dropping its output",
                cc->peer_name_.c_str(), static_cast<unsigned long long>(id));
        conn_close(cc, cc->close_info_.reason, {}, true);
      }
    });
  }
  // Reads stop now: epoll must not keep reporting input nobody reads (a
  // level-triggered busy loop while the output drains).
  if (backend == Backend::epoll) epoll_update(c);
  mark_dirty(c);
}

void ReactorImpl::maybe_finalize(Connection* c) {
  if (c->freed_) return;
  if (!c->shut_ && (c->seg_count_ == 0 || c->fd_ < 0) && !c->send_active_) {
    c->shut_ = true;
    // Ends the multishot recv (it completes with 0) and tells the peer.
    ::shutdown(c->fd_, SHUT_RDWR);
    if (backend == Backend::uring && c->recv_active_) {
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_cancel64(sqe, make_ud(c, OpTag::recv), 0);
      io_uring_sqe_set_data64(sqe, make_ud(this, OpTag::ignore));
    }
    if (backend == Backend::epoll) {
      if (!c->epoll_parked_) epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd_, nullptr);
      c->registered_ = false;
      c->epoll_parked_ = false;
      c->recv_active_ = false;
    }
  }
  if (c->shut_ && !c->recv_active_ && !c->send_active_) {
    c->freed_ = true;
    finalize_.push_back(c);
  }
}

void ReactorImpl::finalize(Connection* c) {
  // Outside every callback of this connection (Redis frees clients so too).
  ConnAccess::clear(c);
  c->asm_.reset();
  c->scratch_.reset();
  // No list may keep a pointer to the connection past its deletion.
  if (!buffer_waiters_.empty()) std::erase(buffer_waiters_, c);
  if (c->pinner_) std::erase(pinners_, c);
  if (c->soft_timer_) cancel_timer(c->soft_timer_);
  if (c->close_timer_) cancel_timer(c->close_timer_);
  if (c->room_timer_) cancel_timer(c->room_timer_);
  ::close(c->fd_);
  c->fd_ = -1;
  if (c->handler_) c->handler_->on_close(*c, c->close_info_);
  conns_.erase(c->id_);
  --live_connections;
  delete c;
}

// ---------------------------------------------------------------- events

void ReactorImpl::on_uring_cqe(io_uring_cqe* cqe) {
  const std::uint64_t ud = io_uring_cqe_get_data64(cqe);
  const auto tag = static_cast<OpTag>(ud & kTagMask);
  void* obj = reinterpret_cast<void*>(ud & ~kTagMask);
  const int res = cqe->res;
  const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  switch (tag) {
    case OpTag::recv: {
      auto* c = static_cast<Connection*>(obj);
      if (!more) c->recv_active_ = false;
      if (res > 0) {
        const auto bid = static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        Block& b = pool_.block(bid);
        b.refs_.store(1, std::memory_order_relaxed);
        pool_.taken();
        BufRef ref = BufRef::adopt(&b);
        on_data(c, std::move(ref), static_cast<std::size_t>(res));
        if (!more && !c->closing_) arm_recv(c);
      } else if (res == -ENOBUFS) {
        ++stats.buffer_stalls;
        if (!c->closing_) {
          c->wait_buffers_ = true;
          buffer_waiters_.push_back(c);
        }
      } else if (res == -ECANCELED && c->closing_) {
        // our own cancel at close
      } else {
        on_recv_end(c, res);
      }
      if (c->closing_) maybe_finalize(c);
      break;
    }
    case OpTag::send:
      on_send_done(static_cast<Connection*>(obj), res);
      break;
    case OpTag::room:
      on_room(static_cast<Connection*>(obj), res);
      break;
    case OpTag::accept: {
      auto* l = static_cast<Listener*>(obj);
      if (!more) l->accept_active = false;
      if (res >= 0) on_accepted(l, res);
      else on_accept_error(l, -res);
      if (!l->accept_active && !l->closed) {
        if (res == -EMFILE || res == -ENFILE) {
          // Try again shortly rather than spin.
          add_timer(std::chrono::milliseconds(50), {}, [this, l] {
            if (!l->closed && !l->accept_active) arm_accept(l);
          });
        } else {
          arm_accept(l);
        }
      }
      break;
    }
    case OpTag::wake:
      if (!more) wake_armed_ = false;
      {
        std::uint64_t v;
        [[maybe_unused]] const ssize_t n = ::read(evfd_, &v, sizeof v);
      }
      break;
    case OpTag::ignore:
      break;
  }
}

void ReactorImpl::epoll_update(Connection* c) {
  if (!c->registered_) return;
  epoll_event ev{};
  ev.events = (c->wait_buffers_ || c->closing_ ? 0u : static_cast<std::uint32_t>(EPOLLIN)) |
              (c->want_room_ ? static_cast<std::uint32_t>(EPOLLOUT) : 0u);
  ev.data.u64 = make_ud(c, OpTag::recv);
  if (ev.events == 0) {
    // Waiting for receive buffers and nothing to send: take the fd out.
    // epoll reports a hang-up whatever the mask says, and a peer that hung
    // up while we wait would wake every epoll_wait at once (a busy loop).
    if (!c->epoll_parked_ && epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd_, nullptr) == 0) c->epoll_parked_ = true;
    return;
  }
  if (c->epoll_parked_) {
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c->fd_, &ev) == 0) c->epoll_parked_ = false;
    return;
  }
  epoll_ctl(epfd_, EPOLL_CTL_MOD, c->fd_, &ev);
}

void ReactorImpl::epoll_read(Connection* c) {
  for (int i = 0; i < kEpollReadsPerEvent && !c->closing_; ++i) {
    Block* b = pool_.take();
    if (!b) {
      ++stats.buffer_stalls;
      c->wait_buffers_ = true;
      buffer_waiters_.push_back(c);
      epoll_update(c);
      return;
    }
    BufRef ref = BufRef::adopt(b);
    const ssize_t n = ::read(c->fd_, b->data(), b->capacity());
    if (n > 0) {
      on_data(c, std::move(ref), static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < b->capacity()) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    on_recv_end(c, n == 0 ? 0 : -errno);
    return;
  }
}

void ReactorImpl::on_epoll_event(std::uint64_t data, std::uint32_t events) {
  const auto tag = static_cast<OpTag>(data & kTagMask);
  void* obj = reinterpret_cast<void*>(data & ~kTagMask);
  switch (tag) {
    case OpTag::recv: {
      auto* c = static_cast<Connection*>(obj);
      if (c->freed_) return;
      // A hang-up or error also ends the wait for room: the next send
      // reports it (and a closing connection no longer listens for input).
      if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && c->want_room_) on_room(c, 0);
      if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing_ && !c->wait_buffers_)
        epoll_read(c);
      if (c->closing_) maybe_finalize(c);
      break;
    }
    case OpTag::accept: {
      auto* l = static_cast<Listener*>(obj);
      for (int i = 0; i < 64 && !l->closed; ++i) {
        const int fd = ::accept4(l->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK) on_accept_error(l, errno);
          break;
        }
        on_accepted(l, fd);
      }
      break;
    }
    case OpTag::wake: {
      std::uint64_t v;
      [[maybe_unused]] const ssize_t n = ::read(evfd_, &v, sizeof v);
      break;
    }
    default:
      break;
  }
}

void ReactorImpl::wait_and_dispatch(int timeout_ms) {
  if (backend == Backend::uring) {
    if (!wake_armed_) {
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_poll_multishot(sqe, evfd_, POLLIN);
      io_uring_sqe_set_data64(sqe, make_ud(this, OpTag::wake));
      wake_armed_ = true;
    }
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
    io_uring_cqe* cqe = nullptr;
    const auto wait_from = std::chrono::steady_clock::now();
    const int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout_ms >= 0 ? &ts : nullptr,
                                                    nullptr);
    wait_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - wait_from)
                    .count();
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
      HMS_LOG(error, "io_uring wait: %s", strerror(-rc));
    now = std::chrono::steady_clock::now();
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      on_uring_cqe(cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    return;
  }
  epoll_event evs[256];
  const auto wait_from = std::chrono::steady_clock::now();
  const int n = epoll_wait(epfd_, evs, 256, timeout_ms);
  wait_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - wait_from)
                  .count();
  now = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) on_epoll_event(evs[i].data.u64, evs[i].events);
}

void ReactorImpl::run() {
  if (running_.exchange(true)) throw std::logic_error("Reactor::run is already running");
  tls_reactor = this;
  thread_ = std::this_thread::get_id();
  if (ring_disabled_) {
    // liburing 2.3 declares io_uring_enable_rings but does not export it.
    const long rc = ::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS,
                              nullptr, 0);
    if (rc < 0) throw_errno("io_uring enable rings");
    ring_disabled_ = false;
  }
  auto busy_from = std::chrono::steady_clock::now();
  // acquire: pairs with stop()'s release store.
  while (!stop_.load(std::memory_order_acquire)) {
    now = std::chrono::steady_clock::now();
    run_posted();
    pool_.drain_returned();
    run_timers();
    check_pool();  // before the retry (it frees buffers) and the flush
    retry_buffer_waiters();
    // Hooks batch work gathered while handling completions (the hub posts
    // one batch of log frames per shard per pass) before output is flushed.
    for (auto& hook : before_flush_) hook();
    flush();
    for (std::size_t i = 0; i < finalize_.size(); ++i) finalize(finalize_[i]);
    finalize_.clear();
    if (!dirty_.empty()) continue;  // finalize callbacks queued output
    int timeout = next_timeout_ms();
    {
      std::lock_guard lock(post_mu_);
      if (!posted_.empty()) timeout = 0;
    }
    ++stats.loop_iterations;
    wait_ns_ = 0;
    wait_and_dispatch(timeout);
    // Busy: the whole pass less the time blocked in the kernel waiting
    // (completion handling inside wait_and_dispatch counts as busy).
    const auto end = std::chrono::steady_clock::now();
    const auto pass = std::chrono::duration_cast<std::chrono::nanoseconds>(end - busy_from).count();
    if (pass > wait_ns_) stats.loop_busy_ns += static_cast<std::uint64_t>(pass - wait_ns_);
    busy_from = end;
  }
  shutdown_all();
  tls_reactor = nullptr;
  running_.store(false);
  stop_.store(false, std::memory_order_relaxed);
}

void ReactorImpl::shutdown_all() {
  for (auto& l : listeners_) close_listener(*l);
  for (auto& [id, c] : conns_) conn_close(c, CloseReason::shutdown, "reactor stopping", false);
  // Flush what is queued, for a bounded time, then drop the rest.
  const auto deadline = std::chrono::steady_clock::now() + kShutdownDrain;
  bool forced = false;
  while (!conns_.empty()) {
    now = std::chrono::steady_clock::now();
    if (!forced && now > deadline) {
      forced = true;
      for (auto& [id, c] : conns_) conn_close(c, CloseReason::shutdown, "reactor stopping", true);
    }
    pool_.drain_returned();
    flush();
    for (std::size_t i = 0; i < finalize_.size(); ++i) finalize(finalize_[i]);
    finalize_.clear();
    if (conns_.empty()) break;
    wait_and_dispatch(10);
  }
  run_posted();
}

// ---------------------------------------------------------------- public facade

Reactor::Reactor(const ReactorOptions& opts) : impl_(std::make_unique<ReactorImpl>(this, opts)) {}
Reactor::~Reactor() = default;
Backend Reactor::backend() const noexcept { return impl_->backend; }
void Reactor::run() { impl_->run(); }
void Reactor::stop() noexcept { impl_->stop(); }
void Reactor::post(std::function<void()> fn) { impl_->post(std::move(fn)); }
bool Reactor::in_loop_thread() const noexcept { return impl_->in_loop_thread(); }
TimerId Reactor::add_timer(std::chrono::nanoseconds after, std::function<void()> fn) {
  return impl_->add_timer(after, {}, std::move(fn));
}
TimerId Reactor::add_periodic(std::chrono::nanoseconds every, std::function<void()> fn) {
  return impl_->add_timer(every, every, std::move(fn));
}
void Reactor::cancel_timer(TimerId id) noexcept { impl_->cancel_timer(id); }
void Reactor::add_before_flush(std::function<void()> fn) { impl_->before_flush_.push_back(std::move(fn)); }
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
  return impl_->adopt(fd, opts, handler, Connection::Mode::frames);
}
const ReactorStats& Reactor::stats() const noexcept { return impl_->stats; }
std::size_t Reactor::connection_count() const noexcept { return impl_->live_connections; }
std::size_t Reactor::free_recv_buffers() const noexcept { return impl_->pool_.free_count(); }

}  // namespace hms
