// hms/reactor.hpp: one event loop on one thread.
//
// A Reactor owns its I/O backend (an io_uring, or epoll where io_uring cannot
// be set up or HMS_BACKEND=epoll asks for it), its receive-buffer pool, its
// timers and every Connection and Listener created on it. Everything but
// post(), wake(), stop() and the counters must be called on the reactor's own
// thread (inside run(), i.e. from a callback or a posted task).
//
// The loop (as Redis does): drain completions, run posted tasks, sources and
// due timers, flush every connection that has pending output, then submit
// and wait once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "hms/connection.hpp"

namespace hms {

enum class Backend : std::uint8_t { automatic, uring, epoll };
const char* to_string(Backend b) noexcept;

struct ReactorOptions {
  Backend backend = Backend::automatic;  // automatic honours HMS_BACKEND
  std::uint32_t recv_buffers = 256;      // receive pool size (power of two)
  std::uint32_t recv_buffer_size = 64 * 1024;
  std::uint32_t ring_entries = 1024;     // io_uring submission queue size
  // When fewer than this share of receive buffers (and at least one) is
  // free, the pool is low: frames relayed from it are copied instead of
  // pinning a receive buffer, and frames already queued by reference on any
  // reactor's connections are copied out.
  double low_water = 0.25;
};

// A tally one thread writes and any thread may read at any time. Relaxed:
// each counter is independent and nothing is published through it. The
// writer's increment is a plain load and store (one writer), as cheap as a
// plain integer; a copy is a snapshot.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter& o) noexcept : v_(o.get()) {}
  Counter& operator=(const Counter& o) noexcept {
    v_.store(o.get(), std::memory_order_relaxed);
    return *this;
  }
  Counter& operator+=(std::uint64_t n) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    return *this;
  }
  Counter& operator++() noexcept { return *this += 1; }
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }
  operator std::uint64_t() const noexcept { return get(); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

// Counters a reactor keeps: written by its thread, readable from any thread
// at any time (no snapshot period to wait for).
struct ReactorStats {
  Counter frames_in, bytes_in;
  Counter frames_out, bytes_out;
  Counter assembled_frames;   // frames that straddled buffers
  Counter pinned_copies;      // frames copied out under ring pressure
  Counter protocol_errors;
  Counter slow_disconnects;   // output limits exceeded
  Counter accept_errors;
  Counter buffer_stalls;      // receives delayed for want of buffers
  Counter loop_iterations;
  Counter loop_busy_ns;       // time spent outside the wait
  Counter wakeups;            // eventfd writes that woke this reactor
  Counter read_timeouts;      // frames or heads not finished in time
  Counter budget_closes;      // partial frames refused by the memory budget
  Counter oom_closes;         // connections closed for an allocation failure
  Counter accept_shed;        // connections refused at the descriptor limit
};

// Process-wide memory budget for partly received frames (assembly blocks),
// over every reactor: a connection whose frame would take the total past it
// is closed instead (ReactorStats::budget_closes). Assembly memory grows as
// the frame's bytes arrive, not at the size its header announces. 0: none.
// Thread-safe.
void set_partial_budget(std::size_t bytes) noexcept;
std::size_t partial_budget() noexcept;
// Bytes held in assembly blocks right now, process-wide.
std::size_t partial_bytes() noexcept;

// Serves allocations of 1 MiB and more from mappings of their own, so that
// a big frame's memory goes back to the system the moment it is freed
// (glibc keeps it in its arenas otherwise, and after the first such free it
// serves every later big block from them too). Process-wide, for servers
// to call once at start; thread-safe. Reactors also hand back what smaller
// allocations leave free in the arenas, every few seconds when it adds up.
void map_big_allocations() noexcept;

class Listener;

using TimerId = std::uint64_t;

class ReactorImpl;

class Reactor {
 public:
  explicit Reactor(const ReactorOptions& opts = {});
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  Backend backend() const noexcept;

  // Runs the loop on the calling thread until stop(). On stop, connections
  // are closed after flushing their output (bounded by a short drain time).
  void run();
  // Thread-safe. Asks run() to return.
  void stop() noexcept;
  // Thread-safe. Runs `fn` on the reactor thread soon. For rare work (set-up,
  // tests, commands); hot paths between reactors use a ShardMesh.
  void post(std::function<void()> fn);
  // True on the reactor's own thread while run() is active.
  bool in_loop_thread() const noexcept;

  // ---- Work other threads feed through lock-free queues (hms/mesh.hpp).
  // `drain` runs on this thread once per loop pass, before the flush.
  // `pending` runs on this thread and says whether work has arrived that
  // drain has not taken: the reactor asks after announcing that it is about
  // to sleep, and does not sleep if so. Call before run() or on the thread.
  void add_source(std::function<void()> drain, std::function<bool()> pending);
  // Thread-safe. After publishing work: wakes the reactor only if it sleeps
  // or is about to (one eventfd write per sleep, not one per message).
  void wake() noexcept;

  TimerId add_timer(std::chrono::nanoseconds after, std::function<void()> fn);
  TimerId add_periodic(std::chrono::nanoseconds every, std::function<void()> fn);
  void cancel_timer(TimerId id) noexcept;
  // Runs `fn` once per loop pass, after completions and posted tasks and
  // before pending output is flushed: the place to hand batched work on.
  // Call before run() or on the reactor thread.
  void add_before_flush(std::function<void()> fn);
  // Loop time, refreshed once per iteration.
  std::chrono::steady_clock::time_point now() const noexcept;

  // Listens on `endpoint` ("host:port", "[::1]:port", "unix:/path" or a path
  // with '/'); throws std::system_error on failure. on_accept runs for each
  // new connection before any of its bytes are read; it must set a handler.
  Listener& listen(std::string_view endpoint, const ListenOptions& opts,
                   std::function<void(Connection&)> on_accept);
  void close_listener(Listener& l);
  // The TCP port a listener is bound to (useful after listening on port 0).
  std::uint16_t listen_port(const Listener& l) const;

  // Connects (blocking connect(2), then the socket is non-blocking and owned
  // by the reactor). With opts.upgrade the HTTP CONNECT head goes out first
  // and frames may be queued behind it at once. Throws std::system_error.
  Connection& connect(std::string_view endpoint, const ConnectOptions& opts,
                      ConnectionHandler* handler);
  // Adopts a connected socket (any kind), raw frames from the first byte.
  Connection& adopt(int fd, const ConnectionOptions& opts, ConnectionHandler* handler);
  // Adopts a readable descriptor that carries plain bytes (a pipe from a
  // child process, say): every read goes to handler->on_bytes() as a view
  // into a receive buffer, with the buffer's reference. Nothing can be sent
  // on it. It closes (on_close) at end of file or on error.
  Connection& adopt_stream(int fd, ConnectionHandler* handler);

  // Counters (any thread) and sizes (this thread).
  const ReactorStats& stats() const noexcept;
  std::size_t connection_count() const noexcept;
  std::size_t free_recv_buffers() const noexcept;

 private:
  std::unique_ptr<ReactorImpl> impl_;
};

// Splits "host:port" / "[v6]:port" / "unix:/p" / "/p". Returns false with a
// message when the text is not an endpoint.
struct Endpoint {
  enum class Kind : std::uint8_t { tcp, unix_path } kind = Kind::tcp;
  std::string host;  // tcp: numeric address or "localhost"
  std::uint16_t port = 0;
  std::string path;  // unix
  static bool parse(std::string_view text, Endpoint* out, std::string* error);
  std::string to_string() const;
};

}  // namespace hms
