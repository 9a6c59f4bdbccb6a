// Children's output and events, to whoever subscribed: the hub (for its
// clients) and clients connected to the dock's own port. The reference's
// lib/subscriptions.js: a subscriber of `*` gets every service's events,
// and a subscriber of both `*` and an id gets each event once.
//
// ### Zero copy
// A child's stdout and stderr pipes are adopted by the reactor
// (Reactor::adopt_stream): every read lands in one of the reactor's
// refcounted receive buffers. Each read becomes one stdout/stderr frame
// whose payload *is* that buffer: the 10 + len(service@origin) head bytes
// are written into the connection's scratch block and the payload is
// queued by reference (Connection::send_ref), so the kernel's sendmsg reads
// it straight from the receive buffer. With nobody subscribed to a
// service, its reads are dropped at once (no frame is built).
//
// ### Batching
// Frames for one subscriber are held briefly and leave together
// (frame_batch.hpp): many small reads, one sendmsg. An event (spawn, exit)
// first sends what is held for that subscriber, so order is kept.
//
// ### Read moderation
// A child writing small lines wakes the dock for every few of them: each
// wake-up is a loop pass, a pipe read, a frame, for a few hundred bytes.
// So, as network cards coalesce interrupts: a loop pass that read output,
// but less than kSmallPass in all, pauses kReadModeration before it goes
// on, and the next pass finds that much more in the pipes. Measured on the
// 64-byte-lines benchmark: a fifth of the CPU per GB, more lines through.
// A dock reading large chunks never pauses, an idle one runs no passes;
// the price is at most kReadModeration of delay on output and commands
// while small output flows. Children are not held up: the pipe (64 KiB)
// takes what they write meanwhile, and a pipe that fills makes big reads,
// which end the pausing.
//
// ### Never blocking a child
// Pipes are always drained. Output for a subscriber whose queue holds more
// than `queue_bound` bytes is dropped, and so is all output while the
// receive pool runs short (frames queued by reference pin their buffers;
// we drop before the engine would have to copy them out). Drops are
// counted per service and logged once per episode ("dropping output"), then
// summed up when output flows again.
//
// ### Copies
// The payload is copied only if the engine must (its pool below its low
// mark; see Connection::send_ref): counted here in copied_bytes (frames
// sent so), and in ReactorStats::pinned_copies (frames, any path).
//
// ### Threads and lifetimes
// Reactor thread only. A subscriber is a Peer that calls clear() from its
// close callback; pointers to it are never kept past that. Pipe readers
// live until their pipe reaches end of file (or the reactor stops).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dock/frame_batch.hpp"
#include "hms/buffer.hpp"
#include "hms/frame.hpp"
#include "hms/reactor.hpp"

namespace hms {
class Peer;
class Reactor;
}  // namespace hms

namespace hms::dock {

inline constexpr std::chrono::microseconds kReadModeration{100};
inline constexpr std::size_t kSmallPass = 32 * 1024;

struct OutputCounters {
  std::uint64_t bytes_read = 0;      // from the service's pipes
  std::uint64_t frames_sent = 0;     // output frames queued, all subscribers
  std::uint64_t dropped_bytes = 0;   // payload not sent to a subscriber
  std::uint64_t dropped_frames = 0;
  std::uint64_t episode_dropped = 0; // since dropping began (logged at its end)
  bool dropping = false;
};

struct OutputTotals {
  std::uint64_t bytes_read = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t payload_bytes_sent = 0;
  std::uint64_t dropped_bytes = 0;
  std::uint64_t dropped_frames = 0;
  std::uint64_t copied_bytes = 0;    // payload bytes the engine had to copy
  std::uint64_t copied_frames = 0;   // ReactorStats::pinned_copies
  std::uint32_t open_pipes = 0;
};

class Outputs {
 public:
  // `origin` is the dock id (events carry `service@origin`). Output is
  // dropped for a subscriber past `queue_bound` queued bytes, and for all
  // while fewer than `min_free_buffers` receive buffers are free.
  Outputs(Reactor& reactor, std::string origin, std::size_t queue_bound, std::uint32_t min_free_buffers);
  ~Outputs();
  Outputs(const Outputs&) = delete;
  Outputs& operator=(const Outputs&) = delete;

  // ---- subscriptions
  void subscribe(std::string_view id, Peer& p);
  void unsubscribe(std::string_view id, Peer& p);
  void clear(Peer& p);  // p is going away: every subscription of it
  bool has_subscribers(std::string_view service) const;

  // ---- a child's pipes (read ends; adopted, then owned by the reactor)
  void adopt(const std::string& service, int out_fd, int err_fd);

  // ---- process events: spawn carries the pid (null when the program
  // could not be started, as the reference's patched dock sends); exit
  // the code, or null for a death by signal (as the reference).
  void spawn(const std::string& service, std::optional<pid_t> pid);
  void exit(const std::string& service, std::optional<int> code);

  const OutputCounters* counters(std::string_view service) const;
  OutputTotals totals() const;

 private:
  class PipeReader;
  friend class PipeReader;
  struct Targets {
    std::vector<Peer*> peers;
    std::uint64_t gen = ~std::uint64_t{0};
  };
  const std::vector<Peer*>& targets(const std::string& service, Targets& cache);
  void send_output(PipeReader& r, const std::uint8_t* data, std::size_t len, const BufRef& storage);
  void send_event(const std::string& service, Opcode op, std::string_view payload);
  void flush_batch(Peer* p);
  void flush_all_batches();
  void reader_closed(PipeReader* r);
  OutputCounters& counters_for(const std::string& service);

  Reactor& reactor_;
  std::string origin_;
  std::size_t queue_bound_;
  std::uint32_t min_free_buffers_;
  std::unordered_map<std::string, std::vector<Peer*>> subs_;
  std::unordered_set<Peer*> globbing_;  // subscribed to '*'
  std::uint64_t gen_ = 0;               // bumped by every change of subs_
  std::unordered_map<std::string, OutputCounters> counters_;
  std::unordered_map<PipeReader*, std::unique_ptr<PipeReader>> readers_;
  std::unordered_map<Peer*, FrameBatch> batches_;
  TimerId batch_timer_ = 0;
  std::size_t pass_reads_ = 0, pass_bytes_ = 0;
  OutputTotals totals_;
};

}  // namespace hms::dock
