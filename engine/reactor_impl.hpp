// Internal: the reactor's state and its event handling. Not installed.
//
// One ReactorImpl per hms::Reactor, used on one thread (but for post(),
// wake(), stop() and the counters). Its pieces live in one file each:
//   loop.cpp          run(), sleep and wake, posted tasks, sources, timers
//   connection.cpp    Connection's methods and the send side
//   receive.cpp       received bytes: frame decoding and assembly
//   http_upgrade.cpp  the HTTP head before frames (CONNECT, GET, takeover)
//   close.cpp         closing, finalizing, shutdown
//   pressure.cpp      receive-buffer pressure: moving pinned frames out
//   sockets.cpp       listen, connect, adopt, accept
//   backend_uring.cpp / backend_epoll.cpp   the kernel (io_backend.hpp)
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <vector>

#include "block_pool.hpp"
#include "conn.hpp"
#include "hms/connection.hpp"
#include "hms/log.hpp"
#include "hms/reactor.hpp"
#include "io_backend.hpp"

namespace hms {

struct Listener {
  int fd = -1;
  ListenOptions opts;
  std::function<void(Connection&)> on_accept;
  std::string unix_path;
  bool accept_active = false;
  bool closed = false;
  std::uint16_t port = 0;  // TCP port bound (kept: the fd goes at close)
};

class ReactorImpl {
 public:
  explicit ReactorImpl(const ReactorOptions& opts);
  ~ReactorImpl();
  ReactorImpl(const ReactorImpl&) = delete;
  ReactorImpl& operator=(const ReactorImpl&) = delete;

  // The reactor whose loop runs on this thread, or nullptr.
  static ReactorImpl* current() noexcept;

  // ---- loop (loop.cpp)
  void run();
  void stop() noexcept;
  void post(std::function<void()> fn);
  void wake() noexcept;
  bool in_loop_thread() const noexcept { return current() == this; }
  void add_source(std::function<void()> drain, std::function<bool()> pending);
  TimerId add_timer(std::chrono::nanoseconds after, std::chrono::nanoseconds period,
                    std::function<void()> fn);
  void cancel_timer(TimerId id) noexcept;

  // ---- sockets (sockets.cpp)
  Listener& listen(std::string_view endpoint, const ListenOptions& opts,
                   std::function<void(Connection&)> on_accept);
  void close_listener(Listener& l);
  Connection& connect(std::string_view endpoint, const ConnectOptions& opts,
                      ConnectionHandler* handler);
  Conn& adopt(int fd, const ConnectionOptions& opts, ConnectionHandler* handler, ConnMode mode,
              bool stream = false);

  // ---- events, reported by the backend
  void on_accepted(Listener& l, int fd);
  // True: back off (the backend waits a little, then calls
  // before_accepting_again, then accepts again).
  bool on_accept_error(Listener& l, int err);
  bool refuse_waiting(Listener& l);
  void before_accepting_again(Listener& l);
  void note_refused(std::uint64_t n);
  void on_data(Conn& c, BufRef blk, std::size_t n);   // receive.cpp
  // Direct reads into the assembly block (receive.cpp; backends that set
  // direct_reads): wanted while a frame bigger than a receive buffer is
  // assembled; the room to read into (false: closed, or none); the bytes
  // read there.
  bool direct_read_wanted(const Conn& c) const noexcept;
  bool direct_read_room(Conn& c, std::uint8_t** dst, std::size_t* room);
  void on_direct_data(Conn& c, std::size_t n);
  void on_recv_end(Conn& c, int res);                 // 0 EOF, <0 -errno
  void on_buffers_short(Conn& c);                     // no free receive buffer
  void on_send_done(Conn& c, int res);                // connection.cpp
  void on_room(Conn& c);                              // the socket has room (or failed)
  void on_wake() noexcept { ++stats.wakeups; }

  // ---- return lanes (set up by a ShardMesh before the reactors run)
  // Blocks of `pool` whose last reference drops on this thread go to their
  // owner through `lane`.
  void add_out_lane(const BlockPool* to, ReturnLane* lane) { out_lanes_.emplace_back(to, lane); }
  void clear_out_lanes() noexcept { out_lanes_.clear(); }
  ReturnLane* lane_to(const BlockPool* to) const noexcept {
    for (const auto& [p, lane] : out_lanes_)
      if (p == to) return lane;
    return nullptr;
  }
  // Wakes `other` (if it sleeps) once, at the end of this pass: work handed
  // to it during the pass is announced in one go.
  void wake_later(ReactorImpl* other);

  // ---- connection services
  // Puts `c` on this pass's flush list (once). Inline, as queued_more: both
  // run for every frame queued.
  void mark_dirty(Conn& c) {
    // A connection on the free list is deleted after this loop pass; the
    // flush list must not keep a pointer to it.
    if (!c.has(kDirty | kFreed)) {
      c.set(kDirty);
      dirty_.push_back(&c);
    }
  }
  void start_send(Conn& c);                           // connection.cpp
  // `n` more bytes were queued on `c`: the output limits and the high-water
  // edge. The common case (no limit passed) stays inline.
  void queued_more(Conn& c, std::size_t /*n*/) {
    const OutputLimits& lim = c.opts.limits;
    const std::size_t all = c.out.bytes();  // at least what the limits count
    if (((lim.hard && all > lim.hard) || (lim.soft && all > lim.soft)) && !enforce_output_limits(c)) return;
    if (all >= c.high_water) c.set(kAboveHigh);
    mark_dirty(c);
  }
  // Closes `c` when what it queued is past a limit (for the soft limit,
  // past it for too long); false when it did (connection.cpp).
  bool enforce_output_limits(Conn& c);
  void conn_close(Conn& c, CloseReason r, std::string msg, bool now);  // close.cpp
  void maybe_finalize(Conn& c);
  void note_pinner(Conn& c);
  // Whether `c` is in the middle of a frame or head now (read_timeout).
  void note_partial(Conn& c, bool partial);
  // Whether the send in flight has iovecs the kernel reads.
  bool kernel_holds_send(const Conn& c) const noexcept { return io_->kernel_holds_send(c); }
  IoBackend& io() noexcept { return *io_; }
  Conn* find(std::uint64_t id) const noexcept;

  // ---- state the pieces share
  ReactorOptions opts;
  ReactorStats stats;
  BlockPool pool;
  bool direct_reads = false;  // the backend calls direct_read_* (epoll)
  std::unique_ptr<IoBackend> io_;
  std::vector<std::function<void()>> before_flush;  // Reactor::add_before_flush
  std::chrono::steady_clock::time_point now{};
  std::size_t live_connections = 0;
  // A listener whose accept failed for want of descriptors; pressure.cpp.
  int spare_fd = -1;  // /dev/null, held so that a full process can still refuse
  bool spare_lost_logged = false;
  LogThrottle refused_log;  // "out of file descriptors" lines

 private:
  // loop.cpp
  void run_posted();
  void run_timers();
  void drain_sources();
  int next_timeout_ms();
  bool work_arrived();
  void pass();
  void flush();
  void flush_wakes();
  void retry_buffer_waiters();
  void check_partials();  // receive.cpp: read_timeout
  // pressure.cpp
  void check_pool();
  void unpin(Conn& c);
  // close.cpp
  void finalize(Conn& c);
  void finalize_pending();
  void shutdown_all();
  void wake_others() noexcept;

  int evfd_ = -1;
  bool pool_was_low_ = false;  // counted in the process-wide low-pool count

  // Sleep and wake (the Dekker pair; see wake() in loop.cpp).
  std::atomic<bool> stop_{false};        // pairs: stop() store / loop load
  std::atomic<std::uint32_t> sleeping_{0};  // 1: the loop is about to wait, or waits (see wake())
  std::atomic<bool> wake_sent_{false};   // an eventfd write is on its way
  std::atomic<bool> running_{false};

  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;  // guarded by post_mu_
  std::atomic<bool> has_posted_{false};         // posted_ is not empty
  std::vector<std::function<void()>> posted_run_;

  struct Source {
    std::function<void()> drain;
    std::function<bool()> pending;
  };
  std::vector<Source> sources_;

  struct Timer {
    std::function<void()> fn;
    std::chrono::nanoseconds period{0};
  };
  std::map<TimerId, Timer> timers_;
  using HeapItem = std::pair<std::chrono::steady_clock::time_point, TimerId>;
  std::priority_queue<HeapItem, std::vector<HeapItem>, std::greater<>> timer_heap_;
  TimerId next_timer_ = 1;

  std::vector<Conn*> dirty_;
  std::vector<Conn*> finalize_;
  std::vector<Conn*> buffer_waiters_;
  // Connections with segments that reference receive buffers (pooled > 0,
  // or was when added; pruned by the unpin pass).
  std::vector<Conn*> pinners_;
  // Connections in the middle of a frame or head, with a read_timeout.
  std::vector<Conn*> partials_;
  std::chrono::steady_clock::time_point last_partial_sweep_{};
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::map<std::uint64_t, Conn*> conns_;
  std::uint64_t next_conn_id_ = 1;
  std::vector<std::pair<const BlockPool*, ReturnLane*>> out_lanes_;
  std::vector<ReactorImpl*> wake_list_;  // wake_later()
};

// Drops a connection's assembly block and gives back its budget.
void release_assembly(Conn& c) noexcept;
// Heap blocks of 1 MiB and more freed since the last trim (block_pool.cpp).
std::size_t big_blocks_freed() noexcept;
void reset_big_blocks_freed() noexcept;
// Hands freed memory back to the system when there is enough of it
// (memory_trim.cpp; process-wide, any thread).
void maybe_trim_memory(std::chrono::steady_clock::time_point now);

// The first bytes of `p` in hex, for logs ("0a0b...").
std::string hex_sample(const std::uint8_t* p, std::size_t len);

// An HTTP head before frames (http_upgrade.cpp): consumes head bytes from
// the front of [p, p+len). False: stop (answered, closed or refused); true
// with len > 0: the rest are frames (or bytes, after a takeover).
bool handle_head(ReactorImpl& r, Conn& c, const std::uint8_t*& p, std::size_t& len);

// How many pools of the process are below their low mark (pressure.cpp).
void note_pool_low(bool low) noexcept;

// The state behind a public Reactor (for engine pieces built on the public
// API, such as ShardMesh, that need a little more), or nullptr.
ReactorImpl* find_impl(const Reactor& r) noexcept;
void register_reactor(const Reactor* api, ReactorImpl* impl);
void unregister_reactor(const Reactor* api) noexcept;

}  // namespace hms
