// codec/control.cpp: JSON control messages in (simdjson On-Demand, in
// place) and out (JsonWriter). The contracts are in include/hms/control.hpp.
//
// How the parse is organised: a Reader walks the document once, front to
// back, as On-Demand requires. Known members are type-checked and copied
// into the struct; every other value is walked too (copy_raw) so that the
// whole document is validated -- On-Demand only checks what it is asked to
// read, and skipping a value would let e.g. `[1 2]` or `"\x"` through into
// text we later forward to other peers.
//
// Error handling uses simdjson's error-code API only (`.get(x)`), so the
// code is correct whether or not simdjson was built with exceptions; the one
// exception we can meet, std::bad_alloc from our own strings, is turned into
// JsonError::too_large at the API boundary.
#include "hms/control.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <unordered_map>

namespace hms {

static_assert(kJsonPadding == simdjson::SIMDJSON_PADDING,
              "kJsonPadding must match the padding simdjson reads past the text");

struct JsonParser::Impl {
  explicit Impl(const JsonLimits& limits)
      : parser(std::min<std::size_t>(limits.max_size, simdjson::SIMDJSON_MAXSIZE_BYTES)) {
    // simdjson keeps this depth through every later reallocation. It must
    // exceed ours: with development checks on (debug builds) On-Demand
    // asserts on any container deeper than its own limit, and our walker
    // opens containers up to max_depth (root = 1, as in simdjson).
    const std::size_t initial = std::min<std::size_t>(limits.max_size, 4096);
    constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
    const std::size_t depth = limits.max_depth > kMax - 2 ? kMax : limits.max_depth + 2;
    if (parser.allocate(initial, depth) != simdjson::SUCCESS) {
      throw std::bad_alloc();
    }
  }
  simdjson::ondemand::parser parser;
  // Padded copy of text handed to the *_copy functions; grows, never shrinks.
  std::unique_ptr<char[]> scratch;
  std::size_t scratch_size = 0;
};

struct JsonParserAccess {
  static JsonParser::Impl& impl(JsonParser& p) noexcept { return *p.impl_; }
};

JsonParser::JsonParser(JsonLimits limits)
    : limits_(limits), impl_(std::make_unique<Impl>(limits)) {}
JsonParser::~JsonParser() = default;
JsonParser::JsonParser(JsonParser&&) noexcept = default;
JsonParser& JsonParser::operator=(JsonParser&&) noexcept = default;

const char* to_string(JsonError e) noexcept {
  switch (e) {
    case JsonError::none: return "none";
    case JsonError::invalid_json: return "invalid_json";
    case JsonError::wrong_type: return "wrong_type";
    case JsonError::too_deep: return "too_deep";
    case JsonError::too_large: return "too_large";
  }
  return "unknown";
}

namespace {
// JSON's four whitespace bytes (RFC 8259 section 2); nothing else is.
constexpr bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
}  // namespace

std::string_view trim_json_space_right(std::string_view s) noexcept {
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view trim_json_space(std::string_view s) noexcept {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  return trim_json_space_right(s);
}

namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;
using Env = std::vector<std::pair<std::string, std::string>>;

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Member-name match with the length known at compile time, so the compare
// is inlined instead of a memcmp call per candidate (it showed in profiles
// of the handshake parse).
template <std::size_t N>
bool is(std::string_view name, const char (&literal)[N]) noexcept {
  return name.size() == N - 1 && std::memcmp(name.data(), literal, N - 1) == 0;
}

// The number grammar of RFC 8259 section 6, on a whole token. We check the
// text ourselves instead of asking simdjson to convert it, so that a valid
// number that does not fit a double (1e400, a 30-digit integer) is still
// accepted and kept verbatim, as JSON allows.
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

JsonError map_error(error_code e) noexcept {
  switch (e) {
    case simdjson::DEPTH_ERROR: return JsonError::too_deep;
    case simdjson::CAPACITY:
    case simdjson::MEMALLOC: return JsonError::too_large;
    default: return JsonError::invalid_json;
  }
}

// Duplicate keys: keep the first position and the last value, as JSON.parse
// does. Small lists (the normal case) are scanned; big ones use a hash map so
// that a hostile object with 100k keys stays linear (DoS guard).
template <class Vec, class Key, class Val>
void dedupe_last_wins(Vec& v, Key key, Val val) {
  const std::size_t n = v.size();
  if (n < 2) return;
  std::vector<bool> dead(n, false);
  bool any = false;
  if (n <= 16) {
    for (std::size_t i = 1; i < n; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (!dead[j] && key(v[j]) == key(v[i])) {
          val(v[j]) = std::move(val(v[i]));
          dead[i] = any = true;
          break;
        }
      }
    }
  } else {
    // Views into the keys stay valid: only values move in this loop.
    std::unordered_map<std::string_view, std::size_t> first;
    first.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      auto [it, inserted] = first.try_emplace(std::string_view(key(v[i])), i);
      if (!inserted) {
        val(v[it->second]) = std::move(val(v[i]));
        dead[i] = any = true;
      }
    }
  }
  if (!any) return;
  std::size_t out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (dead[i]) continue;
    if (out != i) v[out] = std::move(v[i]);
    ++out;
  }
  v.resize(out);
}

void dedupe(std::vector<RawMember>& v) {
  dedupe_last_wins(
      v, [](RawMember& m) -> std::string& { return m.key; },
      [](RawMember& m) -> std::string& { return m.value; });
}

void dedupe(Env& v) {
  dedupe_last_wins(
      v, [](std::pair<std::string, std::string>& m) -> std::string& { return m.first; },
      [](std::pair<std::string, std::string>& m) -> std::string& { return m.second; });
}

// One parse of one document. Every helper returns false after recording the
// first error; callers just propagate the false.
class Reader {
 public:
  Reader(od::parser& parser, PaddedText text, std::size_t max_depth) noexcept
      : parser_(parser), base_(text.data), size_(text.size), max_depth_(max_depth) {}

  JsonError error() const noexcept { return error_; }
  std::size_t offset() const noexcept { return offset_; }

  bool start() {
    // An empty text has no byte to point at, and may come with a null
    // pointer: answer before simdjson touches the (absent) padding.
    if (size_ == 0) return fail(JsonError::invalid_json, base_);
    if (auto e = parser_.iterate(base_, size_, size_ + kJsonPadding).get(doc_)) {
      return fail(map_error(e), base_);  // stage 1 errors carry no position
    }
    started_ = true;
    return true;
  }

  // After the root container was read to its end: anything but whitespace
  // behind it is an error (`{"a":1}{}`); On-Demand does not look by itself.
  bool finish() {
    const char* loc = nullptr;
    const error_code e = doc_.current_location().get(loc);
    if (e == simdjson::OUT_OF_BOUNDS) return true;  // consumed to the end
    if (e == simdjson::SUCCESS) return fail(JsonError::invalid_json, loc);
    return fail_sj(e);
  }

  bool root_type(od::json_type& t) {
    if (auto e = doc_.type().get(t)) return fail_sj(e);
    return true;
  }
  // Where the root value starts, for wrong_type at the root.
  const char* root_start() const noexcept {
    std::size_t i = 0;
    while (i < size_ && is_ws(base_[i])) ++i;
    return base_ + i;
  }
  std::string_view whole_text() const noexcept { return trim_json_space({base_, size_}); }

  bool root_object(od::object& obj) {
    od::json_type t{};
    if (!root_type(t)) return false;
    if (t != od::json_type::object) return fail(JsonError::wrong_type, root_start());
    if (max_depth_ < 1) return fail(JsonError::too_deep, root_start());
    if (auto e = doc_.get_object().get(obj)) return fail_sj(e);
    return true;
  }

  bool root_array(od::array& arr) {
    od::json_type t{};
    if (!root_type(t)) return false;
    if (t != od::json_type::array) return fail(JsonError::wrong_type, root_start());
    if (max_depth_ < 1) return fail(JsonError::too_deep, root_start());
    if (auto e = doc_.get_array().get(arr)) return fail_sj(e);
    return true;
  }

  // `null` at the root must be exactly that one token (simdjson's is_null()
  // answers false, not an error, for "null x").
  bool root_null() {
    if (whole_text() != "null") return fail(JsonError::invalid_json, root_start());
    return true;
  }

  // A number or string root, returned as its trimmed JSON text.
  bool root_scalar(std::string& out) {
    od::json_type t{};
    if (!root_type(t)) return false;
    const std::string_view whole = whole_text();
    if (t == od::json_type::number) {
      // The grammar check on the whole text also rejects trailing content.
      if (!is_json_number(whole)) return fail(JsonError::invalid_json, whole.data());
      out.assign(whole);
      return true;
    }
    if (t == od::json_type::string) {
      std::string_view token;
      if (auto e = doc_.raw_json_token().get(token)) return fail_sj(e);
      token = trim_json_space_right(token);
      std::string_view unescaped;
      if (auto e = doc_.get_string().get(unescaped)) return fail_sj(e);  // checks escapes
      if (token.size() != whole.size()) {
        return fail(JsonError::invalid_json, token.data() + token.size());
      }
      out.assign(token);
      return true;
    }
    return fail(JsonError::wrong_type, root_start());
  }

  // Validates the whole document and nothing else. Used on the error path
  // only: wrong_type promises well-formed JSON, but the parse stops at the
  // first wrong member, before it has seen the rest of the text.
  bool validate_document() {
    od::json_type t{};
    if (!root_type(t)) return false;
    const std::string_view whole = whole_text();
    switch (t) {
      case od::json_type::object:
      case od::json_type::array: {
        od::value v;
        if (auto e = doc_.get_value().get(v)) return fail_sj(e);
        std::string sink;
        return copy_raw(v, sink, 1) && finish();
      }
      case od::json_type::string: {
        std::string out;
        return root_scalar(out);
      }
      case od::json_type::number:
        return is_json_number(whole) || fail(JsonError::invalid_json, whole.data());
      case od::json_type::boolean:
      case od::json_type::null:
        return whole == "true" || whole == "false" || whole == "null" ||
               fail(JsonError::invalid_json, whole.data());
    }
    return fail(JsonError::invalid_json, root_start());
  }

  // ---- object members

  // The raw key text (escaped, without quotes) and the name to match known
  // members with (unescaped; a view into the input or the parser's string
  // buffer, valid until the next parse).
  bool key_of(od::field& f, std::string_view& raw, std::string_view& name) {
    // simdjson hands out the key as a pointer just past the opening quote;
    // stage 1 has already checked that the string is closed.
    const char* p = f.key().raw();
    std::size_t n = 0;
    bool escaped = false;
    while (p[n] != '"') {
      if (p[n] == '\\') {
        escaped = true;
        n += 2;
      } else {
        ++n;
      }
    }
    raw = {p, n};
    if (!escaped) {
      name = raw;
      return true;
    }
    if (auto e = f.unescaped_key().get(name)) return fail_sj(e);  // checks escapes
    return true;
  }

  // Walks an object's members: on_member(raw key, unescaped key, value)
  // returns false to stop (the error is already recorded).
  template <class F>
  bool members(od::object& obj, F&& on_member) {
    for (auto member : obj) {
      od::field f;
      if (auto e = std::move(member).get(f)) return fail_sj(e);
      std::string_view raw, name;
      if (!key_of(f, raw, name)) return false;
      if (!on_member(raw, name, f.value())) return false;
    }
    return true;
  }

  bool service(od::object& obj, Service& s, std::size_t depth) {
    const bool walked = members(obj, [&](std::string_view raw, std::string_view name, od::value& v) {
      bool ok;
      if (is(name, "id")) {
        ok = string_or_null(v, s.id);
      } else if (is(name, "start")) {
        ok = opt_string(v, s.start);
      } else if (is(name, "build")) {
        ok = opt_string(v, s.build);
      } else if (is(name, "limit")) {
        ok = limit(v, s, depth + 1);
      } else if (is(name, "docks")) {
        ok = opt_string_list(v, s.docks, depth + 1);
      } else if (is(name, "tags")) {
        ok = opt_string_list(v, s.tags, depth + 1);
      } else if (is(name, "revision")) {
        ok = opt_string(v, s.revision);
      } else if (is(name, "env")) {
        ok = env(v, s.env, depth + 1);
      } else if (is(name, "deployed")) {
        ok = opt_string(v, s.deployed);
      } else if (is(name, "cwd")) {
        ok = opt_string(v, s.cwd);
      } else if (is(name, "stopped")) {
        ok = opt_bool(v, s.stopped);
      } else {
        ok = extra(raw, v, s.extra, depth + 1);
      }
      return ok;
    });
    if (!walked) return false;
    dedupe(s.extra);
    return true;
  }

  bool handshake(od::object& obj, Handshake& h, std::size_t depth) {
    // A protocol that is not a usable number is kept for the round trip but
    // must not count as a protocol: it goes to `extra` once we know it is
    // the last `protocol` member.
    std::optional<std::string> protocol_raw;
    const bool walked = members(obj, [&](std::string_view raw, std::string_view name, od::value& v) {
      bool ok = true;
      if (is(name, "protocol")) {
        ok = protocol(v, h.protocol, protocol_raw, depth + 1);
      } else if (is(name, "type")) {
        ok = string_or_null(v, h.type);
      } else if (is(name, "id")) {
        ok = string_or_null(v, h.id);
      } else if (is(name, "hostname")) {
        ok = string_or_null(v, h.hostname);
      } else if (is(name, "tags")) {
        std::optional<std::vector<std::string>> tags;
        ok = opt_string_list(v, tags, depth + 1);
        h.tags = tags ? std::move(*tags) : std::vector<std::string>{};
      } else if (is(name, "default")) {
        std::optional<bool> b;
        ok = opt_bool(v, b);
        h.is_default = b.value_or(false);
      } else if (is(name, "version")) {
        ok = string_or_null(v, h.version);
      } else if (is(name, "route")) {
        ok = opt_string(v, h.route);
      } else if (is(name, "token")) {
        ok = opt_string(v, h.token);
      } else {
        ok = extra(raw, v, h.extra, depth + 1);
      }
      return ok;
    });
    if (!walked) return false;
    if (protocol_raw) h.extra.push_back({"protocol", std::move(*protocol_raw)});
    dedupe(h.extra);
    return true;
  }

  bool dock_processes(od::object& obj, DockProcesses& d, std::size_t depth) {
    const bool walked = members(obj, [&](std::string_view raw, std::string_view name, od::value& v) {
      bool ok;
      if (is(name, "id")) {
        ok = string_or_null(v, d.id);
      } else if (is(name, "hostname")) {
        ok = string_or_null(v, d.hostname);
      } else if (is(name, "tags")) {
        std::optional<std::vector<std::string>> tags;
        ok = opt_string_list(v, tags, depth + 1);
        d.tags = tags ? std::move(*tags) : std::vector<std::string>{};
      } else if (is(name, "list")) {
        ok = raw_list(v, d.list, depth + 1);
      } else {
        ok = extra(raw, v, d.extra, depth + 1);
      }
      return ok;
    });
    if (!walked) return false;
    dedupe(d.extra);
    return true;
  }

  // An array element that must be an object (a service, a ps dock).
  bool element_object(od::value& v, od::object& obj, std::size_t depth) {
    od::json_type t{};
    if (!type_of(v, t)) return false;
    if (t != od::json_type::object) return wrong_type(v);
    if (depth > max_depth_) return fail(JsonError::too_deep, start_of(v));
    if (auto e = v.get_object().get(obj)) return fail_sj(e);
    return true;
  }

  bool fail_sj(error_code e) {
    // Where the iterator stopped is the best position we have.
    const char* at = base_;
    const char* loc = nullptr;
    if (started_ && !doc_.current_location().get(loc)) at = loc;
    else if (started_) at = base_ + size_;
    return fail(map_error(e), at);
  }

 private:
  bool fail(JsonError e, const char* at) noexcept {
    if (error_ == JsonError::none) {
      error_ = e;
      const auto off = at >= base_ ? static_cast<std::size_t>(at - base_) : 0;
      offset_ = std::min(off, size_);  // never into the padding
    }
    return false;
  }

  static const char* start_of(od::value& v) noexcept { return v.raw_json_token().data(); }
  bool wrong_type(od::value& v) noexcept { return fail(JsonError::wrong_type, start_of(v)); }

  bool type_of(od::value& v, od::json_type& t) {
    // TAPE_ERROR here: the token starts no JSON value at all (`[x]`).
    if (auto e = v.type().get(t)) return fail_sj(e);
    return true;
  }

  bool check_null(od::value& v) {
    bool is_null = false;
    if (auto e = v.is_null().get(is_null)) return fail_sj(e);
    if (!is_null) return fail(JsonError::invalid_json, start_of(v));  // "nul", "nullx"
    return true;
  }

  bool get_string(od::value& v, std::string& out) {
    std::string_view s;
    if (auto e = v.get_string().get(s)) return fail_sj(e);
    out.assign(s);
    return true;
  }

  // A string member whose absence is "" (null: "" too).
  bool string_or_null(od::value& v, std::string& out) {
    od::json_type t{};
    if (!type_of(v, t)) return false;
    if (t == od::json_type::null) {
      out.clear();
      return check_null(v);
    }
    if (t != od::json_type::string) return wrong_type(v);
    return get_string(v, out);
  }

  bool opt_string(od::value& v, std::optional<std::string>& out) {
    od::json_type t{};
    if (!type_of(v, t)) return false;
    if (t == od::json_type::null) {
      out.reset();
      return check_null(v);
    }
    if (t != od::json_type::string) return wrong_type(v);
    std::string s;
    if (!get_string(v, s)) return false;
    out = std::move(s);
    return true;
  }

  bool opt_bool(od::value& v, std::optional<bool>& out) {
    od::json_type t{};
    if (!type_of(v, t)) return false;
    if (t == od::json_type::null) {
      out.reset();
      return check_null(v);
    }
    if (t != od::json_type::boolean) return wrong_type(v);
    bool b = false;
    if (auto e = v.get_bool().get(b)) return fail_sj(e);  // "tru", "falsey"
    out = b;
    return true;
  }

  // An array of strings, or one string taken as [s] ([].concat(x) in the
  // reference); null: absent.
  bool opt_string_list(od::value& v, std::optional<std::vector<std::string>>& out,
                       std::size_t depth) {
    od::json_type t{};
    if (!type_of(v, t)) return false;
    if (t == od::json_type::null) {
      out.reset();
      return check_null(v);
    }
    std::vector<std::string> list;
    if (t == od::json_type::string) {
      list.emplace_back();
      if (!get_string(v, list.back())) return false;
      out = std::move(list);
      return true;
    }
    if (t != od::json_type::array) return wrong_type(v);
    if (depth > max_depth_) return fail(JsonError::too_deep, start_of(v));
    od::array arr;
    if (auto e = v.get_array().get(arr)) return fail_sj(e);
    for (auto element : arr) {
      od::value ev;
      if (auto e = std::move(element).get(ev)) return fail_sj(e);
      od::json_type et;
      if (!type_of(ev, et)) return false;
      if (et != od::json_type::string) return wrong_type(ev);
      list.emplace_back();
      if (!get_string(ev, list.back())) return false;
    }
    out = std::move(list);
    return true;
  }

  // The token of a number value, checked against the JSON grammar.
  bool number_token(od::value& v, std::string_view& token) {
    token = trim_json_space_right(v.raw_json_token());
    if (!is_json_number(token)) return fail(JsonError::invalid_json, token.data());
    return true;
  }

  // A number that is valid JSON but has no finite double (1e400) gives false
  // in `fits` rather than an error.
  bool number_value(od::value& v, std::string_view& token, double& d, bool& fits) {
    if (!number_token(v, token)) return false;
    fits = !v.get_double().get(d) && std::isfinite(d);
    return true;
  }

  bool limit(od::value& v, Service& s, std::size_t depth) {
    od::json_type t{};
    if (!type_of(v, t)) return false;
    s.limit.reset();
    s.limit_raw.reset();
    if (t == od::json_type::null) return check_null(v);
    if (t == od::json_type::number) {
      std::string_view token;
      double d = 0;
      bool fits = false;
      if (!number_value(v, token, d, fits)) return false;
      if (fits) s.limit = d;
      else s.limit_raw.emplace(token);
      return true;
    }
    s.limit_raw.emplace();
    return copy_raw(v, *s.limit_raw, depth);
  }

  bool protocol(od::value& v, std::optional<double>& value,
                std::optional<std::string>& raw, std::size_t depth) {
    od::json_type t{};
    if (!type_of(v, t)) return false;
    value.reset();
    raw.reset();
    if (t == od::json_type::null) return check_null(v);
    if (t == od::json_type::number) {
      std::string_view token;
      double d = 0;
      bool fits = false;
      if (!number_value(v, token, d, fits)) return false;
      if (fits) value = d;
      else raw.emplace(token);
      return true;
    }
    raw.emplace();
    return copy_raw(v, *raw, depth);
  }

  bool env(od::value& v, std::optional<Env>& out, std::size_t depth) {
    od::json_type t{};
    if (!type_of(v, t)) return false;
    if (t == od::json_type::null) {
      out.reset();
      return check_null(v);
    }
    if (t != od::json_type::object) return wrong_type(v);
    if (depth > max_depth_) return fail(JsonError::too_deep, start_of(v));
    od::object obj;
    if (auto e = v.get_object().get(obj)) return fail_sj(e);
    Env env;
    for (auto member : obj) {
      od::field f;
      if (auto e = std::move(member).get(f)) return fail_sj(e);
      std::string_view raw, name;
      if (!key_of(f, raw, name)) return false;
      env.emplace_back(std::string(name), std::string());
      od::value& ev = f.value();
      od::json_type et;
      if (!type_of(ev, et)) return false;
      const bool ok = et == od::json_type::string ? get_string(ev, env.back().second)
                                                  : copy_raw(ev, env.back().second, depth + 1);
      if (!ok) return false;
    }
    dedupe(env);
    out = std::move(env);
    return true;
  }

  // ps: `list` is an array of anything, each kept as JSON text; null: [].
  bool raw_list(od::value& v, std::vector<std::string>& out, std::size_t depth) {
    od::json_type t{};
    if (!type_of(v, t)) return false;
    out.clear();
    if (t == od::json_type::null) return check_null(v);
    if (t != od::json_type::array) return wrong_type(v);
    if (depth > max_depth_) return fail(JsonError::too_deep, start_of(v));
    od::array arr;
    if (auto e = v.get_array().get(arr)) return fail_sj(e);
    for (auto element : arr) {
      od::value ev;
      if (auto e = std::move(element).get(ev)) return fail_sj(e);
      out.emplace_back();
      if (!copy_raw(ev, out.back(), depth + 1)) return false;
    }
    return true;
  }

  bool extra(std::string_view raw_key, od::value& v, std::vector<RawMember>& out,
             std::size_t depth) {
    out.push_back({std::string(raw_key), std::string()});
    return copy_raw(v, out.back().value, depth);
  }

  // Appends the JSON text of `v` to `out`, validating all of it: containers
  // are rebuilt without whitespace, scalar tokens are copied as received
  // after a check (string escapes by simdjson, numbers by our grammar,
  // literals by simdjson). `depth` is the depth `v` has if it is a
  // container. Recursion is bounded by max_depth_.
  bool copy_raw(od::value& v, std::string& out, std::size_t depth) {
    od::json_type t{};
    if (!type_of(v, t)) return false;
    switch (t) {
      case od::json_type::object: {
        if (depth > max_depth_) return fail(JsonError::too_deep, start_of(v));
        od::object obj;
        if (auto e = v.get_object().get(obj)) return fail_sj(e);
        out += '{';
        bool first = true;
        for (auto member : obj) {
          od::field f;
          if (auto e = std::move(member).get(f)) return fail_sj(e);
          std::string_view raw, name;
          if (!key_of(f, raw, name)) return false;
          if (!first) out += ',';
          first = false;
          out += '"';
          out += raw;
          out += "\":";
          if (!copy_raw(f.value(), out, depth + 1)) return false;
        }
        out += '}';
        return true;
      }
      case od::json_type::array: {
        if (depth > max_depth_) return fail(JsonError::too_deep, start_of(v));
        od::array arr;
        if (auto e = v.get_array().get(arr)) return fail_sj(e);
        out += '[';
        bool first = true;
        for (auto element : arr) {
          od::value ev;
          if (auto e = std::move(element).get(ev)) return fail_sj(e);
          if (!first) out += ',';
          first = false;
          if (!copy_raw(ev, out, depth + 1)) return false;
        }
        out += ']';
        return true;
      }
      case od::json_type::string: {
        // The token runs from the opening quote to the next structural
        // character, so it may carry trailing whitespace, never more.
        const std::string_view token = trim_json_space_right(v.raw_json_token());
        std::string_view unescaped;
        if (auto e = v.get_string().get(unescaped)) return fail_sj(e);
        out += token;
        return true;
      }
      case od::json_type::number: {
        std::string_view token;
        if (!number_token(v, token)) return false;
        out += token;
        return true;
      }
      case od::json_type::boolean: {
        bool b = false;
        if (auto e = v.get_bool().get(b)) return fail_sj(e);
        out += b ? "true" : "false";
        return true;
      }
      case od::json_type::null:
        if (!check_null(v)) return false;
        out += "null";
        return true;
    }
    return fail(JsonError::invalid_json, start_of(v));
  }

  od::parser& parser_;
  od::document doc_;
  const char* base_;
  std::size_t size_;
  std::size_t max_depth_;
  bool started_ = false;
  JsonError error_ = JsonError::none;
  std::size_t offset_ = 0;
};

// The frame of every parse_*: size limit, iterate, the body, the result.
// `body` reads the root and returns false on error (recorded in the Reader).
template <class T, class Body>
Parsed<T> run(JsonParser& jp, PaddedText text, Body body) noexcept {
  Parsed<T> r;
  if (text.size > jp.limits().max_size) {
    r.error = JsonError::too_large;  // before touching a byte (DoS guard)
    return r;
  }
  try {
    auto& parser = JsonParserAccess::impl(jp).parser;
    Reader reader(parser, text, jp.limits().max_depth);
    T value{};
    if (reader.start() && body(reader, value)) {
      r.value.emplace(std::move(value));
    } else {
      r.error = reader.error();
      r.error_offset = reader.offset();
    }
    if (r.error == JsonError::wrong_type) {
      // A second pass, on the error path only: if the text is not JSON at
      // all, that is the error to report.
      Reader check(parser, text, jp.limits().max_depth);
      if (!(check.start() && check.validate_document())) {
        r.error = check.error();
        r.error_offset = check.offset();
      }
    }
  } catch (const std::bad_alloc&) {
    // Our strings could not grow: the document is too large for this host.
    r.value.reset();
    r.error = JsonError::too_large;
    r.error_offset = 0;
  }
  return r;
}

// The *_copy functions: into the scratch buffer with zeroed padding (the
// content of the padding does not matter to simdjson, but zeroes keep
// uninitialised-read checkers quiet), then the in-place parse.
template <class T, class Fn>
Parsed<T> run_copy(JsonParser& jp, std::string_view text, Fn in_place) noexcept {
  if (text.size() > jp.limits().max_size) {
    Parsed<T> r;
    r.error = JsonError::too_large;
    return r;
  }
  auto& impl = JsonParserAccess::impl(jp);
  const std::size_t need = text.size() + kJsonPadding;
  if (impl.scratch_size < need) {
    const std::size_t grow = std::max(need, impl.scratch_size * 2);
    char* block = new (std::nothrow) char[grow];
    if (block == nullptr) {
      Parsed<T> r;
      r.error = JsonError::too_large;
      return r;
    }
    impl.scratch.reset(block);
    impl.scratch_size = grow;
  }
  if (!text.empty()) std::memcpy(impl.scratch.get(), text.data(), text.size());
  std::memset(impl.scratch.get() + text.size(), 0, kJsonPadding);
  return in_place(jp, PaddedText{impl.scratch.get(), text.size()});
}

}  // namespace

// ---- parse, in place

Parsed<Handshake> parse_handshake(JsonParser& parser, PaddedText text) {
  return run<Handshake>(parser, text, [](Reader& r, Handshake& h) {
    od::object obj;
    return r.root_object(obj) && r.handshake(obj, h, 1) && r.finish();
  });
}

Parsed<Service> parse_service(JsonParser& parser, PaddedText text) {
  return run<Service>(parser, text, [](Reader& r, Service& s) {
    od::object obj;
    return r.root_object(obj) && r.service(obj, s, 1) && r.finish();
  });
}

Parsed<std::optional<Service>> parse_service_or_null(JsonParser& parser, PaddedText text) {
  return run<std::optional<Service>>(parser, text, [](Reader& r, std::optional<Service>& s) {
    od::json_type t{};
    if (!r.root_type(t)) return false;
    if (t == od::json_type::null) return r.root_null();
    od::object obj;
    if (!r.root_object(obj)) return false;
    s.emplace();
    return r.service(obj, *s, 1) && r.finish();
  });
}

Parsed<std::vector<Service>> parse_service_list(JsonParser& parser, PaddedText text) {
  return run<std::vector<Service>>(parser, text, [](Reader& r, std::vector<Service>& list) {
    od::array arr;
    if (!r.root_array(arr)) return false;
    for (auto element : arr) {
      od::value v;
      if (auto e = std::move(element).get(v)) return r.fail_sj(e);
      od::object obj;
      if (!r.element_object(v, obj, 2)) return false;
      list.emplace_back();
      if (!r.service(obj, list.back(), 2)) return false;
    }
    return r.finish();
  });
}

Parsed<std::vector<DockProcesses>> parse_ps(JsonParser& parser, PaddedText text) {
  return run<std::vector<DockProcesses>>(
      parser, text, [](Reader& r, std::vector<DockProcesses>& docks) {
        od::array arr;
        if (!r.root_array(arr)) return false;
        for (auto element : arr) {
          od::value v;
          if (auto e = std::move(element).get(v)) return r.fail_sj(e);
          od::object obj;
          if (!r.element_object(v, obj, 2)) return false;
          docks.emplace_back();
          if (!r.dock_processes(obj, docks.back(), 2)) return false;
        }
        return r.finish();
      });
}

Parsed<std::string> parse_scalar_raw(JsonParser& parser, PaddedText text) {
  return run<std::string>(parser, text,
                          [](Reader& r, std::string& out) { return r.root_scalar(out); });
}

// ---- parse, copying

Parsed<Handshake> parse_handshake_copy(JsonParser& parser, std::string_view text) {
  return run_copy<Handshake>(parser, text, parse_handshake);
}
Parsed<Service> parse_service_copy(JsonParser& parser, std::string_view text) {
  return run_copy<Service>(parser, text, parse_service);
}
Parsed<std::optional<Service>> parse_service_or_null_copy(JsonParser& parser,
                                                          std::string_view text) {
  return run_copy<std::optional<Service>>(parser, text, parse_service_or_null);
}
Parsed<std::vector<Service>> parse_service_list_copy(JsonParser& parser, std::string_view text) {
  return run_copy<std::vector<Service>>(parser, text, parse_service_list);
}
Parsed<std::vector<DockProcesses>> parse_ps_copy(JsonParser& parser, std::string_view text) {
  return run_copy<std::vector<DockProcesses>>(parser, text, parse_ps);
}
Parsed<std::string> parse_scalar_raw_copy(JsonParser& parser, std::string_view text) {
  return run_copy<std::string>(parser, text, parse_scalar_raw);
}

// ---- writer

void append_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  const char* run = s.data();
  const char* const end = s.data() + s.size();
  for (const char* p = run; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(run, static_cast<std::size_t>(p - run));
    run = p + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(u, sizeof u);
      }
    }
  }
  out.append(run, static_cast<std::size_t>(end - run));
  out += '"';
}

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

void JsonWriter::comma() {
  if (after_key_) {  // the value of a member: the key wrote the separator
    after_key_ = false;
    return;
  }
  if (first_.empty()) return;
  if (first_.back()) first_.back() = false;
  else out_ += ',';
}

JsonWriter& JsonWriter::begin_object() {
  comma();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  out_ += '}';
  if (!first_.empty()) first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  comma();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  out_ += ']';
  if (!first_.empty()) first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  comma();
  append_escaped(out_, k);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::raw_key(std::string_view escaped) {
  comma();
  out_ += '"';
  out_ += escaped;
  out_ += "\":";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view s) {
  comma();
  append_escaped(out_, s);
  return *this;
}

JsonWriter& JsonWriter::number(double v) {
  comma();
  append_number(out_, v);
  return *this;
}

JsonWriter& JsonWriter::integer(std::int64_t v) {
  comma();
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, static_cast<std::size_t>(r.ptr - buf));
  return *this;
}

JsonWriter& JsonWriter::boolean(bool v) {
  comma();
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  comma();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  comma();
  out_ += json;
  return *this;
}

// ---- serializers

namespace {

void write_strings(JsonWriter& w, const std::vector<std::string>& list) {
  w.begin_array();
  for (const auto& s : list) w.string(s);
  w.end_array();
}

void write_extra(JsonWriter& w, const std::vector<RawMember>& extra) {
  for (const auto& m : extra) w.raw_key(m.key).raw(m.value);
}

}  // namespace

void to_json(JsonWriter& w, const Handshake& h) {
  w.begin_object();
  if (!h.type.empty()) w.key("type").string(h.type);
  if (!h.id.empty()) w.key("id").string(h.id);
  if (!h.hostname.empty()) w.key("hostname").string(h.hostname);
  if (!h.tags.empty()) {
    w.key("tags");
    write_strings(w, h.tags);
  }
  if (h.is_default) w.key("default").boolean(true);
  if (!h.version.empty()) w.key("version").string(h.version);
  if (h.route) w.key("route").string(*h.route);
  if (h.token) w.key("token").string(*h.token);
  write_extra(w, h.extra);
  if (h.protocol) w.key("protocol").number(*h.protocol);
  w.end_object();
}

void to_json(JsonWriter& w, const Service& s) {
  w.begin_object();
  if (!s.id.empty()) w.key("id").string(s.id);
  if (s.start) w.key("start").string(*s.start);
  if (s.build) w.key("build").string(*s.build);
  if (s.limit) w.key("limit").number(*s.limit);
  else if (s.limit_raw) w.key("limit").raw(*s.limit_raw);
  if (s.docks) {
    w.key("docks");
    write_strings(w, *s.docks);
  }
  if (s.tags) {
    w.key("tags");
    write_strings(w, *s.tags);
  }
  if (s.revision) w.key("revision").string(*s.revision);
  if (s.env) {
    w.key("env").begin_object();
    for (const auto& [k, v] : *s.env) w.key(k).string(v);
    w.end_object();
  }
  if (s.deployed) w.key("deployed").string(*s.deployed);
  if (s.cwd) w.key("cwd").string(*s.cwd);
  if (s.stopped) w.key("stopped").boolean(*s.stopped);
  write_extra(w, s.extra);
  w.end_object();
}

void to_json(JsonWriter& w, const DockProcesses& d) {
  w.begin_object();
  w.key("id").string(d.id);
  w.key("hostname").string(d.hostname);
  w.key("tags");
  write_strings(w, d.tags);
  w.key("list").begin_array();
  for (const auto& p : d.list) w.raw(p);
  w.end_array();
  write_extra(w, d.extra);
  w.end_object();
}

std::string to_json(const Handshake& h) {
  std::string out;
  JsonWriter w(out);
  to_json(w, h);
  return out;
}

std::string to_json(const Service& s) {
  std::string out;
  JsonWriter w(out);
  to_json(w, s);
  return out;
}

std::string to_json(const std::vector<Service>& list) {
  std::string out;
  JsonWriter w(out);
  w.begin_array();
  for (const auto& s : list) to_json(w, s);
  w.end_array();
  return out;
}

std::string to_json(const std::vector<DockProcesses>& docks) {
  std::string out;
  JsonWriter w(out);
  w.begin_array();
  for (const auto& d : docks) to_json(w, d);
  w.end_array();
  return out;
}

}  // namespace hms
