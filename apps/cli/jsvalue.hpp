// A JSON value with JavaScript's semantics, for what the CLI shows and stores.
//
// The reference CLI JSON.parse()s replies and the config file and renders
// them with JavaScript's rules, and those rules are visible in its output:
// object keys come out in property order (integer-like keys first, ascending,
// then the others in insertion order), a duplicate key keeps its first
// position and its last value, every number is a double, and `'' + value`
// turns an array into its items joined by ',' and an object into
// "[object Object]". JsValue reproduces exactly that, so a list, a ps tree or
// a remotes entry prints as the reference prints it, whatever the server or
// the file holds (a hostile reply is just an odd value, never a crash).
//
// Parsing goes through simdjson's DOM parser (depth-limited, validated
// UTF-8); nothing here throws on bad input: parse() returns an error text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hms::cli {

class JsValue {
 public:
  enum class Kind : unsigned char { undefined, null, boolean, number, string, array, object };
  using Member = std::pair<std::string, JsValue>;

  JsValue() = default;  // undefined
  static JsValue null() { return JsValue(Kind::null); }
  static JsValue boolean(bool b) { JsValue v(Kind::boolean); v.b_ = b; return v; }
  static JsValue number(double n) { JsValue v(Kind::number); v.n_ = n; return v; }
  static JsValue string(std::string s) { JsValue v(Kind::string); v.s_ = std::move(s); return v; }
  static JsValue array() { return JsValue(Kind::array); }
  static JsValue object() { return JsValue(Kind::object); }

  Kind kind() const noexcept { return kind_; }
  bool is_undefined() const noexcept { return kind_ == Kind::undefined; }
  bool is_null() const noexcept { return kind_ == Kind::null; }
  bool is_string() const noexcept { return kind_ == Kind::string; }
  bool is_number() const noexcept { return kind_ == Kind::number; }
  bool is_array() const noexcept { return kind_ == Kind::array; }
  bool is_object() const noexcept { return kind_ == Kind::object; }
  // null, undefined or anything but an object/array (pretty-tree's "atomic").
  bool is_atomic() const noexcept { return kind_ != Kind::array && kind_ != Kind::object; }
  // JavaScript truthiness: false for undefined, null, false, 0, NaN and "".
  bool truthy() const noexcept;

  bool as_bool() const noexcept { return b_; }
  double as_number() const noexcept { return n_; }
  const std::string& as_string() const noexcept { return s_; }

  // Arrays.
  const std::vector<JsValue>& items() const noexcept { return items_; }
  std::vector<JsValue>& items() noexcept { return items_; }
  void push(JsValue v) { items_.push_back(std::move(v)); }

  // Objects: members in JavaScript property order.
  const std::vector<Member>& members() const noexcept { return members_; }
  // The member's value, or nullptr when absent (or not an object).
  const JsValue* get(std::string_view key) const noexcept;
  JsValue* get(std::string_view key) noexcept;
  // Sets a member as `obj[key] = v` does: an existing key keeps its place, a
  // new one goes where JavaScript would put it.
  void set(std::string_view key, JsValue v);
  void erase(std::string_view key);

  // `'' + value` in JavaScript.
  std::string to_js_string() const;

  // JSON.stringify(value) (indent 0) or JSON.stringify(value, null, indent):
  // undefined members are left out, undefined array items and non-finite
  // numbers become null. An undefined root gives "" (JS gives undefined).
  std::string stringify(int indent = 0) const;

 private:
  explicit JsValue(Kind k) : kind_(k) {}
  void stringify_into(std::string& out, int indent, int depth) const;

  Kind kind_ = Kind::undefined;
  bool b_ = false;
  double n_ = 0;
  std::string s_;
  std::vector<JsValue> items_;
  std::vector<Member> members_;
};

// True when `key` is an array index in JavaScript's sense (the canonical
// decimal text of an integer below 2^32 - 1): such keys come first in
// property order, ascending.
bool is_array_index(std::string_view key) noexcept;

struct JsParse {
  JsValue value;
  std::string error;  // empty on success
  bool ok() const noexcept { return error.empty(); }
};
// JSON.parse(text). Nesting deeper than 256 levels is an error (our own
// guard: the renderers recurse).
JsParse parse_json(std::string_view text);

}  // namespace hms::cli
