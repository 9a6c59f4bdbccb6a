// The page's text helpers (web_text.hpp): JSON escaping with the WHATWG
// replacement rule, and small HTTP text readers.
#include "web_text.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace hms::hub::web {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Eight bytes at a time: true when none of them needs more than a copy
// (no byte below 0x20, no '"', no '\\', none >= 0x80). Exact, by the
// classic "has a byte less than n" word tricks.
bool plain_word(std::uint64_t v) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  const std::uint64_t below_space = (v - kOnes * 0x20) & ~v;
  const std::uint64_t q = v ^ (kOnes * '"');
  const std::uint64_t quote = (q - kOnes) & ~q;
  const std::uint64_t b = v ^ (kOnes * '\\');
  const std::uint64_t backslash = (b - kOnes) & ~b;
  return ((v | below_space | quote | backslash) & kHigh) == 0;
}

// The JSON text of one byte, padded to eight bytes so that it is stored in
// one move whatever its length: the byte itself, "\n", "\u001f", or "\ufffd"
// for a byte that cannot start a UTF-8 sequence. A lead byte (C2..F4) has
// length 0: whether it is a character or an ill-formed subpart depends on
// the bytes after it.
struct ByteText {
  char text[7];
  std::uint8_t len;
};
static_assert(sizeof(ByteText) == 8);

constexpr ByteText byte_text(unsigned char b) noexcept {
  ByteText t{};
  auto set = [&t](const char* s) {
    for (t.len = 0; s[t.len]; ++t.len) t.text[t.len] = s[t.len];
  };
  switch (b) {
    case '"': set("\\\""); break;
    case '\\': set("\\\\"); break;
    case '\b': set("\\b"); break;
    case '\f': set("\\f"); break;
    case '\n': set("\\n"); break;
    case '\r': set("\\r"); break;
    case '\t': set("\\t"); break;
    default:
      if (b < 0x20) {
        set("\\u00");
        t.text[4] = kHex[b >> 4];
        t.text[5] = kHex[b & 15];
        t.len = 6;
      } else if (b < 0x80) {
        t.text[0] = static_cast<char>(b);
        t.len = 1;
      } else if (b < 0xC2 || b > 0xF4) {
        set("\\ufffd");  // a continuation byte on its own, C0, C1, F5..FF
      }
  }
  return t;
}

constexpr std::array<ByteText, 256> kByteText = [] {
  std::array<ByteText, 256> t{};
  for (int b = 0; b < 256; ++b) t[b] = byte_text(static_cast<unsigned char>(b));
  return t;
}();

// "\ufffd" and two bytes of padding: the text of an ill-formed subpart.
constexpr char kReplacement[8] = {'\\', 'u', 'f', 'f', 'f', 'd', 0, 0};

// The length of the well-formed UTF-8 sequence at in[0..n), or 0 with
// *bad set to the bytes of its maximal ill-formed subpart (at least 1).
// Bounds of the second byte per lead byte as in the Unicode Standard, table
// 3-7 (no overlongs, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(const unsigned char* in, std::size_t n, std::size_t* bad) noexcept {
  const unsigned char b = in[0];
  std::size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    *bad = 1;  // a continuation byte, C0, C1 or F5..FF on its own
    return 0;
  }
  for (std::size_t i = 1; i <= need; ++i) {
    // The subpart so far ends before a byte that cannot continue it (that
    // byte starts over), or at the end of the input.
    if (i >= n || in[i] < lo || in[i] > hi) {
      *bad = i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need + 1;
}

// Escapes the character at in[*i] (one byte, or a UTF-8 sequence of up to
// four), moves *i past it and returns the new end of the output. A single
// byte's text is stored as one 8-byte move, hence the padding in
// json_escape_bound.
[[gnu::always_inline]] inline char* escape_one(char* o, const unsigned char* in, std::size_t n,
                                                std::size_t* i) noexcept {
  const ByteText& t = kByteText[in[*i]];
  if (t.len != 0) {
    std::memcpy(o, &t, 8);
    ++*i;
    return o + t.len;
  }
  std::size_t bad = 0;
  const std::size_t len = utf8_sequence(in + *i, n - *i, &bad);
  if (len == 0) {
    std::memcpy(o, kReplacement, 8);
    *i += bad;
    return o + 6;
  }
  for (std::size_t k = 0; k < len; ++k) o[k] = static_cast<char>(in[*i + k]);
  *i += len;
  return o + len;
}

bool hex_value(char c, int* v) noexcept {
  if (c >= '0' && c <= '9') *v = c - '0';
  else if (c >= 'a' && c <= 'f') *v = c - 'a' + 10;
  else if (c >= 'A' && c <= 'F') *v = c - 'A' + 10;
  else return false;
  return true;
}

bool ascii_iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::size_t json_escape(char* out, const unsigned char* in, std::size_t n) noexcept {
  char* o = out;
  std::size_t i = 0;
  // Whole words while they last: a plain word is stored as it is; one that
  // is not is escaped byte by byte (a sequence may run past its end).
  while (i + 8 <= n) {
    std::uint64_t w;
    std::memcpy(&w, in + i, 8);
    if (plain_word(w)) {
      std::memcpy(o, &w, 8);
      o += 8;
      i += 8;
      continue;
    }
    const std::size_t word_end = i + 8;
    while (i < word_end) o = escape_one(o, in, n, &i);
  }
  while (i < n) o = escape_one(o, in, n, &i);
  return static_cast<std::size_t>(o - out);
}

void append_json_escaped(std::string& out, std::string_view in) {
  const std::size_t at = out.size();
  out.resize(at + json_escape_bound(in.size()));
  const std::size_t n = json_escape(out.data() + at, reinterpret_cast<const unsigned char*>(in.data()), in.size());
  out.resize(at + n);
}

bool percent_decode(std::string_view in, std::string* out, bool plus_is_space) {
  out->clear();
  out->reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      int hi = 0, lo = 0;
      if (in.size() - i < 3 || !hex_value(in[i + 1], &hi) || !hex_value(in[i + 2], &lo)) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    const std::size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    std::string key;
    if (!percent_decode(pair.substr(0, eq), &key, true) || key != name) continue;
    std::string value;
    if (eq == std::string_view::npos) return value;
    if (!percent_decode(pair.substr(eq + 1), &value, true)) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    std::string_view pair = trim_ows(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || trim_ows(pair.substr(0, eq)) != name) continue;
    std::string_view v = trim_ows(pair.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return {};
}

std::string_view bearer_token(std::string_view authorization) {
  const std::string_view v = trim_ows(authorization);
  const std::size_t sp = v.find(' ');
  if (sp == std::string_view::npos || !ascii_iequal(v.substr(0, sp), "Bearer")) return {};
  const std::string_view token = trim_ows(v.substr(sp + 1));
  if (token.empty()) return {};
  return token;
}

std::string_view head_bytes(const RequestHead& head) noexcept {
  const char* start = head.method_text.data();
  if (!start) return {};
  // A complete head ends with an empty line, and no field value holds a CR
  // or LF: the first LF followed by a line end is that line.
  const char* p = start;
  for (;;) {
    while (*p != '\n') ++p;
    ++p;
    if (*p == '\n') return {start, static_cast<std::size_t>(p + 1 - start)};
    if (*p == '\r' && p[1] == '\n') return {start, static_cast<std::size_t>(p + 2 - start)};
  }
}

}  // namespace hms::hub::web
