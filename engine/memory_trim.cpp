// Giving freed memory back to the system.
//
// glibc keeps what is freed in its arenas: a 16 MiB log line, an attacker's
// announced body, 70,000 requests pending on a mute dock. Worse, once a big
// mmap'd block is freed its mmap threshold rises, and later big blocks come
// from the arenas too; map_big_allocations() pins that threshold at 1 MiB.
// For the rest every reactor calls maybe_trim_memory() once a pass; it is
// cheap unless there is something to give back:
// - at once (at most once a second) after 32 MiB of big engine blocks;
// - otherwise every few seconds it reads the resident size, and trims when
//   that grew by 16 MiB since the last trim while the arenas hold at least
//   16 MiB free (mallinfo2 walks the free lists, hence the spacing).
// Process-wide state: the first reactor to get the lock does the work.
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "reactor_impl.hpp"

namespace hms {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kBigFreed = std::size_t{32} << 20;
constexpr std::size_t kGrowth = std::size_t{16} << 20;
constexpr auto kMinGap = std::chrono::seconds(1);
constexpr auto kLookEvery = std::chrono::seconds(3);

struct TrimState {
  std::mutex lock;
  Clock::time_point last_trim{};
  std::atomic<Clock::rep> last_look{0};  // read without the lock, to skip it
  std::size_t rss_after_trim = 0;  // bytes resident just after the last trim (or the lowest seen since)
};
TrimState g_trim;

std::size_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "re");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

void trim(Clock::time_point now) {
  reset_big_blocks_freed();
  malloc_trim(0);
  g_trim.last_trim = now;
  g_trim.rss_after_trim = resident_bytes();
}

}  // namespace

void map_big_allocations() noexcept { mallopt(M_MMAP_THRESHOLD, 1 << 20); }

void maybe_trim_memory(Clock::time_point now) {
  const bool big = big_blocks_freed() >= kBigFreed;
  const auto looked = [] { return Clock::time_point(Clock::duration(g_trim.last_look.load(std::memory_order_relaxed))); };
  if (!big && now - looked() < kLookEvery) return;
  std::unique_lock<std::mutex> held(g_trim.lock, std::try_to_lock);
  if (!held || now - g_trim.last_trim < kMinGap) return;
  if (big) return trim(now);
  if (now - looked() < kLookEvery) return;
  g_trim.last_look.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  const std::size_t rss = resident_bytes();
  if (rss < g_trim.rss_after_trim) g_trim.rss_after_trim = rss;
  if (rss < g_trim.rss_after_trim + kGrowth) return;
  if (mallinfo2().fordblks < kGrowth) return;
  trim(now);
}

}  // namespace hms
