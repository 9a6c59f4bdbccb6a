// hms/http.hpp: the HTTP/1.1 heads around the hms transport.
//
// A connecting side sends `CONNECT <path> HTTP/1.1` (a reference dock adds an
// `origin:` header); the server answers with kUpgradeResponse and from the
// next byte both directions carry frames. The same port answers `GET /`.
//
// Pure codec, like picohttpparser: no syscalls, threads, logging, allocation
// or state between calls. Call parse_request_head() with all bytes received
// so far, from the first byte of the connection; it returns need_more until
// the blank line that ends the head is in, then the head's size. Bytes after
// the head already belong to the protocol (frames, or a request body).
//
// ### Three outcomes
// Every call returns exactly one of:
//   complete   `size` = bytes of the head including the blank line
//              (0 < size <= max_size <= len); *out is filled.
//   need_more  no decision yet: every byte seen so far may still begin a
//              valid head, and len <= max_size. *out is not touched.
//   error      the bytes can never become a valid head, whatever follows;
//              `error` names why and `error_offset` (< len) is the offset,
//              from `data`, of the byte that made it so. *out is not touched.
// Errors are reported as soon as the offending bytes are in (reject early),
// not when the blank line arrives. The outcome is stable as bytes are
// appended: once complete, always complete with the same size; once an error,
// always the same error at the same offset. After an error the connection
// cannot be resynchronised; answer 400 (or just close) and drop it.
//
// ### What is accepted (RFC 9112 unless noted)
// - Lines end in CRLF or a bare LF (as Node's parser does; RFC 9112 §2.2
//   allows a recipient to accept a bare LF). A CR not followed by LF is an
//   error (§2.2).
// - Request: empty lines before the request-line are skipped (§2.2). The
//   request-line is exactly `METHOD SP target SP HTTP/1.<digit>` (§3):
//   METHOD is one or more of A-Z, target one or more visible ASCII
//   characters (0x21-0x7E), single spaces.
// - Response: `HTTP/1.<digit> SP 3DIGIT [SP reason]` (§4); the reason may be
//   empty or missing, and may hold SP, HTAB, VCHAR and obs-text.
// - Field lines (§5): `name ":" OWS value OWS`. The name is a token (RFC
//   9110 §5.6.2) matched case-insensitively; no whitespace before the colon
//   (§5.1 says a server MUST reject it); no obs-fold continuation lines
//   (§5.2: we reject). The value is trimmed of leading/trailing SP and HTAB
//   and may hold SP, HTAB, VCHAR and obs-text (0x80-0xFF): every other
//   control character (NUL, DEL, a bare CR, ...) is an error.
// - At most kMaxHeaders field lines, and the whole head within max_size
//   bytes: both are DoS guards (a peer could otherwise make us rescan an
//   endless head on every read).
//
// ### Buffer lifetime
// The string_views in RequestHead/ResponseHead point into the caller's bytes
// [data, data + size). They are valid exactly as long as those bytes are
// neither freed, moved nor overwritten: typically until the receive buffer
// is recycled or compacted. The parser keeps no copy and no state. A view of
// a field that was absent is default-constructed (data() == nullptr); a field
// that was present with an empty value is an empty view into the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hms {

// The reference terminal's exact reply (with its spelling of "Swiching").
inline constexpr std::string_view kUpgradeResponse =
    "HTTP/1.1 101 Swiching Protocols\r\n"
    "Upgrade: hms-protocol\r\n"
    "Connection: Upgrade\r\n\r\n";

// The interim answer to `Expect: 100-continue` (RFC 9110 §15.2.1): a client
// that asked sends the body once it reads this (curl also after 1 s of its
// own). A server that will refuse the request answers the final status
// instead, and need not read the body.
inline constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

// Default limit on a whole head, request-line and blank line included.
inline constexpr std::size_t kMaxHeadSize = 8192;
// Limit on the number of field lines in one head.
inline constexpr std::size_t kMaxHeaders = 64;

enum class HttpStatus : std::uint8_t { complete, need_more, error };

// Why bytes are not an HTTP head. to_string() gives the enumerator's name;
// HttpResult::error_offset says where.
enum class HttpError : std::uint8_t {
  none = 0,
  // More than max_size bytes and no blank line within the first max_size.
  // error_offset == max_size (the first byte past the limit).
  head_too_large,
  // Request: not `METHOD SP target SP HTTP/1.<digit>` followed by a line end
  // (includes a control character or bare CR on the request-line, a
  // lower-case method, HTTP/2 or HTTP/1.10). Offset: the unexpected byte.
  bad_request_line,
  // A field line that is malformed: no ':' or whitespace before it, an empty
  // or non-token name, a continuation line, a control character or bare CR
  // in the value (offset: that byte); a Content-Length that is not 1*DIGIT
  // or overflows size_t (offset: the bad digit, or the value's start when it
  // is empty); in a request a second Host, Origin, Upgrade, Expect,
  // Content-Length or Transfer-Encoding line, in a response a second
  // Content-Length or Transfer-Encoding line (offset: the start of that
  // line). Also a bare CR where the blank line should be.
  bad_header,
  // Field line number kMaxHeaders + 1 begins. Offset: its first byte.
  too_many_headers,
  // Response: not `HTTP/1.<digit> SP 3DIGIT [SP reason]` followed by a line
  // end, or a status below 100. Offset: the unexpected byte (for a status
  // below 100, its first digit).
  bad_status_line,
};
// The enumerator's name ("head_too_large"), or "unknown" for a value outside
// the enum. Never null; a static string.
const char* to_string(HttpError e) noexcept;

// The methods hms acts on; any other well-formed method is `other` (the
// caller answers 405/501 as it likes). Exact, case-sensitive match (RFC 9110
// §9.1: method names are case-sensitive).
enum class HttpMethod : std::uint8_t { connect, get, put, other };

struct RequestHead {
  HttpMethod method = HttpMethod::other;
  std::string_view method_text;  // e.g. "CONNECT"
  std::string_view target;       // e.g. "/" or "/metrics", as sent
  std::string_view origin;       // value of the `origin` header, if any
  std::string_view host;         // value of the `Host` header, if any
  std::string_view upgrade;      // value of the `Upgrade` header, if any
  // Value of `Expect`, if any: "100-continue" (any case, RFC 9110 §10.1.1)
  // asks the server to answer kContinueResponse before the client sends
  // the body; hms/http_body.hpp has expects_continue().
  std::string_view expect;
  // Value of `Transfer-Encoding`, if any. The parser does not act on it. A
  // caller that reads a body (RFC 9112 §6.3): Transfer-Encoding whose last
  // coding is chunked (is_chunked() in hms/http_body.hpp) means a chunked
  // body; any other Transfer-Encoding in a request is answered 400; both
  // Transfer-Encoding and Content-Length ought to be handled as an error
  // (request smuggling); else Content-Length bytes; else no body.
  std::string_view transfer_encoding;
  std::size_t content_length = 0;  // 0 when the header is absent
  bool has_content_length = false;
  std::uint8_t minor_version = 1;  // HTTP/1.<minor_version>
};

struct ResponseHead {
  int status = 0;                  // 100..999
  std::string_view reason;         // as sent, may be empty
  std::uint8_t minor_version = 1;  // HTTP/1.<minor_version>
  // The fields that frame the body, as in RequestHead. A client reads the
  // body (RFC 9112 §6.3): none after HEAD or for 1xx, 204 and 304; chunked
  // when the last transfer coding is chunked; else Content-Length bytes;
  // else until the connection closes. Other fields: find_header().
  std::string_view transfer_encoding;
  std::size_t content_length = 0;  // 0 when the header is absent
  bool has_content_length = false;
};

struct HttpResult {
  HttpStatus status = HttpStatus::need_more;
  std::size_t size = 0;          // complete: bytes of the head incl. blank line
  HttpError error = HttpError::none;   // error: why
  std::size_t error_offset = 0;        // error: where, from `data`
};

// Parses a request head at the start of [data, data + len). Reads at most
// the first min(len, max_size) bytes, never one at or past data + len.
// `data` may be null when len == 0. `out` may be null (only the size is wanted); it is written only
// when the result is complete, and then every field is assigned.
HttpResult parse_request_head(const char* data, std::size_t len, RequestHead* out,
                              std::size_t max_size = kMaxHeadSize) noexcept;

// Parses a response head (the answer to our CONNECT, or to a deploy PUT) at
// the start of [data, data + len). Field lines are validated by the same
// rules as a request's; those that frame the body are returned, any other
// is found with find_header(). Same contract as parse_request_head(); no
// empty lines are skipped before the status-line.
HttpResult parse_response_head(const char* data, std::size_t len, ResponseHead* out,
                               std::size_t max_size = kMaxHeadSize) noexcept;

// The same, for receive buffers of bytes.
inline HttpResult parse_request_head(const std::uint8_t* data, std::size_t len,
                                     RequestHead* out,
                                     std::size_t max_size = kMaxHeadSize) noexcept {
  return parse_request_head(reinterpret_cast<const char*>(data), len, out, max_size);
}
inline HttpResult parse_response_head(const std::uint8_t* data, std::size_t len,
                                      ResponseHead* out,
                                      std::size_t max_size = kMaxHeadSize) noexcept {
  return parse_response_head(reinterpret_cast<const char*>(data), len, out, max_size);
}

// Looks up a field of a head by name, case-insensitively (RFC 9110 §5.1):
// its value, trimmed of OWS, as a view into [head, head + size); the first
// one if the field is repeated; a null view (data() == nullptr) when there
// is none. Precondition: [head, head + size) is a head that
// parse_request_head() or parse_response_head() reported complete, `size`
// its HttpResult::size. Reads nothing outside that range even if the
// precondition is broken (then it may miss the field). Scans the head once
// per call: for the few lookups a caller makes (Location, X-Status), not
// for every field. The view lives as long as the head's bytes.
std::string_view find_header(const char* head, std::size_t size, std::string_view name) noexcept;

// True when the first byte of a stream is meant as HTTP: an ASCII letter
// (a method, or a lower-case attempt at one) or a line end (an empty line
// before the request-line, or a request that is only a blank line). Those
// are answered as HTTP (400 when they are not a valid head), which tells a
// confused client more than a dropped connection. Frame type bytes are
// 0..4; any other byte is left to the frame decoder, which refuses it.
inline bool looks_like_http(std::uint8_t first_byte) noexcept {
  return (first_byte >= 'A' && first_byte <= 'Z') || (first_byte >= 'a' && first_byte <= 'z') ||
         first_byte == '\r' || first_byte == '\n';
}

}  // namespace hms
