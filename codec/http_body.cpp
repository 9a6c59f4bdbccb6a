// HTTP/1.1 bodies: the chunked decoder, the Content-Length counter and the
// chunk encoders. Contracts in include/hms/http_body.hpp.
//
// Why the result does not depend on how the body is split (the property
// the tests and the fuzzer check): the chunk-size line and the CRLF after
// data are consumed byte by byte into the state, and every decision on them
// looks at one byte, except a CR, which is left unconsumed until the byte
// after it is in. A trailer line is decided only once it is whole, and left
// unconsumed until then. So each byte is judged with the same context
// whatever arrived with it.
#include "hms/http_body.hpp"

#include <algorithm>
#include <cstring>

#include "http_scan.hpp"

namespace hms {

using detail::equals_ignoring_case;
using detail::is_field_vchar;
using detail::is_ows;
using detail::Step;

const char* to_string(BodyError e) noexcept {
  switch (e) {
    case BodyError::none: return "none";
    case BodyError::bad_chunk_size: return "bad_chunk_size";
    case BodyError::chunk_too_large: return "chunk_too_large";
    case BodyError::bad_chunk_extension: return "bad_chunk_extension";
    case BodyError::chunk_line_too_long: return "chunk_line_too_long";
    case BodyError::bad_chunk_end: return "bad_chunk_end";
    case BodyError::bad_trailer: return "bad_trailer";
    case BodyError::too_many_trailers: return "too_many_trailers";
    case BodyError::trailers_too_large: return "trailers_too_large";
  }
  return "unknown";
}

namespace {

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_ows(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

int hex_value(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool is_chunked(std::string_view te) noexcept {
  // transfer-coding list (RFC 9112 §6.1, RFC 9110 §5.6.1): the last
  // non-empty element decides.
  while (!te.empty() && (te.back() == ',' || is_ows(static_cast<unsigned char>(te.back())))) {
    te.remove_suffix(1);
  }
  const std::size_t comma = te.rfind(',');
  if (comma != std::string_view::npos) te.remove_prefix(comma + 1);
  return equals_ignoring_case(trim_ows(te), "chunked");
}

bool expects_continue(std::string_view expect) noexcept {
  return equals_ignoring_case(trim_ows(expect), "100-continue");
}

// ---- decode_chunked

BodyResult decode_chunked(ChunkedState& st, const char* data, std::size_t len,
                          const ChunkedLimits& limits) noexcept {
  using Stage = ChunkedState::Stage;
  const auto* b = reinterpret_cast<const unsigned char*>(data);
  std::size_t pos = 0;
  BodyResult r;

  // Every non-error return goes through here: the state keeps the count.
  const auto done = [&](BodyStatus status) {
    r.status = status;
    r.consumed = pos;
    st.position_ += pos;
    return r;
  };
  const auto fail = [&](BodyError e, std::size_t at) {
    st.stage_ = Stage::failed;
    st.error_ = e;
    r.status = BodyStatus::error;
    r.error = e;
    r.error_offset = at;
    return r;
  };

  for (;;) {
    switch (st.stage_) {
      // ---- chunk-size [ chunk-ext ] line end (RFC 9112 §7.1, §7.1.1)
      case Stage::size_first:
      case Stage::size:
      case Stage::size_ws:
      case Stage::ext: {
        if (pos == len) return done(BodyStatus::need_more);
        // The line's bytes are counted as they are consumed, so st.line_ is
        // the index of b[pos] in the line.
        if (st.line_ >= limits.max_line) return fail(BodyError::chunk_line_too_long, pos);
        const unsigned char c = b[pos];
        if (c == '\r' || c == '\n') {
          if (st.stage_ == Stage::size_first || st.stage_ == Stage::size_ws) {
            // No digit yet; or whitespace that no ';' followed ("5 \r\n" is
            // not in the grammar, and parsers that differ on it can be
            // used for smuggling).
            return fail(BodyError::bad_chunk_size, pos);
          }
          if (c == '\r') {
            if (pos + 1 == len) return done(BodyStatus::need_more);  // the CR waits
            if (b[pos + 1] != '\n') {
              return fail(st.stage_ == Stage::ext ? BodyError::bad_chunk_extension
                                                  : BodyError::bad_chunk_size,
                          pos);
            }
            if (st.line_ + 1 >= limits.max_line) {
              return fail(BodyError::chunk_line_too_long, pos + 1);
            }
            st.line_ += 2;
            pos += 2;
          } else {
            st.line_ += 1;
            pos += 1;
          }
          if (st.size_ == 0) {  // last-chunk: the trailer section follows
            st.stage_ = Stage::trailers;
            st.line_ = 0;
          } else {
            st.stage_ = Stage::data;
          }
          continue;
        }
        if (st.stage_ == Stage::ext) {
          if (!is_field_vchar(c) && !is_ows(c)) return fail(BodyError::bad_chunk_extension, pos);
        } else if (const int d = st.stage_ == Stage::size_ws ? -1 : hex_value(c); d >= 0) {
          // Reject early, before the multiplication could overflow.
          const auto digit = static_cast<std::uint64_t>(d);
          if (digit > limits.max_chunk_size || st.size_ > (limits.max_chunk_size - digit) / 16) {
            return fail(BodyError::chunk_too_large, pos);
          }
          st.size_ = st.size_ * 16 + digit;
          st.stage_ = Stage::size;
        } else if (c == ';' && st.stage_ != Stage::size_first) {
          st.stage_ = Stage::ext;
        } else if (is_ows(c) && st.stage_ != Stage::size_first) {
          st.stage_ = Stage::size_ws;
        } else {
          return fail(BodyError::bad_chunk_size, pos);
        }
        ++st.line_;
        ++pos;
        continue;
      }

      // ---- chunk-data: handed out as it arrives
      case Stage::data: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(st.size_, len - pos));
        if (n == 0) return done(BodyStatus::need_more);
        r.bytes = {data + pos, n};
        pos += n;
        st.size_ -= n;
        if (st.size_ == 0) st.stage_ = Stage::data_end;
        return done(BodyStatus::data);
      }

      // ---- the line end after chunk-data
      case Stage::data_end: {
        std::size_t bad = 0;
        const Step eol = detail::scan_eol(b, pos, len, bad);
        if (eol == Step::more) return done(BodyStatus::need_more);
        if (eol == Step::fail) return fail(BodyError::bad_chunk_end, bad);
        st.stage_ = Stage::size_first;
        st.line_ = 0;
        continue;
      }

      // ---- trailer-section = *( field-line CRLF ), then CRLF (§7.1.2).
      // A line is decided whole; until then it stays unconsumed.
      case Stage::trailers: {
        const std::size_t room = limits.max_trailer_size - st.line_;
        const std::size_t end = len - pos > room ? pos + room : len;
        // Out of bytes: more, unless the limit (not the input) ended them.
        const auto more = [&] {
          return end < len ? fail(BodyError::trailers_too_large, end)
                           : done(BodyStatus::need_more);
        };
        std::size_t p = pos;
        std::size_t bad = 0;
        if (p == end) return more();
        if (b[p] == '\r' || b[p] == '\n') {  // the blank line: the end
          const Step eol = detail::scan_eol(b, p, end, bad);
          if (eol == Step::more) return more();
          if (eol == Step::fail) return fail(BodyError::bad_trailer, bad);
          pos = p;
          st.stage_ = Stage::done;
          return done(BodyStatus::complete);
        }
        // Decided at the first byte of the excess line, as for a head.
        if (st.trailers_ == limits.max_trailers) {
          return fail(BodyError::too_many_trailers, p);
        }
        detail::FieldLine f;
        Step s = detail::scan_field_line(b, p, end, f, bad);
        if (s == Step::ok) s = detail::scan_eol(b, p, end, bad);
        if (s == Step::more) return more();
        if (s == Step::fail) return fail(BodyError::bad_trailer, bad);
        ++st.trailers_;
        st.line_ += p - pos;
        pos = p;
        r.name = f.name;
        r.value = f.value;
        return done(BodyStatus::trailer);
      }

      case Stage::done:
        return done(BodyStatus::complete);  // consumes nothing
      case Stage::failed:
        return fail(st.error_, 0);
    }
    // Every stage above returns or continues; the state is ours alone, so
    // no other value reaches here.
    return fail(BodyError::bad_chunk_size, pos);
  }
}

// ---- decode_length

BodyResult decode_length(LengthState& state, const char* data, std::size_t len) noexcept {
  BodyResult r;
  if (state.remaining == 0) {
    r.status = BodyStatus::complete;
    return r;
  }
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(state.remaining, len));
  if (n == 0) return r;  // need_more
  state.remaining -= n;
  r.status = BodyStatus::data;
  r.consumed = n;
  r.bytes = {data, n};
  return r;
}

// ---- encoders

std::size_t encode_chunk_header(char* out, std::uint64_t size) noexcept {
  if (size == 0) return 0;
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[16];
  std::size_t n = 0;
  for (; size != 0; size >>= 4) digits[n++] = kHex[size & 15];
  for (std::size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\r';
  out[n + 1] = '\n';
  return n + 2;
}

namespace {

constexpr std::string_view kLastChunk = "0\r\n";
constexpr std::string_view kFieldSeparator = ": ";
constexpr std::string_view kCrlf = "\r\n";

// A field that decode_chunked() would read back as the same name and value.
bool writable(const HttpField& f) noexcept {
  if (f.name.empty()) return false;
  for (const char c : f.name) {
    if (!detail::is_tchar(static_cast<unsigned char>(c))) return false;
  }
  for (const char c : f.value) {
    const auto u = static_cast<unsigned char>(c);
    if (!is_field_vchar(u) && !is_ows(u)) return false;
  }
  return f.value.empty() || (!is_ows(static_cast<unsigned char>(f.value.front())) &&
                             !is_ows(static_cast<unsigned char>(f.value.back())));
}

char* put(char* out, std::string_view s) noexcept {
  if (!s.empty()) std::memcpy(out, s.data(), s.size());
  return out + s.size();
}

}  // namespace

std::size_t last_chunk_size(const HttpField* trailers, std::size_t count) noexcept {
  std::size_t n = kLastChunk.size() + kCrlf.size();
  for (std::size_t i = 0; i < count; ++i) {
    n += trailers[i].name.size() + kFieldSeparator.size() + trailers[i].value.size() +
         kCrlf.size();
  }
  return n;
}

std::size_t encode_last_chunk(char* out, std::size_t cap, const HttpField* trailers,
                              std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    if (!writable(trailers[i])) return 0;
  }
  const std::size_t n = last_chunk_size(trailers, count);
  if (n > cap) return 0;
  char* p = put(out, kLastChunk);
  for (std::size_t i = 0; i < count; ++i) {
    p = put(p, trailers[i].name);
    p = put(p, kFieldSeparator);
    p = put(p, trailers[i].value);
    p = put(p, kCrlf);
  }
  put(p, kCrlf);
  return n;
}

}  // namespace hms
