// codec/json_number.cpp: JSON numbers. In: the RFC 8259 grammar, checked on
// the token's text (json_reader.hpp says why). Out: the text JavaScript
// writes for a double (JsonWriter::number, hms/control.hpp), so what we send
// is what a Node peer would have sent.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "json_reader.hpp"

namespace hms {

namespace detail {

namespace {
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
}  // namespace

bool is_json_number(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && is_digit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  return i == n;
}

}  // namespace detail

// ECMAScript Number::toString (ECMA-262 section 6.1.6.1.20), which is what
// JSON.stringify writes for a finite number. std::to_chars gives the
// shortest digit string that round-trips (the same digits JS picks); we only
// lay them out the JS way.
void append_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  if (v == 0) {  // also -0, which JS prints as 0
    out += '0';
    return;
  }
  char buf[64];
  // Fast path: integers that an int64 holds exactly print the same in JS
  // (all below 1e21, so no exponent form).
  if (std::fabs(v) < 9.0e15 && std::trunc(v) == v) {
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
    return;
  }
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  // Scientific form: [-]d[.ddd]e(+|-)xx
  const char* p = buf;
  const char* const end = r.ptr;
  if (*p == '-') {
    out += '-';
    ++p;
  }
  char digits[32];
  int k = 0;
  while (p != end && *p != 'e') {
    if (*p != '.') digits[k++] = *p;
    ++p;
  }
  int exp10 = 0;
  std::from_chars(p + 1 + (p[1] == '+' ? 1 : 0), end, exp10);
  const int n = exp10 + 1;  // the value is 0.d1d2...dk x 10^n
  if (k <= n && n <= 21) {
    out.append(digits, static_cast<std::size_t>(k));
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, static_cast<std::size_t>(n));
    out += '.';
    out.append(digits + n, static_cast<std::size_t>(k - n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out.append(digits, static_cast<std::size_t>(k));
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits + 1, static_cast<std::size_t>(k - 1));
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    const auto e = std::to_chars(buf, buf + sizeof buf, std::abs(n - 1));
    out.append(buf, static_cast<std::size_t>(e.ptr - buf));
  }
}

}  // namespace hms
