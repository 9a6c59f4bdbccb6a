// Internal: the reactor's state and its two I/O backends. Not installed.
//
// user_data / epoll data layout (written down once, as liburing's echo
// server does): the pointer of the object the event is for, with the kind of
// operation in the low 3 bits (every object is at least 8-byte aligned).
#pragma once

#include <liburing.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "hms/connection.hpp"
#include "hms/reactor.hpp"

namespace hms {

enum class OpTag : std::uint64_t {
  recv = 1,    // Connection*: multishot recv / epoll readiness
  send = 2,    // Connection*: sendmsg
  accept = 3,  // Listener*: multishot accept / epoll readiness
  wake = 4,    // the reactor's eventfd
  ignore = 5,  // cancel and other completions nobody waits for
  room = 6,    // Connection*: POLLOUT poll after a send found the socket full
};
inline constexpr std::uint64_t kTagMask = 7;

inline std::uint64_t make_ud(const void* p, OpTag t) {
  return reinterpret_cast<std::uint64_t>(p) | static_cast<std::uint64_t>(t);
}

class BlockPool {
 public:
  BlockPool(ReactorImpl* owner, std::uint32_t count, std::uint32_t size);
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  std::uint32_t count() const noexcept { return count_; }
  std::uint32_t size() const noexcept { return size_; }
  Block& block(std::uint16_t bid) noexcept { return blocks_[bid]; }
  std::uint8_t* memory() const noexcept { return mem_; }
  std::size_t stride() const noexcept { return size_ + kBlockPadding; }

  // Called from Block::recycle on any thread.
  void recycle(Block* b) noexcept;
  // Owner thread: blocks returned by other threads go back now.
  void drain_returned() noexcept;
  // epoll: take a free block (refs = 1) or nullptr.
  Block* take() noexcept;

  // Buffers the kernel (or the epoll free list) can fill now.
  std::uint32_t free_count() const noexcept { return nfree_.load(std::memory_order_relaxed); }
  // Fewer free buffers than the low mark: frames must not pin more of them.
  bool low() const noexcept { return free_count() < low_mark_; }
  void set_low_mark(std::uint32_t n) noexcept { low_mark_ = n; }
  // Whether `b` is a receive buffer of a pool that is running low. Any
  // thread: a frame of one reactor may be queued on another's connection.
  static bool pinning_hurts(const Block& b) noexcept { return b.pool_ && b.pool_->low(); }
  // Owner thread: a buffer left the pool (a receive filled it).
  void taken() noexcept { add_free(-1); }

 private:
  friend class ReactorImpl;
  void give_back(Block* b) noexcept;  // owner thread
  // Only the owner thread writes the count, so a load and a store are
  // enough (no read-modify-write). Other threads read it relaxed: it is a
  // hint for whether to copy a frame, nothing is published through it.
  void add_free(int d) noexcept {
    nfree_.store(static_cast<std::uint32_t>(static_cast<int>(nfree_.load(std::memory_order_relaxed)) + d),
                 std::memory_order_relaxed);
  }
  std::atomic<std::uint32_t> nfree_{0};
  std::uint32_t low_mark_ = 1;
  ReactorImpl* owner_;
  std::uint32_t count_, size_;
  std::uint8_t* mem_ = nullptr;
  std::unique_ptr<Block[]> blocks_;
  Block* free_ = nullptr;  // epoll free list
  // Blocks whose last reference dropped on a foreign thread: a Treiber
  // stack. Producers push with release; the owner takes the whole stack
  // with exchange(acquire), pairing with those releases.
  std::atomic<Block*> returned_{nullptr};
};

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
  ReactorImpl(Reactor* api, const ReactorOptions& opts);
  ~ReactorImpl();

  void run();
  void stop() noexcept;
  void post(std::function<void()> fn);
  void wake() noexcept;
  bool in_loop_thread() const noexcept;

  TimerId add_timer(std::chrono::nanoseconds after, std::chrono::nanoseconds period,
                    std::function<void()> fn);
  void cancel_timer(TimerId id) noexcept;

  Listener& listen(std::string_view endpoint, const ListenOptions& opts,
                   std::function<void(Connection&)> on_accept);
  void close_listener(Listener& l);
  Connection& connect(std::string_view endpoint, const ConnectOptions& opts,
                      ConnectionHandler* handler);
  Connection& adopt(int fd, const ConnectionOptions& opts, ConnectionHandler* handler,
                    Connection::Mode mode);

  // Connection services.
  void mark_dirty(Connection* c);
  void conn_close(Connection* c, CloseReason r, std::string msg, bool now);
  // A segment referencing a receive buffer was queued on `c`.
  void note_pinner(Connection* c);
  // The queue went over the soft limit: check again when it may expire.
  void arm_soft_timer(Connection* c, std::chrono::nanoseconds after);

  Backend backend = Backend::epoll;
  ReactorStats stats;
  std::vector<std::function<void()>> before_flush_;  // Reactor::add_before_flush
  std::int64_t wait_ns_ = 0;  // time blocked in the kernel this pass
  std::chrono::steady_clock::time_point now{};
  std::size_t live_connections = 0;
  BlockPool pool_;

 private:
  friend class BlockPool;
  struct Timer {
    std::function<void()> fn;
    std::chrono::nanoseconds period{0};
  };

  // Backend operations.
  void arm_recv(Connection* c);
  void start_send(Connection* c);
  void arm_accept(Listener* l);
  void wait_and_dispatch(int timeout_ms);
  io_uring_sqe* get_sqe();
  void on_uring_cqe(io_uring_cqe* cqe);
  void on_epoll_event(std::uint64_t data, std::uint32_t events);
  void epoll_read(Connection* c);
  void epoll_update(Connection* c);
  void recycle_to_ring(Block* b) noexcept;

  // Shared logic.
  void on_accepted(Listener* l, int fd);
  void on_accept_error(Listener* l, int err);
  void on_data(Connection* c, BufRef blk, std::size_t n);
  void on_recv_end(Connection* c, int res);  // 0 EOF, <0 -errno
  void on_send_done(Connection* c, int res);
  void wait_for_room(Connection* c);
  void on_room(Connection* c, int poll_res);
  // io_uring: ask the kernel to give back the send (or room poll) in flight.
  void cancel_send(Connection* c);
  // A sendmsg the kernel holds: its segments' iovecs must stay put.
  static bool send_in_kernel(const Connection* c) noexcept { return c->send_active_ && !c->want_room_; }
  bool handle_head(Connection* c, const std::uint8_t*& p, std::size_t& len);
  void feed_frames(Connection* c, const BufRef& blk, const std::uint8_t* p, std::size_t len);
  void protocol_error(Connection* c, const DecodeResult& r, const std::uint8_t* p,
                      std::size_t len);
  void maybe_finalize(Connection* c);
  void finalize(Connection* c);
  void flush();
  void run_posted();
  void run_timers();
  int next_timeout_ms();
  void retry_buffer_waiters();
  void check_pool();
  void unpin(Connection* c);
  void shutdown_all();
  void wake_others() noexcept;
  Connection* find(std::uint64_t id) const noexcept;

  Reactor* api_;
  ReactorOptions opts_;
  bool pool_was_low_ = false;  // counted in the process-wide low-pool count

  // io_uring
  io_uring ring_{};
  bool ring_ok_ = false;
  bool ring_disabled_ = false;  // created R_DISABLED, enabled by run()
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::size_t buf_ring_bytes_ = 0;
  // epoll
  int epfd_ = -1;

  int evfd_ = -1;
  bool wake_armed_ = false;
  std::uint64_t wake_buf_ = 0;
  int spare_fd_ = -1;  // closed and reopened to refuse clients at EMFILE

  std::atomic<bool> stop_{false};       // pairs: stop() store / loop load
  std::atomic<bool> sleeping_{false};   // skip eventfd writes while busy
  std::thread::id thread_{};
  std::atomic<bool> running_{false};

  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::function<void()>> posted_run_;

  std::map<TimerId, Timer> timers_;
  using HeapItem = std::pair<std::chrono::steady_clock::time_point, TimerId>;
  std::priority_queue<HeapItem, std::vector<HeapItem>, std::greater<>> timer_heap_;
  TimerId next_timer_ = 1;

  std::vector<Connection*> dirty_;
  std::vector<Connection*> finalize_;
  std::vector<Connection*> buffer_waiters_;
  // Connections with segments that reference receive buffers (pooled_segs_
  // > 0, or was when added; pruned by the unpin pass).
  std::vector<Connection*> pinners_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::map<std::uint64_t, Connection*> conns_;
  std::uint64_t next_conn_id_ = 1;
};

extern thread_local ReactorImpl* tls_reactor;

}  // namespace hms
