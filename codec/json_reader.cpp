// codec/json_reader.cpp: the JSON reader every control message is parsed
// with: JsonParser, the Reader (simdjson On-Demand walking, the depth guard,
// raw-member capture) and the typed member reads. How the pieces fit:
// codec/json_reader.hpp; the contracts: include/hms/control.hpp.
#include "json_reader.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <unordered_map>

namespace hms {

static_assert(kJsonPadding == simdjson::SIMDJSON_PADDING,
              "kJsonPadding must match the padding simdjson reads past the text");

JsonParser::Impl::Impl(const JsonLimits& limits)
    : parser(std::min<std::size_t>(limits.max_size, simdjson::SIMDJSON_MAXSIZE_BYTES)) {
  // simdjson keeps this depth through every later reallocation. It must
  // exceed ours: with development checks on (debug builds) On-Demand asserts
  // on any container deeper than its own limit, and our walker opens
  // containers up to max_depth (root = 1, as in simdjson).
  const std::size_t initial = std::min<std::size_t>(limits.max_size, 4096);
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  const std::size_t depth = limits.max_depth > kMax - 2 ? kMax : limits.max_depth + 2;
  if (parser.allocate(initial, depth) != simdjson::SUCCESS) {
    throw std::bad_alloc();
  }
}

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

std::string_view trim_json_space_right(std::string_view s) noexcept {
  while (!s.empty() && detail::is_json_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view trim_json_space(std::string_view s) noexcept {
  while (!s.empty() && detail::is_json_space(s.front())) s.remove_prefix(1);
  return trim_json_space_right(s);
}

namespace detail {

using simdjson::error_code;

namespace {

JsonError map_error(error_code e) noexcept {
  switch (e) {
    case simdjson::DEPTH_ERROR: return JsonError::too_deep;
    case simdjson::CAPACITY:
    case simdjson::MEMALLOC: return JsonError::too_large;
    default: return JsonError::invalid_json;
  }
}

// Small lists (the normal case) are scanned; big ones use a hash map so that
// a hostile object with 100k keys stays linear (DoS guard).
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

}  // namespace

void dedupe(std::vector<RawMember>& members) {
  dedupe_last_wins(
      members, [](RawMember& m) -> std::string& { return m.key; },
      [](RawMember& m) -> std::string& { return m.value; });
}

void dedupe(Env& env) {
  dedupe_last_wins(
      env, [](std::pair<std::string, std::string>& m) -> std::string& { return m.first; },
      [](std::pair<std::string, std::string>& m) -> std::string& { return m.second; });
}

// ---- the document

bool Reader::start() {
  // An empty text has no byte to point at, and may come with a null pointer:
  // answer before simdjson touches the (absent) padding.
  if (size_ == 0) return fail(JsonError::invalid_json, base_);
  if (auto e = parser_.iterate(base_, size_, size_ + kJsonPadding).get(doc_)) {
    return fail(map_error(e), base_);  // stage 1 errors carry no position
  }
  started_ = true;
  return true;
}

// After the root container was read to its end: anything but whitespace
// behind it is an error (`{"a":1}{}`); On-Demand does not look by itself.
bool Reader::finish() {
  const char* loc = nullptr;
  const error_code e = doc_.current_location().get(loc);
  if (e == simdjson::OUT_OF_BOUNDS) return true;  // consumed to the end
  if (e == simdjson::SUCCESS) return fail(JsonError::invalid_json, loc);
  return fail_sj(e);
}

bool Reader::root_type(od::json_type& t) {
  if (auto e = doc_.type().get(t)) return fail_sj(e);
  return true;
}

const char* Reader::root_start() const noexcept {
  std::size_t i = 0;
  while (i < size_ && is_json_space(base_[i])) ++i;
  return base_ + i;
}

std::string_view Reader::whole_text() const noexcept {
  return trim_json_space({base_, size_});
}

bool Reader::root_object(od::object& obj) {
  od::json_type t{};
  if (!root_type(t)) return false;
  if (t != od::json_type::object) return fail(JsonError::wrong_type, root_start());
  if (max_depth_ < 1) return fail(JsonError::too_deep, root_start());
  if (auto e = doc_.get_object().get(obj)) return fail_sj(e);
  return true;
}

bool Reader::root_array(od::array& arr) {
  od::json_type t{};
  if (!root_type(t)) return false;
  if (t != od::json_type::array) return fail(JsonError::wrong_type, root_start());
  if (max_depth_ < 1) return fail(JsonError::too_deep, root_start());
  if (auto e = doc_.get_array().get(arr)) return fail_sj(e);
  return true;
}

// simdjson's is_null() answers false, not an error, for "null x".
bool Reader::root_null() {
  if (whole_text() != "null") return fail(JsonError::invalid_json, root_start());
  return true;
}

bool Reader::root_scalar(std::string& out) {
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

bool Reader::validate_document() {
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

// ---- containers

bool Reader::open_object(od::value& v, od::object& obj, std::size_t depth) {
  if (depth > max_depth_) return fail(JsonError::too_deep, v.raw_json_token().data());
  if (auto e = v.get_object().get(obj)) return fail_sj(e);
  return true;
}

bool Reader::open_array(od::value& v, od::array& arr, std::size_t depth) {
  if (depth > max_depth_) return fail(JsonError::too_deep, v.raw_json_token().data());
  if (auto e = v.get_array().get(arr)) return fail_sj(e);
  return true;
}

bool Reader::element_object(od::value& v, od::object& obj, std::size_t depth) {
  od::json_type t{};
  if (!type_of(v, t)) return false;
  if (t != od::json_type::object) return wrong_type(v);
  return open_object(v, obj, depth);
}

// ---- typed member reads. Each resets its output first, so a null (and a
// repeated member: the last one wins) leaves exactly what the last value says.

bool Reader::read(od::value& v, std::string& out, std::size_t) {
  od::json_type t{};
  out.clear();
  if (!type_or_null(v, t)) return false;
  if (t == od::json_type::null) return true;
  if (t != od::json_type::string) return wrong_type(v);
  return get_string(v, out);
}

bool Reader::read(od::value& v, std::optional<std::string>& out, std::size_t) {
  od::json_type t{};
  out.reset();
  if (!type_or_null(v, t)) return false;
  if (t == od::json_type::null) return true;
  if (t != od::json_type::string) return wrong_type(v);
  return get_string(v, out.emplace());
}

bool Reader::read(od::value& v, std::optional<bool>& out, std::size_t) {
  od::json_type t{};
  out.reset();
  if (!type_or_null(v, t)) return false;
  if (t == od::json_type::null) return true;
  if (t != od::json_type::boolean) return wrong_type(v);
  bool b = false;
  if (auto e = v.get_bool().get(b)) return fail_sj(e);  // "tru", "falsey"
  out = b;
  return true;
}

bool Reader::read(od::value& v, bool& out, std::size_t depth) {
  std::optional<bool> b;
  if (!read(v, b, depth)) return false;
  out = b.value_or(false);
  return true;
}

bool Reader::read(od::value& v, std::optional<std::vector<std::string>>& out,
                  std::size_t depth) {
  od::json_type t{};
  out.reset();
  if (!type_or_null(v, t)) return false;
  if (t == od::json_type::null) return true;
  if (t == od::json_type::string) return get_string(v, out.emplace().emplace_back());
  if (t != od::json_type::array) return wrong_type(v);
  od::array arr;
  if (!open_array(v, arr, depth)) return false;
  std::vector<std::string>& list = out.emplace();
  return elements(arr, [&](od::value& ev) {
    od::json_type et{};
    if (!type_of(ev, et)) return false;
    if (et != od::json_type::string) return wrong_type(ev);
    return get_string(ev, list.emplace_back());
  });
}

bool Reader::read(od::value& v, std::vector<std::string>& out, std::size_t depth) {
  std::optional<std::vector<std::string>> list;
  if (!read(v, list, depth)) return false;
  if (list) out = std::move(*list);
  else out.clear();
  return true;
}

bool Reader::read(od::value& v, std::optional<Env>& out, std::size_t depth) {
  od::json_type t{};
  out.reset();
  if (!type_or_null(v, t)) return false;
  if (t == od::json_type::null) return true;
  if (t != od::json_type::object) return wrong_type(v);
  od::object obj;
  if (!open_object(v, obj, depth)) return false;
  Env& env = out.emplace();
  const bool walked = members(obj, [&](std::string_view, std::string_view name, od::value& ev) {
    std::string& value = env.emplace_back(std::string(name), std::string()).second;
    od::json_type et{};
    if (!type_of(ev, et)) return false;
    return et == od::json_type::string ? get_string(ev, value) : copy_raw(ev, value, depth + 1);
  });
  if (!walked) return false;
  dedupe(env);
  return true;
}

bool Reader::number_or_raw(od::value& v, std::optional<double>& value,
                           std::optional<std::string>& raw, std::size_t depth) {
  od::json_type t{};
  value.reset();
  raw.reset();
  if (!type_or_null(v, t)) return false;
  if (t == od::json_type::null) return true;
  if (t != od::json_type::number) return copy_raw(v, raw.emplace(), depth);
  std::string_view token;
  if (!number_token(v, token)) return false;
  // Valid JSON without a finite double (1e400) is kept as text, not an error.
  double d = 0;
  if (!v.get_double().get(d) && std::isfinite(d)) value = d;
  else raw.emplace(token);
  return true;
}

bool Reader::raw_list(od::value& v, std::vector<std::string>& out, std::size_t depth) {
  od::json_type t{};
  out.clear();
  if (!type_or_null(v, t)) return false;
  if (t == od::json_type::null) return true;
  if (t != od::json_type::array) return wrong_type(v);
  od::array arr;
  if (!open_array(v, arr, depth)) return false;
  return elements(arr, [&](od::value& ev) { return copy_raw(ev, out.emplace_back(), depth + 1); });
}

bool Reader::extra(std::string_view raw_key, od::value& v, std::vector<RawMember>& out,
                   std::size_t depth) {
  out.push_back({std::string(raw_key), std::string()});
  return copy_raw(v, out.back().value, depth);
}

bool Reader::copy_raw(od::value& v, std::string& out, std::size_t depth) {
  od::json_type t{};
  if (!type_of(v, t)) return false;
  bool first = true;
  switch (t) {
    case od::json_type::object: {
      od::object obj;
      if (!open_object(v, obj, depth)) return false;
      out += '{';
      const bool walked = members(obj, [&](std::string_view raw, std::string_view, od::value& mv) {
        if (!first) out += ',';
        first = false;
        out += '"';
        out += raw;
        out += "\":";
        return copy_raw(mv, out, depth + 1);
      });
      if (!walked) return false;
      out += '}';
      return true;
    }
    case od::json_type::array: {
      od::array arr;
      if (!open_array(v, arr, depth)) return false;
      out += '[';
      const bool walked = elements(arr, [&](od::value& ev) {
        if (!first) out += ',';
        first = false;
        return copy_raw(ev, out, depth + 1);
      });
      if (!walked) return false;
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
  return fail(JsonError::invalid_json, v.raw_json_token().data());
}

// ---- errors and small pieces

bool Reader::fail_sj(error_code e) {
  // Where the iterator stopped is the best position we have.
  const char* at = base_;
  const char* loc = nullptr;
  if (started_ && !doc_.current_location().get(loc)) at = loc;
  else if (started_) at = base_ + size_;
  return fail(map_error(e), at);
}

bool Reader::fail(JsonError e, const char* at) noexcept {
  if (error_ == JsonError::none) {
    error_ = e;
    const auto off = at >= base_ ? static_cast<std::size_t>(at - base_) : 0;
    offset_ = std::min(off, size_);  // never into the padding
  }
  return false;
}

bool Reader::wrong_type(od::value& v) noexcept {
  return fail(JsonError::wrong_type, v.raw_json_token().data());
}

bool Reader::type_or_null(od::value& v, od::json_type& t) {
  if (!type_of(v, t)) return false;
  return t != od::json_type::null || check_null(v);
}

bool Reader::check_null(od::value& v) {
  bool is_null = false;
  if (auto e = v.is_null().get(is_null)) return fail_sj(e);
  if (!is_null) return fail(JsonError::invalid_json, v.raw_json_token().data());  // "nul"
  return true;
}

// The token of a number value, checked against the JSON grammar.
bool Reader::number_token(od::value& v, std::string_view& token) {
  token = trim_json_space_right(v.raw_json_token());
  if (!is_json_number(token)) return fail(JsonError::invalid_json, token.data());
  return true;
}

}  // namespace detail
}  // namespace hms
