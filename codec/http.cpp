// HTTP/1.1 head parser: a single left-to-right scan over the bytes so far.
//
// Why the outcome is stable as bytes are appended (the property the engine
// and the fuzzer rely on): every decision is taken by looking only at bytes
// before the scan position, and the scan stops with "need more" only when it
// reaches the end of what it may look at. Appending bytes therefore replays
// the same decisions up to that point and continues from there.
#include "hms/http.hpp"

#include <cstdint>
#include <limits>

namespace hms {

const char* to_string(HttpError e) noexcept {
  switch (e) {
    case HttpError::none: return "none";
    case HttpError::head_too_large: return "head_too_large";
    case HttpError::bad_request_line: return "bad_request_line";
    case HttpError::bad_header: return "bad_header";
    case HttpError::too_many_headers: return "too_many_headers";
    case HttpError::bad_status_line: return "bad_status_line";
  }
  return "unknown";
}

namespace {

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

// Field names are case-insensitive (RFC 9110 §5.1). `lower` is lower case.
bool name_is(std::string_view name, std::string_view lower) noexcept {
  if (name.size() != lower.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (ascii_lower(static_cast<unsigned char>(name[i])) !=
        static_cast<unsigned char>(lower[i])) {
      return false;
    }
  }
  return true;
}

// ---- The scan.

enum class Step : std::uint8_t { ok, more, fail };

// A cursor over the first `end` bytes of the input, end = min(len, max_size).
// Reaching `end` means "more" (the caller turns it into head_too_large when
// the input went on past max_size).
struct Scan {
  const unsigned char* b;
  std::size_t pos;
  std::size_t end;
  HttpError error = HttpError::none;
  std::size_t error_offset = 0;

  bool at_end() const noexcept { return pos == end; }
  unsigned char peek() const noexcept { return b[pos]; }
  Step fail(HttpError e, std::size_t at) noexcept {
    error = e;
    error_offset = at;
    return Step::fail;
  }
  std::string_view view(std::size_t from, std::size_t to) const noexcept {
    return {reinterpret_cast<const char*>(b) + from, to - from};
  }

  // Consumes a line end: CRLF, or a bare LF. A CR followed by anything else
  // is a bare CR, which RFC 9112 §2.2 lets us treat as invalid.
  Step eol(HttpError e) noexcept {
    if (at_end()) return Step::more;
    if (peek() == '\n') {
      ++pos;
      return Step::ok;
    }
    if (peek() != '\r') return fail(e, pos);
    if (pos + 1 == end) return Step::more;
    if (b[pos + 1] != '\n') return fail(e, pos);
    pos += 2;
    return Step::ok;
  }

  // Matches a literal byte by byte, so a prefix of it is "more", not an error.
  Step literal(std::string_view lit, HttpError e) noexcept {
    for (const char ch : lit) {
      if (at_end()) return Step::more;
      if (peek() != static_cast<unsigned char>(ch)) return fail(e, pos);
      ++pos;
    }
    return Step::ok;
  }

  // "HTTP/1." DIGIT (RFC 9112 §2.3). Only major version 1 is HTTP/1.x; the
  // minor version is a single digit, so "HTTP/1.10" fails on its next byte.
  Step version(HttpError e, std::uint8_t* minor) noexcept {
    // HTTP-name is case-sensitive (RFC 9112 §2.3).
    if (const Step s = literal("HTTP/1.", e); s != Step::ok) return s;
    if (at_end()) return Step::more;
    if (!is_digit(peek())) return fail(e, pos);
    *minor = static_cast<std::uint8_t>(peek() - '0');
    ++pos;
    return Step::ok;
  }
};

// One field line, handed to the caller's sink once its value is complete.
struct Field {
  std::string_view name;
  std::string_view value;       // trimmed of OWS
  std::size_t line_offset = 0;  // where the name begins
  std::size_t value_offset = 0; // where the trimmed value begins
};

// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5), then the
// blank line that ends the head. `sink(const Field&, Scan&)` returns
// Step::ok or a Scan::fail() result.
template <class Sink>
Step scan_fields(Scan& s, Sink&& sink) {
  std::size_t count = 0;
  for (;;) {
    if (s.at_end()) return Step::more;
    const unsigned char c = s.peek();
    if (c == '\r' || c == '\n') return s.eol(HttpError::bad_header);  // blank line
    // Decided at the first byte of the excess line, before it is scanned:
    // that is the earliest moment we know there is one more.
    if (count == kMaxHeaders) return s.fail(HttpError::too_many_headers, s.pos);
    // A line starting with whitespace is obs-fold (a continuation of the
    // previous value); RFC 9112 §5.2 lets a server reject it, which also
    // keeps every value one contiguous view.
    if (is_ows(c)) return s.fail(HttpError::bad_header, s.pos);

    Field f;
    f.line_offset = s.pos;
    while (!s.at_end() && is_tchar(s.peek())) ++s.pos;
    if (s.at_end()) return Step::more;
    // Empty name, a non-token byte, or whitespace before the colon: RFC 9112
    // §5.1 says a server MUST reject the last (it enables smuggling).
    if (s.pos == f.line_offset || s.peek() != ':') return s.fail(HttpError::bad_header, s.pos);
    f.name = s.view(f.line_offset, s.pos);
    ++s.pos;

    while (!s.at_end() && is_ows(s.peek())) ++s.pos;
    f.value_offset = s.pos;
    std::size_t value_end = s.pos;  // one past the last non-OWS byte
    while (!s.at_end()) {
      const unsigned char v = s.peek();
      if (v == '\r' || v == '\n') break;
      if (is_field_vchar(v)) {
        value_end = s.pos + 1;
      } else if (!is_ows(v)) {
        // NUL, DEL and the other controls are not field content
        // (RFC 9110 §5.5); Node rejects them too.
        return s.fail(HttpError::bad_header, s.pos);
      }
      ++s.pos;
    }
    if (s.at_end()) return Step::more;
    f.value = s.view(f.value_offset, value_end);
    ++count;
    if (const Step r = sink(f, s); r != Step::ok) return r;
    if (const Step r = s.eol(HttpError::bad_header); r != Step::ok) return r;
  }
}

// Content-Length = 1*DIGIT (RFC 9110 §8.6). A list ("5, 5") is refused, as
// llhttp does; so is anything that does not fit a size_t.
Step parse_content_length(Scan& s, const Field& f, std::size_t* out) {
  if (f.value.empty()) return s.fail(HttpError::bad_header, f.value_offset);
  std::size_t v = 0;
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  for (std::size_t i = 0; i < f.value.size(); ++i) {
    const auto c = static_cast<unsigned char>(f.value[i]);
    if (!is_digit(c)) return s.fail(HttpError::bad_header, f.value_offset + i);
    const std::size_t d = c - '0';
    if (v > (kMax - d) / 10) return s.fail(HttpError::bad_header, f.value_offset + i);
    v = v * 10 + d;
  }
  *out = v;
  return Step::ok;
}

// The fields we return as one view may appear once. Two Host lines MUST be
// refused (RFC 9112 §3.2); two Content-Length lines are refused as llhttp
// does (RFC 9112 §6.3); for the others there is no single value to pick
// without joining them, which would allocate.
Step set_once(Scan& s, const Field& f, std::string_view* slot) {
  if (slot->data() != nullptr) return s.fail(HttpError::bad_header, f.line_offset);
  *slot = f.value;
  return Step::ok;
}

HttpMethod method_of(std::string_view m) noexcept {
  if (m == "CONNECT") return HttpMethod::connect;
  if (m == "GET") return HttpMethod::get;
  if (m == "PUT") return HttpMethod::put;
  return HttpMethod::other;
}

Step scan_request(Scan& s, RequestHead* h) {
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line received
  // before the request-line (left over from a previous message's body).
  for (;;) {
    if (s.at_end()) return Step::more;
    const unsigned char c = s.peek();
    if (c != '\r' && c != '\n') break;
    if (const Step r = s.eol(HttpError::bad_request_line); r != Step::ok) return r;
  }

  // request-line = method SP request-target SP HTTP-version (RFC 9112 §3).
  // We take single spaces only (§3 allows, but does not require, a lenient
  // parser) and methods in upper case, as every method hms meets is.
  const std::size_t method_start = s.pos;
  while (!s.at_end() && is_upper(s.peek())) ++s.pos;
  if (s.at_end()) return Step::more;
  if (s.pos == method_start || s.peek() != ' ') {
    return s.fail(HttpError::bad_request_line, s.pos);
  }
  h->method_text = s.view(method_start, s.pos);
  h->method = method_of(h->method_text);
  ++s.pos;

  // request-target: any visible ASCII (RFC 9112 §3.2; a URI has no controls,
  // spaces or bytes above 0x7E). CONNECT's authority-form is not enforced:
  // the reference sends "/".
  const std::size_t target_start = s.pos;
  while (!s.at_end() && is_vchar(s.peek())) ++s.pos;
  if (s.at_end()) return Step::more;
  if (s.pos == target_start || s.peek() != ' ') {
    return s.fail(HttpError::bad_request_line, s.pos);
  }
  h->target = s.view(target_start, s.pos);
  ++s.pos;

  if (const Step r = s.version(HttpError::bad_request_line, &h->minor_version); r != Step::ok) {
    return r;
  }
  if (const Step r = s.eol(HttpError::bad_request_line); r != Step::ok) return r;

  return scan_fields(s, [h](const Field& f, Scan& sc) -> Step {
    if (name_is(f.name, "host")) return set_once(sc, f, &h->host);
    if (name_is(f.name, "origin")) return set_once(sc, f, &h->origin);
    if (name_is(f.name, "upgrade")) return set_once(sc, f, &h->upgrade);
    if (name_is(f.name, "transfer-encoding")) return set_once(sc, f, &h->transfer_encoding);
    if (name_is(f.name, "content-length")) {
      if (h->has_content_length) return sc.fail(HttpError::bad_header, f.line_offset);
      h->has_content_length = true;
      return parse_content_length(sc, f, &h->content_length);
    }
    return Step::ok;
  });
}

Step scan_response(Scan& s, ResponseHead* h) {
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]
  // (RFC 9112 §4). A missing SP before an empty reason is accepted, as
  // picohttpparser and Node do; clients ignore the reason anyway.
  if (const Step r = s.version(HttpError::bad_status_line, &h->minor_version); r != Step::ok) {
    return r;
  }
  if (const Step r = s.literal(" ", HttpError::bad_status_line); r != Step::ok) return r;
  int status = 0;
  for (int i = 0; i < 3; ++i) {  // status-code = 3DIGIT
    if (s.at_end()) return Step::more;
    if (!is_digit(s.peek())) return s.fail(HttpError::bad_status_line, s.pos);
    status = status * 10 + (s.peek() - '0');
    ++s.pos;
  }
  // status-code is 3DIGIT, but RFC 9110 §15 only defines 100..599 and any
  // first digit 0 is meaningless; refuse 000..099.
  if (status < 100) return s.fail(HttpError::bad_status_line, s.pos - 3);
  h->status = status;

  if (s.at_end()) return Step::more;
  const std::size_t after_code = s.pos;
  if (s.peek() == ' ') {
    ++s.pos;
    // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
    while (!s.at_end() && (is_field_vchar(s.peek()) || is_ows(s.peek()))) ++s.pos;
    if (s.at_end()) return Step::more;
    h->reason = s.view(after_code + 1, s.pos);
  } else {
    h->reason = s.view(after_code, after_code);
  }
  if (const Step r = s.eol(HttpError::bad_status_line); r != Step::ok) return r;

  // The fields are checked (a malformed one means a broken or hostile peer)
  // but not kept: an hms client acts on the status alone.
  return scan_fields(s, [](const Field&, Scan&) { return Step::ok; });
}

HttpResult finish(Step step, const Scan& s, std::size_t len) noexcept {
  HttpResult r;
  switch (step) {
    case Step::ok:
      r.status = HttpStatus::complete;
      r.size = s.pos;
      break;
    case Step::more:
      // The scan stopped at `end`: if that is the limit and not the input's
      // end, the head cannot end within max_size bytes.
      if (s.end < len) {
        r.status = HttpStatus::error;
        r.error = HttpError::head_too_large;
        r.error_offset = s.end;
      }
      break;
    case Step::fail:
      r.status = HttpStatus::error;
      r.error = s.error;
      r.error_offset = s.error_offset;
      break;
  }
  return r;
}

Scan make_scan(const char* data, std::size_t len, std::size_t max_size) noexcept {
  return Scan{reinterpret_cast<const unsigned char*>(data), 0, len < max_size ? len : max_size};
}

}  // namespace

HttpResult parse_request_head(const char* data, std::size_t len, RequestHead* out,
                              std::size_t max_size) noexcept {
  Scan s = make_scan(data, len, max_size);
  RequestHead h;  // filled in place, copied out only when complete
  const HttpResult r = finish(scan_request(s, &h), s, len);
  if (r.status == HttpStatus::complete && out != nullptr) *out = h;
  return r;
}

HttpResult parse_response_head(const char* data, std::size_t len, ResponseHead* out,
                               std::size_t max_size) noexcept {
  Scan s = make_scan(data, len, max_size);
  ResponseHead h;
  const HttpResult r = finish(scan_response(s, &h), s, len);
  if (r.status == HttpStatus::complete && out != nullptr) *out = h;
  return r;
}

}  // namespace hms
