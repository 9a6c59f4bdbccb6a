// codec/http_scan.hpp: the HTTP/1.1 grammar pieces that heads (http.cpp)
// and chunked trailers (http_body.cpp) share: character classes, line ends
// and one field line. Internal: not installed.
//
// Every scanner works on b[pos, end) and answers one of three steps: ok
// (pos moved past what was scanned), more (it reached `end` while every byte
// so far could still be valid; pos is unspecified), or fail (`bad` is the
// offset of the byte that can never be valid). They decide only on bytes
// before `end` and never read b[end], which is what keeps the callers'
// outcomes stable as bytes are appended.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hms::detail {

// ---- Character classes (RFC 9110 §5.6.2, §5.5; RFC 5234 B.1).

constexpr bool is_upper(unsigned char c) noexcept { return c >= 'A' && c <= 'Z'; }
constexpr bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_ows(unsigned char c) noexcept { return c == ' ' || c == '\t'; }
// VCHAR: visible ASCII, 0x21-0x7E.
constexpr bool is_vchar(unsigned char c) noexcept { return c >= 0x21 && c <= 0x7E; }
// field-vchar = VCHAR / obs-text (0x80-0xFF). Everything below 0x21 and DEL
// is a control character or space.
constexpr bool is_field_vchar(unsigned char c) noexcept { return is_vchar(c) || c >= 0x80; }

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
//         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
constexpr bool is_tchar(unsigned char c) noexcept {
  if ((c >= 'a' && c <= 'z') || is_upper(c) || is_digit(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

constexpr unsigned char ascii_lower(unsigned char c) noexcept {
  return is_upper(c) ? static_cast<unsigned char>(c + ('a' - 'A')) : c;
}

// Field names (and the tokens 'chunked', '100-continue') are
// case-insensitive (RFC 9110 §5.1).
constexpr bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(static_cast<unsigned char>(a[i])) !=
        ascii_lower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

enum class Step : std::uint8_t { ok, more, fail };

// A line end: CRLF, or a bare LF (as Node's parser accepts; RFC 9112 §2.2
// allows a recipient to). A CR followed by anything else is a bare CR, which
// §2.2 lets us treat as invalid: fail at the CR.
inline Step scan_eol(const unsigned char* b, std::size_t& pos, std::size_t end,
                     std::size_t& bad) noexcept {
  if (pos == end) return Step::more;
  if (b[pos] == '\n') {
    ++pos;
    return Step::ok;
  }
  if (b[pos] != '\r') {
    bad = pos;
    return Step::fail;
  }
  if (pos + 1 == end) return Step::more;
  if (b[pos + 1] != '\n') {
    bad = pos;
    return Step::fail;
  }
  pos += 2;
  return Step::ok;
}

// One field line up to (not including) its line end.
struct FieldLine {
  std::string_view name;
  std::string_view value;        // trimmed of OWS
  std::size_t line_offset = 0;   // where the name begins
  std::size_t value_offset = 0;  // where the trimmed value begins
};

// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). ok: `pos`
// is at the CR or LF that ends the line, `f` is filled.
//  - The name is a token: an empty name or a non-token byte fails there.
//    That covers whitespace before the colon, which RFC 9112 §5.1 says a
//    server MUST reject (it enables smuggling), and a line starting with
//    whitespace: obs-fold (§5.2 lets a recipient reject it, which also
//    keeps every value one contiguous view).
//  - The value may hold SP, HTAB, VCHAR and obs-text; NUL, DEL and the
//    other controls are not field content (RFC 9110 §5.5; Node rejects them
//    too) and fail there.
inline Step scan_field_line(const unsigned char* b, std::size_t& pos, std::size_t end,
                            FieldLine& f, std::size_t& bad) noexcept {
  f.line_offset = pos;
  while (pos != end && is_tchar(b[pos])) ++pos;
  if (pos == end) return Step::more;
  if (pos == f.line_offset || b[pos] != ':') {
    bad = pos;
    return Step::fail;
  }
  f.name = {reinterpret_cast<const char*>(b) + f.line_offset, pos - f.line_offset};
  ++pos;

  while (pos != end && is_ows(b[pos])) ++pos;
  f.value_offset = pos;
  std::size_t value_end = pos;  // one past the last non-OWS byte
  while (pos != end) {
    const unsigned char v = b[pos];
    if (v == '\r' || v == '\n') break;
    if (is_field_vchar(v)) {
      value_end = pos + 1;
    } else if (!is_ows(v)) {
      bad = pos;
      return Step::fail;
    }
    ++pos;
  }
  if (pos == end) return Step::more;
  f.value = {reinterpret_cast<const char*>(b) + f.value_offset, value_end - f.value_offset};
  return Step::ok;
}

}  // namespace hms::detail
