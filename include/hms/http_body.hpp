// hms/http_body.hpp: HTTP/1.1 message bodies (RFC 9112 §6, §7.1), for
// deploy: a client PUTs a gzip tarball to the hub (chunked from Node's
// http.request, Content-Length from `curl -T`), and the hub streams the
// build's output back chunked, ending with an `X-Status` trailer.
//
// Pure codec, like hms/http.hpp: no syscalls, threads, logging or
// allocation. The decoders are incremental: the caller keeps a small state
// (ChunkedState, LengthState) per body and hands each call whatever bytes it
// has; results are views into those bytes.
//
// ### Which body (RFC 9112 §6.3)
// After a head from hms/http.hpp: a Transfer-Encoding whose last coding is
// chunked (is_chunked()) means decode_chunked(); in a request, any other
// Transfer-Encoding is answered 400, and Transfer-Encoding together with
// Content-Length is best refused too (request smuggling). Otherwise
// Content-Length bytes (decode_length()); otherwise a request has no body
// and a response runs until the connection closes. A response to HEAD, and
// 1xx, 204 and 304 responses, have no body whatever the head says. A request
// with `Expect: 100-continue` (expects_continue()) waits for
// kContinueResponse before it sends its body.
//
// ### One item per call, three outcomes kept apart
// decode_chunked(state, data, len) returns exactly one of:
//   data       `bytes` is the next piece of body data: a non-empty view into
//              [data, data + consumed). A chunk may come in many pieces
//              (as its bytes arrive); pieces carry no chunk boundaries.
//   trailer    one trailer field: `name` and `value` (trimmed of OWS) are
//              views into [data, data + consumed). Fields come in the order
//              sent; a repeated name comes again. The decoder does not act
//              on any of them (RFC 9110 §6.5.1: a recipient must not treat
//              a trailer as a header field unless it knows it is safe).
//   complete   the body is over: `consumed` runs through the blank line
//              that ends the trailer section. Bytes after it belong to the
//              next message. Later calls return complete, consuming 0.
//   need_more  every byte so far may still begin a valid body. The caller
//              drops `consumed` bytes, keeps the rest [data + consumed,
//              data + len) and calls again with them followed by new bytes.
//              What is kept is a partial trailer line (at most
//              max_trailer_size bytes) or one CR whose LF is not in yet;
//              everything else is consumed as it arrives, so a body of any
//              size streams through a small buffer.
//   error      the bytes can never be a valid chunked body, whatever
//              follows: `error` says why and `error_offset` (< len) is the
//              offset, from `data`, of the byte that made it so. Nothing is
//              consumed and the state stays failed: later calls return the
//              same error with error_offset 0. Answer 400 and close.
// After data and trailer, call again with [data + consumed, data + len).
// The result does not depend on how the body was split across calls: the
// same data bytes in the same order, the same trailers, complete or the same
// error at the same position of the body (state.position() before the call
// + error_offset). Errors are reported as soon as the offending byte is in
// (reject early).
//
// ### What is accepted
// - chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; chunk-size is
//   1*HEXDIG, any case, leading zeros allowed, at most
//   ChunkedLimits::max_chunk_size (checked digit by digit, so it cannot
//   overflow). last-chunk = 1*"0" [ chunk-ext ] CRLF.
// - chunk-ext = *( BWS ";" BWS ext... ): accepted and ignored. After the
//   size, SP/HTAB are allowed only before a ';'; after the ';' any of SP,
//   HTAB, VCHAR and obs-text, up to the line end. The whole chunk-size line
//   is bounded by max_line (a DoS guard: extensions are never returned).
// - Line ends are CRLF or a bare LF, as in hms/http.hpp. A CR not followed
//   by LF is an error at the CR.
// - The trailer section is field lines by the rules of a head's (token
//   name, no whitespace before ':', no obs-fold, no control characters in
//   the value), then a blank line; at most max_trailers fields and
//   max_trailer_size bytes in all, blank line included.
//
// ### Buffer lifetime
// Every view in a BodyResult points into the `data` of the call that
// returned it and lives as long as those bytes are neither freed, moved nor
// overwritten. The states hold no pointers: they may be copied and moved
// freely, and the input buffer may be recycled between calls (keeping the
// unconsumed bytes, as need_more says).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hms/http.hpp"

namespace hms {

// True when the last transfer coding of a Transfer-Encoding value is
// `chunked` (any case; OWS and empty list elements ignored): "chunked",
// "gzip, chunked". False for an empty (absent) value and for "chunked,
// gzip", whose body is not chunked-delimited at all.
bool is_chunked(std::string_view transfer_encoding) noexcept;

// True when an Expect value is `100-continue` (any case, RFC 9110 §10.1.1).
bool expects_continue(std::string_view expect) noexcept;

// Default for ChunkedLimits::max_chunk_size. Data streams through (a chunk
// is never buffered whole), so this only bounds what a size may claim;
// streaming senders write far smaller chunks (Node: one per write, curl:
// 64 KiB).
inline constexpr std::uint64_t kDefaultMaxChunkSize = std::uint64_t{64} << 20;

struct ChunkedLimits {
  std::uint64_t max_chunk_size = kDefaultMaxChunkSize;
  // Bytes in one chunk-size line, extensions and line end included.
  std::size_t max_line = 1024;
  std::size_t max_trailers = kMaxHeaders;        // trailer fields
  std::size_t max_trailer_size = kMaxHeadSize;   // trailer section bytes
};

enum class BodyStatus : std::uint8_t { data, trailer, complete, need_more, error };

// Why bytes are not a chunked body. to_string() gives the enumerator's name;
// BodyResult::error_offset says where.
enum class BodyError : std::uint8_t {
  none = 0,
  // A chunk-size line that does not start with a hex digit, or whose size
  // is followed by something other than a ';' (after optional SP/HTAB) or
  // a line end; a bare CR after the size. Offset: that byte.
  bad_chunk_size,
  // A chunk size above max_chunk_size. Offset: the digit that passed it.
  chunk_too_large,
  // A byte in a chunk extension that is not SP, HTAB, VCHAR or obs-text
  // (NUL, DEL, a bare CR, ...). Offset: that byte.
  bad_chunk_extension,
  // A chunk-size line longer than max_line, line end included. Offset: the
  // first byte past the limit.
  chunk_line_too_long,
  // Chunk data not followed by a line end (the size lied). Offset: the byte
  // where the line end should be, or the bare CR.
  bad_chunk_end,
  // A malformed trailer field line (as HttpError::bad_header: no ':' or
  // whitespace before it, an empty or non-token name, obs-fold, a control
  // character or bare CR in the value), or a bare CR where the blank line
  // should be. Offset: that byte.
  bad_trailer,
  // Trailer field number max_trailers + 1 begins. Offset: its first byte.
  too_many_trailers,
  // The trailer section does not end within max_trailer_size bytes.
  // Offset: the first byte past the limit.
  trailers_too_large,
};
// The enumerator's name ("bad_chunk_size"), or "unknown" for a value
// outside the enum. Never null; a static string.
const char* to_string(BodyError e) noexcept;

struct BodyResult {
  BodyStatus status = BodyStatus::need_more;
  std::size_t consumed = 0;        // bytes of this call's input used
  std::string_view bytes;          // data: the body bytes
  std::string_view name;           // trailer: field name, as sent
  std::string_view value;          // trailer: field value, trimmed
  BodyError error = BodyError::none;  // error: why
  std::size_t error_offset = 0;       // error: where, from `data`
};

// Where a chunked body stands. Value-initialised ({}) it is the start of a
// body; use a fresh one per body. Holds no pointers.
class ChunkedState {
 public:
  // Bytes consumed since the start of the body.
  std::uint64_t position() const noexcept { return position_; }
  bool complete() const noexcept { return stage_ == Stage::done; }
  bool failed() const noexcept { return stage_ == Stage::failed; }

 private:
  friend BodyResult decode_chunked(ChunkedState&, const char*, std::size_t,
                                   const ChunkedLimits&) noexcept;
  enum class Stage : std::uint8_t { size_first, size, size_ws, ext, data, data_end, trailers,
                                    done, failed };
  std::uint64_t position_ = 0;
  std::uint64_t size_ = 0;     // chunk size being read, then data bytes left
  std::size_t line_ = 0;       // bytes of the chunk-size line / trailer section so far
  std::size_t trailers_ = 0;   // trailer fields so far
  Stage stage_ = Stage::size_first;
  BodyError error_ = BodyError::none;
};

// Decodes the next item of a chunked body from [data, data + len) (see
// "One item per call" above). Reads no byte at or past data + len; `data`
// may be null when len == 0. Pass the same limits on every call for one
// body.
BodyResult decode_chunked(ChunkedState& state, const char* data, std::size_t len,
                          const ChunkedLimits& limits = {}) noexcept;
inline BodyResult decode_chunked(ChunkedState& state, const std::uint8_t* data,
                                 std::size_t len, const ChunkedLimits& limits = {}) noexcept {
  return decode_chunked(state, reinterpret_cast<const char*>(data), len, limits);
}

// A Content-Length body is a count: `remaining` starts at the head's
// content_length and goes down as data is taken.
struct LengthState {
  std::uint64_t remaining = 0;
};

// The same items as decode_chunked(), for a Content-Length body, so one
// loop reads either: data (the next min(len, remaining) bytes; consumed is
// that count), complete (remaining is 0; consumed 0; bytes after belong to
// the next message), or need_more (len == 0 and bytes still to come; a
// connection that closes then has cut the body short). Never an error.
BodyResult decode_length(LengthState& state, const char* data, std::size_t len) noexcept;

// ---- Encoding, into caller memory (the data itself goes out as its own
// iovec, between a chunk header and kChunkEnd).

// The most bytes encode_chunk_header() writes: 16 hex digits and CRLF.
inline constexpr std::size_t kMaxChunkHeader = 18;
// What follows the data of each chunk.
inline constexpr std::string_view kChunkEnd = "\r\n";

// Writes the chunk-size line "<hex>\r\n" for a chunk of `size` bytes into
// `out`, which must hold kMaxChunkHeader bytes: lowercase hex without
// leading zeros, as Node writes it. Returns the bytes written; 0, writing
// nothing, when size is 0 (a zero size is the last-chunk, which ends the
// body: encode_last_chunk()).
std::size_t encode_chunk_header(char* out, std::uint64_t size) noexcept;

// A field to write, e.g. {"X-Status", "0"}.
struct HttpField {
  std::string_view name;
  std::string_view value;
};

// Bytes encode_last_chunk() writes for these trailers: "0\r\n", then
// "name: value\r\n" for each, then "\r\n" (Node's layout).
std::size_t last_chunk_size(const HttpField* trailers, std::size_t count) noexcept;

// Writes the last-chunk and the trailer section into [out, out + cap):
// with {"X-Status", "0"} that is "0\r\nX-Status: 0\r\n\r\n". Returns the
// bytes written (last_chunk_size()); 0, writing nothing, when cap is too
// small or a trailer would not read back as sent: a name that is empty or
// not a token, a value with a control character other than HTAB (a CR or
// LF would let a value inject fields), or with leading or trailing SP/HTAB.
// `trailers` may be null when count == 0.
std::size_t encode_last_chunk(char* out, std::size_t cap, const HttpField* trailers,
                              std::size_t count) noexcept;

}  // namespace hms
