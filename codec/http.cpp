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

#include "http_scan.hpp"

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

using namespace detail;

// ---- The scan.

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

  // Consumes a line end (CRLF or a bare LF); anything else fails with `e`.
  Step eol(HttpError e) noexcept {
    std::size_t bad = 0;
    const Step r = scan_eol(b, pos, end, bad);
    return r == Step::fail ? fail(e, bad) : r;
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

// Field lines, then the blank line that ends the head (RFC 9112 §5). Each
// line goes to `sink(const FieldLine&, Scan&)` once its value is complete
// and before its line end; the sink returns Step::ok or a Scan::fail()
// result.
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
    FieldLine f;
    std::size_t bad = 0;
    const Step line = scan_field_line(s.b, s.pos, s.end, f, bad);
    if (line == Step::fail) return s.fail(HttpError::bad_header, bad);
    if (line == Step::more) return Step::more;
    ++count;
    if (const Step r = sink(f, s); r != Step::ok) return r;
    if (const Step r = s.eol(HttpError::bad_header); r != Step::ok) return r;
  }
}

// Content-Length = 1*DIGIT (RFC 9110 §8.6). A list ("5, 5") is refused, as
// llhttp does; so is anything that does not fit a size_t.
Step parse_content_length(Scan& s, const FieldLine& f, std::size_t* out) {
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
Step set_once(Scan& s, const FieldLine& f, std::string_view* slot) {
  if (slot->data() != nullptr) return s.fail(HttpError::bad_header, f.line_offset);
  *slot = f.value;
  return Step::ok;
}

// The two fields that frame a body, in a request or a response (RFC 9112
// §6.3); every other name is left alone (Step::ok).
struct BodyFraming {
  std::string_view* transfer_encoding;
  std::size_t* content_length;
  bool* has_content_length;
};
Step framing_field(Scan& s, const FieldLine& f, BodyFraming out) {
  if (equals_ignoring_case(f.name, "transfer-encoding")) {
    return set_once(s, f, out.transfer_encoding);
  }
  if (equals_ignoring_case(f.name, "content-length")) {
    if (*out.has_content_length) return s.fail(HttpError::bad_header, f.line_offset);
    *out.has_content_length = true;
    return parse_content_length(s, f, out.content_length);
  }
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
  // before the request-line (left over from a previous message's body). We
  // ignore exactly one: a second is a request that is only a blank line,
  // which deserves a 400 rather than a wait for a request-line.
  if (s.at_end()) return Step::more;
  if (s.peek() == '\r' || s.peek() == '\n') {
    if (const Step r = s.eol(HttpError::bad_request_line); r != Step::ok) return r;
    if (s.at_end()) return Step::more;
    if (s.peek() == '\r' || s.peek() == '\n') return s.fail(HttpError::bad_request_line, s.pos);
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

  return scan_fields(s, [h](const FieldLine& f, Scan& sc) -> Step {
    if (equals_ignoring_case(f.name, "host")) return set_once(sc, f, &h->host);
    if (equals_ignoring_case(f.name, "origin")) return set_once(sc, f, &h->origin);
    if (equals_ignoring_case(f.name, "upgrade")) return set_once(sc, f, &h->upgrade);
    if (equals_ignoring_case(f.name, "expect")) return set_once(sc, f, &h->expect);
    return framing_field(sc, f, {&h->transfer_encoding, &h->content_length,
                                 &h->has_content_length});
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

  // Every field is checked (a malformed one means a broken or hostile
  // peer); those that frame the body are kept, the rest are found with
  // find_header().
  return scan_fields(s, [h](const FieldLine& f, Scan& sc) -> Step {
    return framing_field(sc, f, {&h->transfer_encoding, &h->content_length,
                                 &h->has_content_length});
  });
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

std::string_view find_header(const char* head, std::size_t size, std::string_view name) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(head);
  std::size_t pos = 0;
  std::size_t bad = 0;
  // Skip the empty lines a request may start with, then the start line.
  while (pos != size && (b[pos] == '\r' || b[pos] == '\n')) {
    if (scan_eol(b, pos, size, bad) != Step::ok) return {};
  }
  while (pos != size && b[pos] != '\n') ++pos;
  if (pos == size) return {};
  ++pos;
  // The field lines, up to the blank line. Bytes that are not a valid head
  // (a broken precondition) end the search instead of being trusted.
  while (pos != size && b[pos] != '\r' && b[pos] != '\n') {
    FieldLine f;
    if (scan_field_line(b, pos, size, f, bad) != Step::ok) return {};
    if (equals_ignoring_case(f.name, name)) return f.value;
    if (scan_eol(b, pos, size, bad) != Step::ok) return {};
  }
  return {};
}

}  // namespace hms
