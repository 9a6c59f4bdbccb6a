// Small text rules the reference's output depends on, each from the npm
// module the reference uses (named beside each function).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "jsvalue.hpp"

namespace hms::cli {

// String.prototype.localeCompare under Node 20's ICU root collation, for
// the ids the CLI sorts (list, ps): punctuation before digits before
// letters, letters case-blind first, then lower case before upper case,
// left to right; control characters ignored. Bytes outside ASCII compare by
// value after all ASCII (ICU would interleave accented letters; service ids
// are ASCII by the hub's rule). Returns <0, 0 or >0.
int locale_compare(std::string_view a, std::string_view b) noexcept;

// relative-date 1.1.3: "just now", "a minute ago", "N minutes ago", ...
// for a delta in milliseconds (now - then). A NaN delta gives nullopt (the
// module returns undefined, which the tree shows as "undefined").
std::optional<std::string> relative_date(double delta_ms);
// new Date(value).getTime() for what a dock puts in ps (`started`,
// `deployed`): an ISO 8601 string (a date-time without an offset is local
// time, as in JavaScript) or a number of milliseconds. NaN when invalid.
double js_date_ms(const JsValue& v);
double now_ms();

// prettysize 0.0.3: 1024-based "Bytes", "kB", "MB", ... one decimal, ".0"
// dropped ("376 Bytes", "1.5 kB", "0 Bytes").
std::string pretty_size(double bytes);
// Number.prototype.toFixed(1) (a tie rounds away from zero, as JS does).
std::string to_fixed1(double v);

// String.prototype.trim(): JavaScript's whitespace (ASCII and the Unicode
// space separators, line/paragraph separators and the BOM) off both ends of
// UTF-8 text.
std::string_view js_trim(std::string_view s) noexcept;
// The length JavaScript gives the text: UTF-16 code units of UTF-8 input.
std::size_t js_length(std::string_view utf8) noexcept;
// Buffer#toString(): valid UTF-8 is returned as is; each invalid sequence
// becomes U+FFFD (the WHATWG decoder's "maximal subpart" rule, which V8
// follows). `out` receives the result only when a change was needed.
bool utf8_repair(std::string_view in, std::string* out);

// "ECONNREFUSED" for an errno value ("E<number>" when unknown).
std::string errno_name(int err);
// Node's fs error text: "ENOENT: no such file or directory, open '<path>'".
std::string fs_error(int err, std::string_view syscall, std::string_view path);
// libuv's lower-case description of an errno value ("no such file or
// directory").
std::string uv_message(int err);

// "60 s", or "200 ms" below a second: how long a deadline was.
std::string duration_text(std::chrono::milliseconds d);

// encodeURIComponent (querystring.stringify uses the same safe set).
std::string uri_encode(std::string_view s);

}  // namespace hms::cli
