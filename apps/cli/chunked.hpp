// HTTP/1.1 chunked transfer coding (RFC 9112 §7.1): an incremental decoder
// with trailers, and the encoder's framing. Pure: bytes in, views out; no
// syscalls. (A shared codec, include/hms/http_body.hpp, is on its way; this
// sits behind the small interface the HTTP client uses, so it can be
// swapped.)
//
// ### Decoding
// Feed bytes as they arrive, from where the last call stopped; each call
// returns one step:
//   data       `data` is body bytes (a view into the input); `consumed`
//              includes them
//   need_more  everything given was consumed; call again with more
//   done       the last chunk and the trailer section are in; `consumed`
//              stops right after the final CRLF (what follows is not ours)
//   error      `error` names why; the stream cannot be resynchronised
// The outcome does not depend on how the input was split (tested at every
// split position). Lines end in CRLF or a bare LF (as the head parser
// accepts). Chunk extensions are skipped.
//
// ### Limits (DoS guards)
// A chunk-size line (size and extensions) is at most 4096 bytes, a size at
// most 15 hex digits (no overflow), the trailer section at most 8192 bytes
// and 64 fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hms::cli {

class ChunkedDecoder {
 public:
  static constexpr std::size_t kMaxLine = 4096;
  static constexpr std::size_t kMaxTrailers = 8192;
  static constexpr std::size_t kMaxTrailerFields = 64;

  struct Step {
    enum class Kind : unsigned char { data, need_more, done, error } kind = Kind::need_more;
    std::size_t consumed = 0;
    std::string_view data;   // kind == data
    const char* error = "";  // kind == error, a static string
  };

  Step next(const char* p, std::size_t n);

  // Trailer fields (names lower-cased, values trimmed), once done.
  const std::vector<std::pair<std::string, std::string>>& trailers() const noexcept { return trailers_; }
  // The value of a trailer field, or nullptr.
  const std::string* trailer(std::string_view lower_name) const noexcept;
  bool finished() const noexcept { return state_ == State::done; }

 private:
  enum class State : unsigned char { size, ext, size_lf, data, data_cr, data_lf, trailer, trailer_lf, done, failed };
  Step fail(const char* why, std::size_t consumed);
  bool end_trailer_line();
  void end_size_line();

  State state_ = State::size;
  std::uint64_t size_ = 0;
  std::size_t digits_ = 0;
  std::size_t line_ = 0;       // bytes of the current size line
  std::uint64_t left_ = 0;     // data bytes left in this chunk
  std::string trailer_line_;   // the trailer line being read
  std::size_t trailer_bytes_ = 0;
  std::vector<std::pair<std::string, std::string>> trailers_;
};

// "<hex size>\r\n" for a chunk of n bytes (n > 0); the chunk's data and
// "\r\n" follow it. The last chunk is kLastChunk (no trailers).
std::string chunk_head(std::size_t n);
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace hms::cli
