// Output frames for one subscriber, held for a moment so that many small
// reads leave in one sendmsg.
//
// Why: a child writing small lines is read a few lines at a time, and each
// read is its own frame. Sent one by one, every frame costs a trip through
// the kernel's TCP stack (on loopback, the receiving side's too) and wakes
// the hub. Held until kBatchBytes are together or kBatchDelay has passed,
// they go out together: the same frames, the same bytes, a fraction of the
// cost (at most a few milliseconds later). A 64 KiB read is past the size
// at once and is not held.
//
// Zero copy holds: a held frame keeps a reference to its receive buffer;
// its head is kept here and copied into the connection's scratch block at
// flush, beside the payload queued by reference.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hms/buffer.hpp"
#include "hms/frame.hpp"

namespace hms {
class Connection;
struct ReactorStats;
}  // namespace hms

namespace hms::dock {

inline constexpr std::size_t kBatchBytes = 64 * 1024;
inline constexpr std::chrono::milliseconds kBatchDelay{1};

class FrameBatch {
 public:
  struct Flushed {
    std::size_t frames = 0;
    std::size_t payload = 0;  // bytes
    std::size_t copied = 0;   // payload bytes the engine copied (pool short)
  };

  // Holds a stdout/stderr frame of `service@origin` whose payload is
  // [data, data + len) in `storage`.
  void add(Opcode op, std::string_view service, std::string_view origin, const BufRef& storage,
           const std::uint8_t* data, std::size_t len);
  // Bytes held (heads and payloads).
  std::size_t bytes() const noexcept { return bytes_; }
  bool empty() const noexcept { return frames_.empty(); }
  // Queues the held frames on `c`, in order, and forgets them.
  Flushed flush(Connection& c, const ReactorStats& stats);
  void clear();

 private:
  struct Frame {
    BufRef storage;
    const std::uint8_t* data;
    std::size_t len;
    std::size_t head_off, head_len;
  };
  std::string heads_;
  std::vector<Frame> frames_;
  std::size_t bytes_ = 0;
};

}  // namespace hms::dock
