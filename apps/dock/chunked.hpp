// HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1), decoded in
// place: the reference terminal sends tarballs chunked. Pure: no I/O, no
// allocation; the body bytes it finds are views into the input.
//
// Feed input with step(); each call consumes some prefix of it and may
// point at one run of body bytes inside that prefix. Call again with the
// rest; a call that consumes nothing needs more input. Chunk extensions and
// trailer fields are skipped; a size line, extension or trailer line longer
// than kMaxLine, a size over 2^60, or a malformed line is an error.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hms::dock {

class ChunkedDecoder {
 public:
  static constexpr std::size_t kMaxLine = 4096;

  struct Step {
    std::size_t used = 0;       // input bytes consumed
    std::size_t body_off = 0;   // body bytes: [body_off, body_off + body_len)
    std::size_t body_len = 0;   // of the input, within the consumed prefix
  };

  Step step(const char* in, std::size_t len) noexcept;
  bool done() const noexcept { return state_ == State::done; }
  bool failed() const noexcept { return state_ == State::failed; }
  const char* error() const noexcept { return error_; }

 private:
  enum class State : std::uint8_t { size, ext, size_lf, data, data_cr, data_lf, trailer, trailer_lf, done, failed };
  void fail(const char* why) noexcept {
    state_ = State::failed;
    error_ = why;
  }

  State state_ = State::size;
  std::uint64_t size_ = 0;      // of the chunk being read
  std::uint64_t left_ = 0;      // data bytes still to come in it
  std::size_t digits_ = 0;
  std::size_t line_ = 0;        // bytes of the current line so far
  bool trailer_empty_ = true;   // the trailer line being read is empty so far
  const char* error_ = "";
};

}  // namespace hms::dock
