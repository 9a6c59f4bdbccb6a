#include "common.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdlib>

namespace bench {

double Latencies::percentile_us(double p) {
  if (ns_.empty()) return 0.0;
  if (!sorted_) {
    std::sort(ns_.begin(), ns_.end());
    sorted_ = true;
  }
  // Nearest rank: the smallest sample with at least p% of samples <= it.
  std::size_t rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(ns_.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, ns_.size());
  return static_cast<double>(ns_[rank - 1]) / 1000.0;
}

void report_stream(const Window& w, std::uint64_t frames_total) {
  if (!w.ended) fail("the measured window never completed (%llu frames seen)",
                     static_cast<unsigned long long>(frames_total));
  print_metric("frames_per_s", w.items_per_s());
  print_metric("bytes_per_s", w.bytes_per_s());
  print_metric("frames_measured", static_cast<double>(w.items1 - w.items0));
}

void report_rpc(const Window& w, Latencies& lat) {
  if (!w.ended) fail("the measured window never completed");
  print_metric("requests_per_s", w.items_per_s());
  print_metric("requests_measured", static_cast<double>(w.items1 - w.items0));
  if (lat.size()) {
    print_metric("rtt_p50_us", lat.percentile_us(50));
    print_metric("rtt_p99_us", lat.percentile_us(99));
    print_metric("rtt_p999_us", lat.percentile_us(99.9));
  }
}

void fail(const char* what, ...) {
  std::va_list ap;
  va_start(ap, what);
  std::fputs("hms_engine_bench: ", stderr);
  std::vfprintf(stderr, what, ap);
  std::fputc('\n', stderr);
  va_end(ap);
  std::exit(1);
}

}  // namespace bench
