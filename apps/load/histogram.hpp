// A latency histogram with bounded relative error, in the spirit of
// HdrHistogram: exact below 128 ns, then 64 buckets per power of two (error
// under 1.6 %), any value up to 2^64 - 1 ns. Fixed size (about 30 KiB), no
// allocation while recording, so every frame can be recorded on the hot path.
// One histogram per reactor thread; they are merged after the threads stop.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace hms::load {

class LatencyHistogram {
 public:
  void record(std::uint64_t ns) noexcept { record(ns, 1); }
  // `n` values of `ns` at once: a run of frames that were stamped together
  // and received together has one latency.
  void record(std::uint64_t ns, std::uint64_t n) noexcept {
    counts_[index_of(ns)] += n;
    total_ += n;
    max_ = std::max(max_, ns);
  }

  void merge(const LatencyHistogram& o) noexcept {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
  }

  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t max() const noexcept { return max_; }

  // The smallest recorded bucket's upper edge below which at least the
  // fraction `q` (0..1) of the values lie, capped at the true maximum so a
  // quantile never exceeds what was seen. 0 when nothing was recorded.
  std::uint64_t quantile(double q) const noexcept {
    if (total_ == 0) return 0;
    auto want = static_cast<std::uint64_t>(q * static_cast<double>(total_) + 0.5);
    want = std::clamp<std::uint64_t>(want, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= want) return std::min(upper_edge(i), max_);
    }
    return max_;
  }

 private:
  static constexpr unsigned kLinear = 128;  // values below are their own bucket
  static constexpr unsigned kSub = 64;      // buckets per power of two above
  static constexpr std::size_t kBuckets = kLinear + (64 - 7) * kSub;

  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < kLinear) return static_cast<std::size_t>(v);
    const unsigned e = 63u - static_cast<unsigned>(std::countl_zero(v));  // >= 7
    const unsigned shift = e - 6;
    const auto top = static_cast<unsigned>(v >> shift);  // 64..127
    return kLinear + (e - 7) * kSub + (top - kSub);
  }
  static std::uint64_t upper_edge(std::size_t i) noexcept {
    if (i < kLinear) return i;
    const std::size_t k = i - kLinear;
    const unsigned e = 7 + static_cast<unsigned>(k / kSub);
    const std::uint64_t top = kSub + k % kSub;
    const unsigned shift = e - 6;
    // The last bucket's edge would overflow: it is 2^64 - 1.
    if (shift >= 57 && top == 127) return ~std::uint64_t{0};
    return ((top + 1) << shift) - 1;
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace hms::load
