// The loop: set-up, run(), sleeping and waking, posted tasks, sources,
// timers and the flush.
#include "reactor_impl.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "hms/log.hpp"

namespace hms {

namespace {

thread_local ReactorImpl* tls_reactor = nullptr;

// Every reactor of the process, with its public object: one whose pool runs
// low wakes the others (their connections may hold its receive buffers, and
// only their own threads may copy those out), and engine pieces built on
// the public API find a Reactor's state here.
std::mutex g_reactors_mu;
std::vector<std::pair<const Reactor*, ReactorImpl*>> g_reactors;  // guarded by g_reactors_mu

Backend wanted_backend(Backend asked) {
  if (asked != Backend::automatic) return asked;
  if (const char* env = std::getenv("HMS_BACKEND")) {
    if (std::strcmp(env, "epoll") == 0) return Backend::epoll;
    if (std::strcmp(env, "uring") == 0 || std::strcmp(env, "io_uring") == 0) return Backend::uring;
  }
  return Backend::automatic;
}

}  // namespace

ReactorImpl* ReactorImpl::current() noexcept { return tls_reactor; }

void register_reactor(const Reactor* api, ReactorImpl* impl) {
  std::lock_guard lock(g_reactors_mu);
  g_reactors.emplace_back(api, impl);
}

void unregister_reactor(const Reactor* api) noexcept {
  std::lock_guard lock(g_reactors_mu);
  std::erase_if(g_reactors, [api](const auto& e) { return e.first == api; });
}

ReactorImpl* find_impl(const Reactor& r) noexcept {
  std::lock_guard lock(g_reactors_mu);
  for (const auto& [api, impl] : g_reactors)
    if (api == &r) return impl;
  return nullptr;
}

void ReactorImpl::wake_others() noexcept {
  std::lock_guard lock(g_reactors_mu);
  for (const auto& [api, impl] : g_reactors)
    if (impl != this) impl->wake();
}

// ---------------------------------------------------------------- set-up

namespace {
const ReactorOptions& checked(const ReactorOptions& o) {
  if (o.recv_buffers == 0 || (o.recv_buffers & (o.recv_buffers - 1)) || o.recv_buffers > 32768)
    throw std::invalid_argument("recv_buffers must be a power of two <= 32768");
  if (o.recv_buffer_size < 64) throw std::invalid_argument("recv_buffer_size must be at least 64");
  return o;
}
}  // namespace

ReactorImpl::ReactorImpl(const ReactorOptions& o)
    : opts(checked(o)), pool(this, o.recv_buffers, o.recv_buffer_size) {
  // At least one: with a tiny pool (2 or 4 buffers) a rounded-down mark of
  // zero would never count as low, and pinned frames would starve the ring.
  const auto mark = static_cast<std::uint32_t>(opts.recv_buffers * opts.low_water);
  pool.set_low_mark(mark > 0 ? mark : 1);
  now = std::chrono::steady_clock::now();

  evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (evfd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  const Backend want = wanted_backend(opts.backend);
  if (want != Backend::epoll) {
    std::string why;
    io_ = make_uring_backend(*this, opts, evfd_, &why);
    if (!io_) {
      if (want == Backend::uring)
        throw std::runtime_error("io_uring was requested but cannot be set up here: " + why);
      HMS_LOG(info, "io_uring unavailable (%s): using epoll", why.c_str());
    }
  }
  if (!io_) io_ = make_epoll_backend(*this, opts, evfd_);
  pool.set_sink(io_.get());
  pool.fill_sink();
}

ReactorImpl::~ReactorImpl() {
  if (pool_was_low_) note_pool_low(false);
  // Tasks never run and timers never fired go first, while the pool and
  // the eventfd still exist: they may hold references to our receive
  // buffers, whose release wakes us.
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
    if (c->fd >= 0) ::close(c->fd);
    c->out.clear();
    c->out.scratch.reset();
    release_assembly(*c);
    delete c;
  }
  conns_.clear();
  for (auto& l : listeners_) {
    if (l->fd >= 0) ::close(l->fd);
    if (!l->unix_path.empty()) ::unlink(l->unix_path.c_str());
  }
  pool.drain_returned();
  io_.reset();
  if (evfd_ >= 0) ::close(evfd_);
  if (spare_fd >= 0) ::close(spare_fd);
}

// ---------------------------------------------------------------- sleep and wake

// The loop announces a sleep with a read-modify-write of sleeping_, then
// looks for work once more; a producer publishes its work, then reads
// sleeping_ with a read-modify-write too. Both are seq_cst RMWs of one
// atomic, so one comes first in its order and the other reads what it
// wrote (and synchronizes with it): either the producer sees the loop
// asleep and writes the eventfd, or the loop's second look sees the work.
// (Fences would do the same, but ThreadSanitizer cannot follow fences.) A
// busy reactor gets no eventfd writes at all, and a sleeping one one per
// sleep (wake_sent_).
void ReactorImpl::wake() noexcept {
  // Adding 0 changes nothing; it makes this a read of the newest value.
  if (sleeping_.fetch_add(0, std::memory_order_seq_cst) == 0) return;
  if (wake_sent_.exchange(true, std::memory_order_relaxed)) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(evfd_, &one, sizeof one);
}

bool ReactorImpl::work_arrived() {
  if (stop_.load(std::memory_order_relaxed) || has_posted_.load(std::memory_order_relaxed) ||
      pool.has_returned())
    return true;
  for (const Source& s : sources_)
    if (s.pending()) return true;
  return false;
}

void ReactorImpl::stop() noexcept {
  stop_.store(true, std::memory_order_release);  // pairs with run()'s acquire load
  wake();
}

void ReactorImpl::post(std::function<void()> fn) {
  {
    std::lock_guard lock(post_mu_);
    posted_.push_back(std::move(fn));
    has_posted_.store(true, std::memory_order_relaxed);
  }
  wake();
}

void ReactorImpl::run_posted() {
  if (!has_posted_.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard lock(post_mu_);
    posted_run_.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  for (auto& fn : posted_run_) fn();
  posted_run_.clear();
}

void ReactorImpl::add_source(std::function<void()> drain, std::function<bool()> pending) {
  sources_.push_back(Source{std::move(drain), std::move(pending)});
}

void ReactorImpl::drain_sources() {
  for (Source& s : sources_) s.drain();
}

// ---------------------------------------------------------------- timers

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

// ---------------------------------------------------------------- the pass

void ReactorImpl::flush() {
  // Index loop: a drain callback may mark more connections dirty.
  for (std::size_t i = 0; i < dirty_.size(); ++i) {
    Conn& c = *dirty_[i];
    c.clear(kDirty);
    if (c.has(kFreed)) continue;
    if (!c.out.empty() && !c.has(kSendActive | kAborted) && c.fd >= 0) start_send(c);
    if (c.has(kClosing)) maybe_finalize(c);
  }
  dirty_.clear();
}

void ReactorImpl::retry_buffer_waiters() {
  if (buffer_waiters_.empty() || pool.free_count() == 0) return;
  std::vector<Conn*> waiters;
  waiters.swap(buffer_waiters_);
  for (Conn* c : waiters) {
    c->clear(kWaitBuffers);
    if (c->has(kClosing | kFreed)) {
      maybe_finalize(*c);
      continue;
    }
    if (c->has(kPaused)) continue;  // resume_reading() arms it
    io_->resume_recv(*c);
  }
}

void ReactorImpl::on_buffers_short(Conn& c) {
  ++stats.buffer_stalls;
  if (c.has(kClosing | kWaitBuffers)) return;
  c.set(kWaitBuffers);
  buffer_waiters_.push_back(&c);
}

Conn* ReactorImpl::find(std::uint64_t id) const noexcept {
  const auto it = conns_.find(id);
  return it == conns_.end() || it->second->has(kFreed) ? nullptr : it->second;
}

void ReactorImpl::pass() {
  now = std::chrono::steady_clock::now();
  run_posted();
  pool.drain_returned();
  drain_sources();
  run_timers();
  check_partials();
  check_pool();  // before the retry (it frees buffers) and the flush
  retry_buffer_waiters();
  // Hooks batch work gathered while handling completions (the hub hands
  // one batch of log frames per shard per pass) before output is flushed.
  for (auto& hook : before_flush) hook();
  flush();
  finalize_pending();
  flush_wakes();
  maybe_trim_memory(now);
}

void ReactorImpl::wake_later(ReactorImpl* other) {
  if (std::find(wake_list_.begin(), wake_list_.end(), other) == wake_list_.end())
    wake_list_.push_back(other);
}

void ReactorImpl::flush_wakes() {
  for (ReactorImpl* r : wake_list_) r->wake();
  wake_list_.clear();
}

void ReactorImpl::run() {
  if (running_.exchange(true)) throw std::logic_error("Reactor::run is already running");
  tls_reactor = this;
  io_->start();
  auto busy_from = std::chrono::steady_clock::now();
  std::int64_t blocked_ns = 0;
  // acquire: pairs with stop()'s release store.
  while (!stop_.load(std::memory_order_acquire)) {
    pass();
    if (!dirty_.empty()) continue;  // finalize callbacks queued output
    int timeout = next_timeout_ms();
    // Announce the sleep, then look once more (see wake()).
    wake_sent_.store(false, std::memory_order_relaxed);
    sleeping_.exchange(1, std::memory_order_seq_cst);
    if (work_arrived()) timeout = 0;
    ++stats.loop_iterations;
    blocked_ns = io_->wait(timeout);
    sleeping_.store(0, std::memory_order_relaxed);
    // Busy: the whole pass less the time blocked in the kernel waiting
    // (completion handling inside wait() counts as busy).
    const auto end = std::chrono::steady_clock::now();
    const auto span = std::chrono::duration_cast<std::chrono::nanoseconds>(end - busy_from).count();
    if (span > blocked_ns) stats.loop_busy_ns += static_cast<std::uint64_t>(span - blocked_ns);
    busy_from = end;
  }
  shutdown_all();
  tls_reactor = nullptr;
  running_.store(false);
  stop_.store(false, std::memory_order_relaxed);
}

}  // namespace hms
