// The page's text helpers: JSON escaping of log bytes, and the few pieces
// of HTTP text the routes read (percent-escapes, a form field, a cookie, a
// bearer token, the bytes of a parsed head).
//
// Pure, like codec/: no I/O, no threads, no logging; nothing here throws
// except std::bad_alloc from the std::string outputs. Every function takes
// any bytes (hostile input included) and never reads outside them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "hms/http.hpp"

namespace hms::hub::web {

// ---- JSON strings from log bytes.
//
// A dock's stdout/stderr payload is raw bytes, never promised to be text.
// The page gets it as a JSON string, so every byte must become text:
//   - valid UTF-8 is copied as it is (U+2028 and U+2029 included: JSON
//     allows them, and so does JavaScript since ES2019);
//   - '"' and '\' are escaped; \b \f \n \r \t get their short escapes, the
//     other bytes below 0x20 are written \u00XX (DEL stays as it is);
//   - bytes that are not UTF-8 become U+FFFD, one per maximal subpart of an
//     ill-formed sequence: what the WHATWG decoder (a browser's TextDecoder)
//     shows for the same bytes. It is written as the escape \ufffd, so
//     binary output stays ASCII on the wire. The original bytes are lost:
//     the page is a viewer; a protocol client gets them exactly.
// A character split across two frames (a dock reads its pipe in chunks)
// shows as U+FFFD on both sides: each frame is escaped on its own.
//
// Writes the escaped form of [in, in + n) to `out` (no quotes around it),
// which must have room for json_escape_bound(n) bytes; returns the bytes
// written. No output byte is CR or LF (an event-stream line stays one line).
// An input byte becomes at most 6 output bytes; the bound has 8 more,
// because each character's text is stored as one 8-byte move (the bytes
// past its end are scratch, overwritten or left beyond the returned size).
inline constexpr std::size_t json_escape_bound(std::size_t n) noexcept { return 6 * n + 8; }
std::size_t json_escape(char* out, const unsigned char* in, std::size_t n) noexcept;
// The same, appended to a string.
void append_json_escaped(std::string& out, std::string_view in);

// ---- HTTP text.

// Decodes %XX escapes (any case); with plus_is_space '+' means ' ' (form
// bodies). False, leaving *out unspecified, on a '%' not followed by two hex
// digits.
bool percent_decode(std::string_view in, std::string* out, bool plus_is_space);

// The decoded value of field `name` in an application/x-www-form-urlencoded
// body ("a=1&token=x%20y"): the first one; nullopt when it is absent or its
// escapes are bad.
std::optional<std::string> form_field(std::string_view body, std::string_view name);

// The value of cookie `name` in a Cookie header value ("a=1; hms_session=x"),
// or a null view (data() == nullptr). A value in double quotes is returned
// without them.
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

// The token of an Authorization value "Bearer <token>" (scheme in any case,
// RFC 6750 §2.1), or a null view for any other value.
std::string_view bearer_token(std::string_view authorization);

// The bytes of a request head that parse_request_head() reported complete,
// from its request-line through the blank line: what find_header() wants.
// The views of a RequestHead point into those bytes, so they are found from
// the head itself. Valid while the head's bytes are (during the takeover
// call).
std::string_view head_bytes(const RequestHead& head) noexcept;

}  // namespace hms::hub::web
