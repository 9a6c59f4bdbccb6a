// codec/json_reader.hpp: what the JSON pieces of the codec share. Internal:
// not installed, included by codec/*.cpp only (it pulls in simdjson.h, which
// the public headers must not).
//
// The pieces, one file each:
//   json_reader.cpp       JsonParser, the Reader below (simdjson On-Demand
//                         walking, the depth guard, raw-member capture) and
//                         the typed member reads every message shares
//   json_number.cpp       the JSON number grammar and JS number text
//   json_writer.cpp       JsonWriter and append_escaped
//   control_messages.cpp  per message: which members it has, how each is
//                         read (the member maps) and the order it is written
//   control.cpp           the parse_* / parse_*_copy entry points
//
// How a parse is organised: a Reader walks the document once, front to back,
// as On-Demand requires. Known members are type-checked and copied into the
// struct; every other value is walked too (copy_raw) so that the whole
// document is validated -- On-Demand only checks what it is asked to read,
// and skipping a value would let e.g. `[1 2]` or `"\x"` through into text we
// later forward to other peers.
//
// Error handling uses simdjson's error-code API only (`.get(x)`), so the code
// is correct whether or not simdjson was built with exceptions; the one
// exception we can meet, std::bad_alloc from our own strings, is turned into
// JsonError::too_large at the API boundary (control.cpp).
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hms/control.hpp"

namespace hms {

struct JsonParser::Impl {
  explicit Impl(const JsonLimits& limits);  // throws std::bad_alloc
  simdjson::ondemand::parser parser;
  // Padded copy of text handed to the *_copy functions; grows, never shrinks.
  std::unique_ptr<char[]> scratch;
  std::size_t scratch_size = 0;
};

struct JsonParserAccess {
  static JsonParser::Impl& impl(JsonParser& p) noexcept { return *p.impl_; }
};

namespace detail {

namespace od = simdjson::ondemand;
using Env = std::vector<std::pair<std::string, std::string>>;

// JSON's four whitespace bytes (RFC 8259 section 2); nothing else is.
constexpr bool is_json_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The number grammar of RFC 8259 section 6, on a whole token (json_number.cpp).
// We check the text ourselves instead of asking simdjson to convert it, so
// that a valid number that does not fit a double (1e400, a 30-digit integer)
// is still accepted and kept verbatim, as JSON allows.
bool is_json_number(std::string_view s) noexcept;

// Duplicate keys: keep the first position and the last value, as JSON.parse
// does (linear even for a hostile object with 100k keys).
void dedupe(std::vector<RawMember>& members);
void dedupe(Env& env);

// One parse of one document. Every method returns false after recording the
// first error (error(), offset()); callers just propagate the false.
// `depth` arguments are the depth the value has if it is a container (the
// root is 1); a container deeper than max_depth is too_deep, which bounds the
// recursion of copy_raw (DoS guard: our stack).
class Reader {
 public:
  Reader(od::parser& parser, PaddedText text, std::size_t max_depth) noexcept
      : parser_(parser), base_(text.data), size_(text.size), max_depth_(max_depth) {}

  JsonError error() const noexcept { return error_; }
  std::size_t offset() const noexcept { return offset_; }

  // ---- the document
  bool start();   // iterate; stage 1 errors (utf-8, unclosed string) come here
  bool finish();  // after the root container: only whitespace may follow
  bool root_type(od::json_type& t);
  bool root_object(od::object& obj);  // wrong_type unless an object
  bool root_array(od::array& arr);    // wrong_type unless an array
  bool root_null();                   // exactly `null`, nothing behind it
  bool root_scalar(std::string& out);  // a number or string root, its JSON text
  // Validates the whole document and nothing else. For the error path only:
  // wrong_type promises well-formed JSON, but the parse stops at the first
  // wrong member, before it has seen the rest of the text.
  bool validate_document();

  // ---- containers
  // Walks an object's members: on_member(raw key, unescaped key, value)
  // returns false to stop (the error already recorded). The raw key is the
  // key text as received (escaped, no quotes); the unescaped one is what
  // known members are matched against (a view into the input or the
  // parser's string buffer, valid until the next parse).
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
  // Walks an array's elements: on_element(value) returns false to stop.
  template <class F>
  bool elements(od::array& arr, F&& on_element) {
    for (auto element : arr) {
      od::value v;
      if (auto e = std::move(element).get(v)) return fail_sj(e);
      if (!on_element(v)) return false;
    }
    return true;
  }
  // An array element that must be an object (a service, a ps dock).
  bool element_object(od::value& v, od::object& obj, std::size_t depth);

  // ---- typed member reads, chosen by the type of the field read into
  // (the member semantics of hms/control.hpp: null is absent, a wrong type
  // is wrong_type, one string is a list of one):
  bool read(od::value& v, std::string& out, std::size_t depth);  // absent: ""
  bool read(od::value& v, std::optional<std::string>& out, std::size_t depth);
  bool read(od::value& v, bool& out, std::size_t depth);  // absent: false
  bool read(od::value& v, std::optional<bool>& out, std::size_t depth);
  // An array of strings, or one string s taken as [s] ([].concat(x) in the
  // reference); absent: empty.
  bool read(od::value& v, std::vector<std::string>& out, std::size_t depth);
  bool read(od::value& v, std::optional<std::vector<std::string>>& out, std::size_t depth);
  // An object; string values unescaped, others as their JSON text.
  bool read(od::value& v, std::optional<Env>& out, std::size_t depth);

  // A number that fits a double goes to `value`; any other non-null value
  // (a string, an object, 1e400) goes to `raw` as its JSON text. Both are
  // reset first; null leaves both empty. (Service::limit, Handshake::protocol.)
  bool number_or_raw(od::value& v, std::optional<double>& value,
                     std::optional<std::string>& raw, std::size_t depth);
  // An array of anything, each element kept as JSON text; null: [].
  bool raw_list(od::value& v, std::vector<std::string>& out, std::size_t depth);
  // An unknown member, appended to `out` as raw key + JSON text.
  bool extra(std::string_view raw_key, od::value& v, std::vector<RawMember>& out,
             std::size_t depth);

  // Appends the JSON text of `v` to `out`, validating all of it: containers
  // are rebuilt without whitespace, scalar tokens are copied as received
  // after a check (string escapes by simdjson, numbers by our grammar,
  // literals by simdjson).
  bool copy_raw(od::value& v, std::string& out, std::size_t depth);

  // Records a simdjson error at the position the iterator stopped at.
  bool fail_sj(simdjson::error_code e);

 private:
  bool fail(JsonError e, const char* at) noexcept;
  bool wrong_type(od::value& v) noexcept;
  // Open a container value at `depth`: too_deep beyond max_depth.
  bool open_object(od::value& v, od::object& obj, std::size_t depth);
  bool open_array(od::value& v, od::array& arr, std::size_t depth);
  const char* root_start() const noexcept;  // where the root value starts
  std::string_view whole_text() const noexcept;
  bool key_of(od::field& f, std::string_view& raw, std::string_view& name);
  bool type_of(od::value& v, od::json_type& t);
  bool type_or_null(od::value& v, od::json_type& t);  // a null is checked here
  bool check_null(od::value& v);
  bool get_string(od::value& v, std::string& out);
  bool number_token(od::value& v, std::string_view& token);

  od::parser& parser_;
  od::document doc_;
  const char* base_;
  std::size_t size_;
  std::size_t max_depth_;
  bool started_ = false;
  JsonError error_ = JsonError::none;
  std::size_t offset_ = 0;
};

// ---- hot per-member steps, inline: members() runs them for every member.

inline bool Reader::key_of(od::field& f, std::string_view& raw, std::string_view& name) {
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

inline bool Reader::type_of(od::value& v, od::json_type& t) {
  // TAPE_ERROR here: the token starts no JSON value at all (`[x]`).
  if (auto e = v.type().get(t)) return fail_sj(e);
  return true;
}

inline bool Reader::get_string(od::value& v, std::string& out) {
  std::string_view s;
  if (auto e = v.get_string().get(s)) return fail_sj(e);
  out.assign(s);
  return true;
}

// The member maps (control_messages.cpp): read one object of each kind, at
// `depth`, into `out`. Unknown members go to out.extra.
bool read_handshake(Reader& r, od::object& obj, Handshake& out, std::size_t depth);
bool read_service(Reader& r, od::object& obj, Service& out, std::size_t depth);
bool read_dock_processes(Reader& r, od::object& obj, DockProcesses& out, std::size_t depth);

}  // namespace detail
}  // namespace hms
