// Shared pieces of the end-to-end engine benchmark (hms_engine_bench): the
// options every subcommand takes, the frames the benchmarks exchange, the
// measurement window and how results are reported.
//
// ### What every program prints
// A measuring program prints one line per metric on stdout:
//     metric <name> <value>
// (frames_per_s, bytes_per_s, requests_per_s, rtt_p50_us, rtt_p99_us, ...)
// and scripts/bench turns them into rows. Anything else goes to stderr. A
// program that saw a wrong byte (a frame that is not the one sent, an error
// reply) exits with status 1 instead: a benchmark that counts garbage would
// lie, so every frame is checked where it is counted (STYLE.md point 10).
//
// ### Bounded in time
// Every program ends by itself: receivers and clients after warmup +
// duration, senders and servers when their peer goes away or, at the latest,
// at a hard deadline (warmup + duration + kGraceSeconds), so a lost peer can
// never leave a process behind holding a port.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "hms/frame.hpp"

namespace bench {

using Clock = std::chrono::steady_clock;

// Past the measured window, how long a sender or server keeps trying before
// it gives up on its peer.
inline constexpr double kGraceSeconds = 15.0;

struct Options {
  std::uint16_t port = 0;
  double duration = 3.0;      // measured window, seconds
  double warmup = 0.5;        // unmeasured time before it
  std::size_t payload = 64;   // stdout payload bytes
  std::size_t window = 128;   // requests in flight (rpc); 1 = latency mode
  std::size_t high_water = 4u << 20;  // sender: bytes queued before waiting
  std::size_t chunk = 64 * 1024;      // raw sender: bytes per write(2)

  double hard_deadline_s() const { return warmup + duration + kGraceSeconds; }
};

// The one-way message every log benchmark sends: stdout of service `web` on
// dock `dock-1`, as a dock relays a child's output.
inline constexpr std::string_view kService = "web";
inline constexpr std::string_view kOrigin = "dock-1";
inline constexpr std::string_view kEventId = "web@dock-1";
// The request every rpc benchmark sends: start("web"), answered empty.
inline constexpr std::string_view kRpcId = "web";

inline constexpr std::size_t stdout_frame_size(std::size_t payload) {
  return hms::message_head_size(kEventId.size()) + payload;
}
inline constexpr std::size_t kRequestFrameSize = hms::message_head_size(kRpcId.size());
inline constexpr std::size_t kReplyFrameSize = hms::kHeaderSize;

// Appends one stdout frame (head + `payload` bytes of filler) to `out`.
inline void append_stdout_frame(std::vector<std::uint8_t>& out, std::size_t payload) {
  const std::size_t at = out.size();
  out.resize(at + stdout_frame_size(payload));
  const std::size_t head = hms::encode_event_head(out.data() + at, hms::Opcode::stdout_, kService,
                                                  kOrigin, payload);
  // Printable filler, like real log output; its value is never checked.
  for (std::size_t i = 0; i < payload; ++i)
    out[at + head + i] = static_cast<std::uint8_t>('a' + i % 26);
}

// Seconds between two time points.
inline double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
inline Clock::duration to_duration(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

inline void print_metric(const char* name, double value) {
  std::printf("metric %s %.3f\n", name, value);
  std::fflush(stdout);
}

// Counts taken at the start and at the end of the measured window; the rate
// divides by the time actually elapsed between the two snapshots, not by the
// nominal duration, so a late timer cannot inflate a result.
struct Window {
  Clock::time_point t0{}, t1{};
  std::uint64_t items0 = 0, bytes0 = 0, items1 = 0, bytes1 = 0;
  bool started = false, ended = false;

  void start(Clock::time_point now, std::uint64_t items, std::uint64_t bytes) {
    t0 = now;
    items0 = items;
    bytes0 = bytes;
    started = true;
  }
  void end(Clock::time_point now, std::uint64_t items, std::uint64_t bytes) {
    t1 = now;
    items1 = items;
    bytes1 = bytes;
    ended = true;
  }
  double items_per_s() const { return ended ? (items1 - items0) / seconds(t0, t1) : 0.0; }
  double bytes_per_s() const { return ended ? (bytes1 - bytes0) / seconds(t0, t1) : 0.0; }
};

// Latency samples in nanoseconds; percentiles by sorting (exact, and the
// sample count of a few seconds of ping-pong fits easily in memory).
class Latencies {
 public:
  void reserve(std::size_t n) { ns_.reserve(n); }
  void add(std::uint64_t ns) { ns_.push_back(ns); }
  std::size_t size() const { return ns_.size(); }
  // Sorts once; call after the run.
  double percentile_us(double p);

 private:
  std::vector<std::uint64_t> ns_;
  bool sorted_ = false;
};

// Reports a stdout receiver's window (frames/s and payload bytes/s).
void report_stream(const Window& w, std::uint64_t frames_total);
// Reports an rpc client's results: requests/s, and percentiles if sampled.
void report_rpc(const Window& w, Latencies& lat);

[[noreturn]] void fail(const char* what, ...) __attribute__((format(printf, 1, 2)));

}  // namespace bench
