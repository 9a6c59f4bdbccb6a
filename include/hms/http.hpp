// hms/http.hpp: the HTTP/1.1 heads around the hms transport.
//
// A connecting side sends `CONNECT <path> HTTP/1.1` (a reference dock adds an
// `origin:` header); the server answers with kUpgradeResponse and from the
// next byte both directions carry frames. The same port answers `GET /`.
//
// Incremental and pure: call parse_request_head() with all bytes received so
// far; it returns need_more until the blank line is in, then the head's size.
// Bytes after the head already belong to the protocol.
//
// ### Buffer lifetime
// The string_views in RequestHead/ResponseHead point into the caller's bytes
// and die with them.
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

inline constexpr std::size_t kMaxHeadSize = 8192;
inline constexpr std::size_t kMaxHeaders = 64;

enum class HttpStatus : std::uint8_t { complete, need_more, error };

enum class HttpError : std::uint8_t {
  none = 0,
  head_too_large,    // no blank line within the size limit
  bad_request_line,  // not "METHOD SP target SP HTTP/1.x"
  bad_header,        // header line without ':' or with bad characters
  too_many_headers,
  bad_status_line,   // response: not "HTTP/1.x NNN ..."
};
const char* to_string(HttpError e) noexcept;

enum class HttpMethod : std::uint8_t { connect, get, put, other };

struct RequestHead {
  HttpMethod method = HttpMethod::other;
  std::string_view method_text;
  std::string_view target;       // e.g. "/" or "/metrics"
  std::string_view origin;       // value of the `origin` header, if any
  std::string_view host;         // value of the `Host` header, if any
  std::string_view upgrade;      // value of the `Upgrade` header, if any
  std::size_t content_length = 0;
  std::uint8_t minor_version = 1;
};

struct ResponseHead {
  int status = 0;
  std::string_view reason;
};

struct HttpResult {
  HttpStatus status = HttpStatus::need_more;
  std::size_t size = 0;          // complete: bytes of the head incl. blank line
  HttpError error = HttpError::none;
  std::size_t error_offset = 0;
};

// Header names compare case-insensitively; lines end in CRLF (a bare LF is
// accepted, as Node's parser does).
HttpResult parse_request_head(const char* data, std::size_t len, RequestHead* out,
                              std::size_t max_size = kMaxHeadSize) noexcept;
HttpResult parse_response_head(const char* data, std::size_t len, ResponseHead* out,
                               std::size_t max_size = kMaxHeadSize) noexcept;

// True when the first bytes of a stream can only be an HTTP request (an
// ASCII method letter), false when they are a raw frame (type byte 0..4).
inline bool looks_like_http(std::uint8_t first_byte) noexcept {
  return first_byte >= 'A' && first_byte <= 'Z';
}

}  // namespace hms
