// What every hms-load worker thread of one run shares: the options, the
// hub's address, the measured window, the set-up counters and the in-flight
// credit. Everything else belongs to one worker (worker.hpp).
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "load.hpp"

namespace hms::load {

// CLOCK_MONOTONIC in ns: the clock a frame's stamp is taken with and its
// receive time compared against (one machine, so one clock).
inline std::int64_t mono_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline constexpr std::uint64_t kNoSeq = ~std::uint64_t{0};
inline constexpr std::size_t kMaxErrors = 8;
// What a dock answers a command it has no handler for (the reference's text).
inline constexpr std::string_view kNotSupported = "Command is not supported";

inline std::string service_name(unsigned k) { return "web" + std::to_string(k); }

// The hub's address, resolved once: "host:port", "[v6]:port", a bare port
// (loopback), "unix:/path" or a path containing '/'.
struct HubAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool tcp = true;
  std::string host_header;  // what the CONNECT head names as Host
};
// Throws std::invalid_argument when the text is not an address or the host
// does not resolve.
HubAddress resolve_hub(const std::string& text);

// Per client, what the dock pumps of every thread read to compute the
// credit. One cache line each: the owning thread stores once per read.
struct alignas(64) ClientTally {
  // stdout frames received plus frames known lost (sequence gaps), in the
  // window or not: the frames no longer in flight towards this client.
  // Stored (relaxed) by the client's thread only; loaded relaxed by pumps,
  // for which an estimate a few frames old is enough.
  std::atomic<std::uint64_t> done{0};
  // Subscribed and connected. Release-stored by the client's thread when the
  // subscribe reply arrives (and cleared when it closes); acquire-loaded by
  // pumps, so a live client's `done` is never read from before it counted.
  std::atomic<bool> alive{false};
};

class Worker;

struct Shared {
  Options opt;
  HubAddress hub;
  std::string hostname;       // what docks put in their handshake
  std::int64_t t0 = 0;        // run start: docks' rate phases count from here
  std::int64_t period_ns = 0;      // rate mode: between two frames of a dock
  std::int64_t window_frames = 0;  // rate 0: in-flight credit per client; 0: none
  std::size_t frame_bytes = 0;     // dock 0's frame, for the summary

  // The measured window. Set once by the main thread; relaxed loads suffice
  // (a read judged by a stale value just misses the window by a hair).
  std::atomic<std::int64_t> win_start{LLONG_MAX}, win_end{LLONG_MAX};
  // Set by the main thread; each followed by Worker::notify() on every worker
  // so a sleeping loop sees it at once.
  std::atomic<bool> docks_go{false};  // every client is subscribed: docks may connect
  std::atomic<bool> stopping{false};

  std::atomic<std::uint64_t> sent_total{0};  // rate 0: frames written by streaming docks
  std::atomic<std::int32_t> connecting{0};   // docks connected, handshake not answered
  std::atomic<std::uint32_t> streaming{0};   // docks up and subscribed by the hub
  std::atomic<std::uint32_t> docks_up{0}, docks_failed{0}, clients_up{0}, clients_failed{0};
  std::atomic<std::uint32_t> docks_lost{0}, clients_lost{0};
  std::atomic<std::int64_t> first_connect{0}, last_handshake{0};
  std::atomic<std::uint32_t> parked{0};  // workers whose pump waits for credit

  std::unique_ptr<ClientTally[]> tally;  // opt.clients + opt.streams entries (streams last)
  std::vector<Worker*> workers;          // fixed before the threads start

  std::mutex err_mu;
  std::vector<std::string> errors;  // the first kMaxErrors

  void error(std::string what) {
    std::lock_guard l(err_mu);
    if (errors.size() < kMaxErrors) errors.push_back(std::move(what));
  }
  bool in_window(std::int64_t t) const noexcept {
    return t >= win_start.load(std::memory_order_relaxed) && t < win_end.load(std::memory_order_relaxed);
  }
  // Frames the docks may still write before the slowest live client is
  // window_frames behind. LLONG_MAX when nothing limits them.
  std::int64_t credit() const noexcept {
    if (window_frames == 0) return LLONG_MAX;
    std::uint64_t slowest = kNoSeq;
    for (unsigned i = 0; i < opt.clients + opt.streams; ++i)
      if (tally[i].alive.load(std::memory_order_acquire))
        slowest = std::min(slowest, tally[i].done.load(std::memory_order_relaxed));
    if (slowest == kNoSeq) return LLONG_MAX;  // no client listens: nothing to wait for
    const auto in_flight = static_cast<std::int64_t>(sent_total.load(std::memory_order_relaxed) - slowest);
    return window_frames - in_flight;
  }
};

}  // namespace hms::load
