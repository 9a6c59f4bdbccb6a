#include "text.hpp"

#include <simdjson.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace hms::cli {

// ---------------------------------------------------------------- collation

namespace {

// ICU root order of printable ASCII (Node 20: sort by localeCompare), upper
// case folded onto lower case.
constexpr std::string_view kOrder =
    " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz";

struct Weights {
  std::array<std::uint16_t, 256> primary{};  // 0: ignorable
  Weights() {
    for (std::size_t i = 0; i < kOrder.size(); ++i) {
      const auto c = static_cast<unsigned char>(kOrder[i]);
      primary[c] = static_cast<std::uint16_t>(i + 1);
      if (c >= 'a' && c <= 'z') primary[c - 32] = static_cast<std::uint16_t>(i + 1);
    }
    for (int c = 0x80; c < 0x100; ++c) primary[c] = static_cast<std::uint16_t>(200 + c);
  }
};
const Weights& weights() {
  static const Weights w;
  return w;
}

}  // namespace

int locale_compare(std::string_view a, std::string_view b) noexcept {
  const auto& w = weights().primary;
  // Primary level: the non-ignorable characters, case-blind.
  std::size_t i = 0, j = 0;
  for (;;) {
    while (i < a.size() && !w[static_cast<unsigned char>(a[i])]) ++i;
    while (j < b.size() && !w[static_cast<unsigned char>(b[j])]) ++j;
    if (i == a.size() || j == b.size()) {
      if (i != a.size()) return 1;
      if (j != b.size()) return -1;
      break;
    }
    const int d = w[static_cast<unsigned char>(a[i])] - w[static_cast<unsigned char>(b[j])];
    if (d) return d < 0 ? -1 : 1;
    ++i, ++j;
  }
  // Tertiary level: lower case before upper case, left to right.
  i = j = 0;
  for (;;) {
    while (i < a.size() && !w[static_cast<unsigned char>(a[i])]) ++i;
    while (j < b.size() && !w[static_cast<unsigned char>(b[j])]) ++j;
    if (i == a.size() || j == b.size()) return 0;
    const bool ua = a[i] >= 'A' && a[i] <= 'Z';
    const bool ub = b[j] >= 'A' && b[j] <= 'Z';
    if (ua != ub) return ua ? 1 : -1;
    ++i, ++j;
  }
}

// ---------------------------------------------------------------- dates

std::optional<std::string> relative_date(double delta) {
  constexpr double kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute, kDay = 24 * kHour,
                   kWeek = 7 * kDay, kYear = kDay * 365, kMonth = kYear / 12;
  struct Format {
    double below;
    const char* text;
    double unit;  // 0: the text alone
  };
  static const Format formats[] = {
      {0.7 * kMinute, "just now", 0},   {1.5 * kMinute, "a minute ago", 0},
      {60 * kMinute, "minutes ago", kMinute}, {1.5 * kHour, "an hour ago", 0},
      {kDay, "hours ago", kHour},       {2 * kDay, "yesterday", 0},
      {7 * kDay, "days ago", kDay},     {1.5 * kWeek, "a week ago", 0},
      {kMonth, "weeks ago", kWeek},     {1.5 * kMonth, "a month ago", 0},
      {kYear, "months ago", kMonth},    {1.5 * kYear, "a year ago", 0},
      {1.7976931348623157e308, "years ago", kYear},
  };
  for (const auto& f : formats) {
    if (delta < f.below) {
      if (f.unit == 0) return std::string(f.text);
      // Math.round: halves go up.
      const double n = std::floor(delta / f.unit + 0.5);
      std::string s = JsValue::number(n).to_js_string();
      return s + " " + f.text;
    }
  }
  return std::nullopt;  // NaN compares false with everything
}

double now_ms() {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian).
double days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<double>(era) * 146097 + doe - 719468;
}

}  // namespace

double js_date_ms(const JsValue& v) {
  const double nan = std::nan("");
  if (v.is_number()) return v.as_number();
  if (!v.is_string()) return nan;
  const std::string_view s = v.as_string();
  // YYYY-MM-DD[THH:mm[:ss[.sss]][Z|±HH:mm]]
  int y, mo, d;
  if (!digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, &mo) || s[7] != '-' ||
      !digits(s, 8, 2, &d))
    return nan;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return nan;
  double ms = days_from_civil(y, mo, d) * 86400000.0;
  if (s.size() == 10) return ms;  // a date alone is UTC
  if (s[10] != 'T' && s[10] != 't') return nan;
  int h, mi, sec = 0;
  std::size_t p = 11;
  if (!digits(s, p, 2, &h) || p + 2 >= s.size() || s[p + 2] != ':' || !digits(s, p + 3, 2, &mi)) return nan;
  p += 5;
  double frac = 0;
  if (p < s.size() && s[p] == ':') {
    if (!digits(s, p + 1, 2, &sec)) return nan;
    p += 3;
    if (p < s.size() && s[p] == '.') {
      ++p;
      double scale = 100;
      const std::size_t start = p;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        frac += (s[p] - '0') * scale;
        scale /= 10;
        ++p;
      }
      if (p == start) return nan;
      frac = std::floor(frac);
    }
  }
  if (h > 24 || mi > 59 || sec > 59) return nan;
  ms += ((h * 60.0 + mi) * 60.0 + sec) * 1000.0 + frac;
  if (p == s.size()) {
    // No offset: local time, as JavaScript reads a date-time form.
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    const std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) return nan;
    return static_cast<double>(t) * 1000.0 + frac;
  }
  if ((s[p] == 'Z' || s[p] == 'z') && p + 1 == s.size()) return ms;
  if ((s[p] == '+' || s[p] == '-') && p + 6 == s.size() && s[p + 3] == ':') {
    int oh, om;
    if (!digits(s, p + 1, 2, &oh) || !digits(s, p + 4, 2, &om)) return nan;
    const double off = (oh * 60.0 + om) * 60000.0;
    return s[p] == '+' ? ms - off : ms + off;
  }
  return nan;
}

// ---------------------------------------------------------------- sizes

std::string to_fixed1(double v) {
  char buf[64];
  // A tie at the first decimal (x * 20 an odd integer) rounds away from
  // zero in JS; printf would round it to even. The product is exact in a
  // long double (64-bit mantissa), so only true ties count.
  const long double twenty = static_cast<long double>(v) * 20;
  if (std::fabs(v) < 1e15 && twenty == std::floor(twenty) && std::fmod(std::fabs(twenty), 2.0L) == 1.0L) {
    const double tenths = (v > 0 ? std::floor(v * 10) + 1 : std::ceil(v * 10) - 1);
    std::snprintf(buf, sizeof buf, "%.1f", tenths / 10);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  }
  return buf;
}

std::string pretty_size(double size) {
  static const char* const units[] = {"Bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  std::string out;
  for (int id = 0; id < 7; ++id) {
    const double s = std::pow(1024.0, id);
    if (size >= s) {
      std::string fixed = to_fixed1(size / s);
      if (fixed.size() >= 2 && fixed.compare(fixed.size() - 2, 2, ".0") == 0) fixed.resize(fixed.size() - 2);
      out = fixed + " " + units[id];
    }
  }
  return out.empty() ? "0 Bytes" : out;
}

// ---------------------------------------------------------------- unicode

namespace {

// Decodes the code point at s[i] if it is valid UTF-8; returns its length
// (0 when invalid).
std::size_t decode(std::string_view s, std::size_t i, char32_t* cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  std::size_t n;
  char32_t v;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 1, v = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 2, v = c & 0x0f;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 3, v = c & 0x07;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  for (std::size_t k = 1; k <= n; ++k) {
    if (i + k >= s.size()) return 0;
    const unsigned char x = b(i + k);
    if (x < lo || x > hi) return 0;
    lo = 0x80, hi = 0xbf;
    v = (v << 6) | (x & 0x3f);
  }
  *cp = v;
  return n + 1;
}

bool js_space(char32_t c) {
  switch (c) {
    case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x20: case 0xa0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000: case 0xfeff:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200a;
  }
}

}  // namespace

std::string_view js_trim(std::string_view s) noexcept {
  std::size_t b = 0;
  while (b < s.size()) {
    char32_t cp;
    const std::size_t n = decode(s, b, &cp);
    if (!n || !js_space(cp)) break;
    b += n;
  }
  std::size_t e = s.size();
  while (e > b) {
    // Step back to the start of the last character.
    std::size_t k = e - 1;
    while (k > b && (static_cast<unsigned char>(s[k]) & 0xc0) == 0x80 && e - k < 4) --k;
    char32_t cp;
    const std::size_t n = decode(s, k, &cp);
    if (n != e - k || !js_space(cp)) break;
    e = k;
  }
  return s.substr(b, e - b);
}

std::size_t js_length(std::string_view s) noexcept {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xc0) != 0x80) ++n;   // a lead byte or ASCII
    if (c >= 0xf0) ++n;            // four bytes: a surrogate pair
  }
  return n;
}

bool utf8_repair(std::string_view in, std::string* out) {
  if (simdjson::validate_utf8(in.data(), in.size())) return false;
  out->clear();
  out->reserve(in.size() + 16);
  std::size_t i = 0;
  while (i < in.size()) {
    char32_t cp;
    const std::size_t n = decode(in, i, &cp);
    if (n) {
      out->append(in.substr(i, n));
      i += n;
      continue;
    }
    // Maximal subpart: the lead byte and every continuation byte that was
    // still allowed, as one U+FFFD.
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = 1;
    if (c >= 0xc2 && c <= 0xf4) {
      const std::size_t need = c <= 0xdf ? 1 : c <= 0xef ? 2 : 3;
      unsigned char lo = 0x80, hi = 0xbf;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
      for (std::size_t k = 1; k <= need && i + k < in.size(); ++k) {
        const auto x = static_cast<unsigned char>(in[i + k]);
        if (x < lo || x > hi) break;
        lo = 0x80, hi = 0xbf;
        ++len;
      }
    }
    out->append("\xef\xbf\xbd");
    i += len;
  }
  return true;
}

// ---------------------------------------------------------------- errors

std::string errno_name(int err) {
  if (const char* n = strerrorname_np(err)) return n;
  std::string out = "E";  // (not "E" + ...: GCC 12 -O3 warns falsely, -Wrestrict)
  out += std::to_string(err);
  return out;
}

std::string uv_message(int err) {
  switch (err) {
    case ENOENT: return "no such file or directory";
    case EACCES: return "permission denied";
    case EISDIR: return "illegal operation on a directory";
    case ENOTDIR: return "not a directory";
    case EEXIST: return "file already exists";
    case ENOSPC: return "no space left on device";
    case EROFS: return "read-only file system";
    case EMFILE: return "too many open files";
    case ELOOP: return "too many symbolic links encountered";
    case ENAMETOOLONG: return "name too long";
    case EPERM: return "operation not permitted";
    case EIO: return "i/o error";
    case ECONNREFUSED: return "connection refused";
    case ECONNRESET: return "connection reset by peer";
    case ETIMEDOUT: return "connection timed out";
    case EPIPE: return "broken pipe";
    default: break;
  }
  std::string s = std::strerror(err);
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

std::string fs_error(int err, std::string_view syscall, std::string_view path) {
  std::string s = errno_name(err) + ": " + uv_message(err) + ", " + std::string(syscall);
  if (!path.empty()) s += " '" + std::string(path) + "'";
  return s;
}

std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

std::string uri_encode(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        (c && std::strchr("-_.!~*'()", c))) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace hms::cli
