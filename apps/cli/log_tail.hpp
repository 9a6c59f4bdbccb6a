// The log stream's sink: formats events into one buffer and writes it to
// stdout in large batches (once per pass of the I/O loop, or every 256 KiB).
//
// Everything here runs on the Link's I/O thread, except what says otherwise.
//
// Modes, for the commands that tail after a step (the reference creates its
// log stream at a given moment and pipes it to stdout later):
//   drop    events are discarded (deploy, before its restart step)
//   hold    events are formatted and kept (at most 16 MiB, then further
//           lines are dropped) until streaming starts
//   stream  written out as they come
#pragma once

#include <cstdint>

#include "hms/peer.hpp"
#include "log_format.hpp"

namespace hms::cli {

class LogTail {
 public:
  enum class Mode : unsigned char { drop, hold, stream };
  static constexpr std::size_t kMaxHeld = 16u << 20;
  static constexpr std::size_t kBatch = 256u << 10;

  LogTail(LogStyle style, Mode mode, int fd = 1) : fmt_(style), mode_(mode), fd_(fd) {}

  void on_event(const Message& m);
  // Writes the buffer out if streaming (the loop's before-flush hook).
  void flush();
  void set_mode(Mode m);  // to stream: the held lines go out first
  std::uint64_t lines_dropped() const noexcept { return dropped_; }

 private:
  LogFormatter fmt_;
  OutBuf buf_;
  Mode mode_;
  int fd_;
  std::uint64_t dropped_ = 0;
};

}  // namespace hms::cli
