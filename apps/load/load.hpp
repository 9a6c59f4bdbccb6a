// hms-load: simulated docks and clients driving a hub over the real
// transport, and the raw loopback floor printed beside it for scale.
//
// ### What a run does
// 1. Clients connect (HTTP CONNECT unless `raw`), handshake as
//    {"type":"client"}, add the services web0..web<n-1> (an existing one is
//    fine) and subscribe. The run waits for all of them: a frame sent before
//    every client listens could not be expected at every client.
// 2. Docks connect in a bounded window (at most `connect_window` waiting for
//    their handshake reply at once, so the hub's accept backlog is never
//    overrun by a burst of connects), handshake as docks and answer every
//    command with ok. A dock streams stdout frames for its service (dock i
//    runs web<i mod services>) once the hub has subscribed it, as a real
//    dock only sends what its peer listens to.
// 3. After every dock is up, `warmup` seconds pass unmeasured, then the
//    window of `duration` seconds. A frame counts when it is *received*
//    inside the window: its latency (receive time minus the send time it
//    carries, both CLOCK_MONOTONIC on this machine) is recorded and its
//    sequence number checked for gaps.
//
// ### Cheaper than the hub it measures
// hms-load runs on plain nonblocking sockets and epoll (`threads` loops,
// docks and clients dealt out round robin), not on the engine: see
// worker.hpp for what one frame costs. The clock is read once per batch a
// dock writes and once per read a client makes, so at full rate a frame's
// latency is that of its batch (off by the few microseconds one batch takes
// to write or walk); at low rates a batch is one frame. The summary reports
// hms-load's own CPU beside the hub's: a busiest thread near a whole core
// means the rate measured is hms-load's limit, not the hub's.
//
// ### The stdout payload
//   send time (u64 ns, CLOCK_MONOTONIC) | sequence (u64, per dock, from 0) |
//   dock index (u32) | filler up to `payload` bytes
// all little-endian. So the payload is at least kStampBytes long.
//
// ### Backpressure (never buffer without bound)
// A dock writes only while the kernel takes all it offers; after a short
// write it waits for EPOLLOUT (hms-load itself queues at most the rest of
// the one frame the kernel cut). With rate 0 (as fast as possible) the docks
// together also keep at most `window_kb` per client of frames in flight end
// to end (sent, not yet received or known lost by the slowest client): the
// hub never queues more than that for a client, so it never has to
// disconnect one of ours as a slow reader, and the measured rate is what the
// whole path sustains. With a fixed rate, a frame that falls due while its
// dock cannot write is skipped (counted), not queued.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "histogram.hpp"

namespace hms::load {

inline constexpr std::size_t kStampBytes = 8 + 8 + 4;

struct Options {
  std::string hub = "127.0.0.1:10002";
  unsigned docks = 1;
  unsigned clients = 1;
  // Event-stream clients (the hub's page: GET /api/logs/<subscribe>),
  // counted apart from the protocol clients (stream.cpp).
  unsigned streams = 0;
  std::size_t payload = 100;          // stdout payload bytes (>= kStampBytes)
  double rate = 0;                    // frames/s per dock; 0: as fast as possible
  unsigned batch = 256;               // rate 0: frames a dock writes with one send(2)
  std::string subscribe = "*";        // what every client subscribes to
  unsigned services = 1;              // web0..web<services-1>
  double duration = 5;                // measured seconds
  double warmup = 1;                  // unmeasured seconds before
  unsigned threads = 1;               // worker threads (epoll loops) in this process
  bool raw = false;                   // raw frames instead of HTTP CONNECT
  std::optional<pid_t> hub_pid;       // sample its RSS and CPU
  std::size_t window_kb = 1024;       // rate 0: bytes in flight per client
  unsigned connect_window = 256;      // docks connecting at once
  double setup_timeout = 120;         // seconds for clients + docks to come up
  std::vector<int> keep_awake;        // CPUs kept out of idle during the window (keep_awake.hpp)
};

struct Report {
  unsigned docks_up = 0, docks_failed = 0, clients_up = 0, clients_failed = 0;
  unsigned docks_lost = 0, clients_lost = 0;  // closed before the end
  double connect_seconds = 0;                 // all docks, first connect to last handshake
  double window_seconds = 0;                  // measured
  unsigned docks_streaming = 0;               // subscribed by the hub when the window opened
  std::uint64_t sent = 0;                     // frames sent by docks in the window
  std::uint64_t delivered = 0;                // frames received by clients in the window
  std::uint64_t stream_delivered = 0;         // events received by event streams in the window
  std::uint64_t skipped = 0;                  // rate mode: due while the dock could not write
  std::uint64_t lost = 0;                     // sequence gaps seen in the window
  std::uint64_t reordered = 0;                // a sequence number at or below the last one
  std::uint64_t malformed = 0;                // payloads that are not ours
  std::size_t frame_bytes = 0;                // one stdout frame on the wire
  LatencyHistogram latency;                   // ns
  // --hub-pid: peak resident memory (max of VmHWM and the 100 ms samples of
  // VmRSS over the whole run) and CPU use over the window (1.0 = one core).
  std::optional<double> hub_rss_peak_mb, hub_rss_end_mb, hub_cpu;
  // This process over the window (1.0 = one core), and each worker thread:
  // a thread near 1.0 was the limit, not the hub.
  double load_cpu = 0;
  std::vector<double> load_thread_cpu;
  // The keep-awake spinners (--keep-awake) over the window, not counted in
  // load_cpu: they run only when a core would otherwise be idle.
  double keep_awake_cpu = 0;
  // How busy each CPU of the machine was over the window (1.0 = fully), so
  // a reader can tell whether something else was competing for the cores.
  std::vector<double> cpu_busy;
  std::vector<std::string> errors;  // the first few, for the summary

  double delivered_per_s() const { return window_seconds > 0 ? delivered / window_seconds : 0; }
  double stream_delivered_per_s() const { return window_seconds > 0 ? stream_delivered / window_seconds : 0; }
  double sent_per_s() const { return window_seconds > 0 ? sent / window_seconds : 0; }
  // Busy time of the cores not explained by the hub, hms-load or the
  // keep-awake spinners (needs hub_cpu).
  double others_cpu() const {
    double busy = 0;
    for (double b : cpu_busy) busy += b;
    return std::max(0.0, busy - load_cpu - hub_cpu.value_or(0) - keep_awake_cpu);
  }
  double load_busiest_thread() const {
    double m = 0;
    for (double c : load_thread_cpu) m = std::max(m, c);
    return m;
  }
};

// Runs the load against opts.hub. Progress goes to stderr. Throws
// std::invalid_argument for bad options or a hub address that does not
// resolve, std::system_error when the worker threads cannot be set up.
Report run(const Options& opts);

struct LoopbackOptions {
  std::size_t payload = 100;
  double duration = 3;
  double warmup = 0.5;
  std::size_t batch = 1024;  // frames per write(2): ~124 KB, the best case
};

struct LoopbackReport {
  double window_seconds = 0;
  std::uint64_t frames = 0;   // received in the window
  std::size_t frame_bytes = 0;
  int writer_cpu = -1, reader_cpu = -1;
  double frames_per_s() const { return window_seconds > 0 ? frames / window_seconds : 0; }
};

// A plain blocking writer thread and reader thread over one loopback TCP
// socket, each pinned to its own CPU of the process's affinity mask (the first
// two), moving the same stdout frames a dock sends. No engine, no callbacks,
// no per-frame allocation: the kernel's cost for one hop.
LoopbackReport run_loopback(const LoopbackOptions& opts);

}  // namespace hms::load
