#include "jsvalue.hpp"

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <new>

#include "hms/control.hpp"

namespace hms::cli {

namespace {

constexpr std::size_t kMaxDepth = 256;

std::uint32_t index_value(std::string_view key) noexcept {
  std::uint64_t v = 0;
  for (char c : key) v = v * 10 + static_cast<unsigned>(c - '0');
  return static_cast<std::uint32_t>(v);
}

}  // namespace

bool is_array_index(std::string_view key) noexcept {
  if (key.empty() || key.size() > 10) return false;
  if (key.size() > 1 && key[0] == '0') return false;
  std::uint64_t v = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v < 0xffffffffull;  // 2^32 - 1 is not an index
}

bool JsValue::truthy() const noexcept {
  switch (kind_) {
    case Kind::undefined:
    case Kind::null: return false;
    case Kind::boolean: return b_;
    case Kind::number: return n_ != 0 && !std::isnan(n_);
    case Kind::string: return !s_.empty();
    case Kind::array:
    case Kind::object: return true;
  }
  return false;
}

const JsValue* JsValue::get(std::string_view key) const noexcept {
  for (const auto& m : members_)
    if (m.first == key) return &m.second;
  return nullptr;
}

JsValue* JsValue::get(std::string_view key) noexcept {
  for (auto& m : members_)
    if (m.first == key) return &m.second;
  return nullptr;
}

void JsValue::set(std::string_view key, JsValue v) {
  if (JsValue* cur = get(key)) {
    *cur = std::move(v);
    return;
  }
  if (is_array_index(key)) {
    // Integer-like keys sit first, in ascending order.
    const std::uint32_t k = index_value(key);
    auto it = members_.begin();
    while (it != members_.end() && is_array_index(it->first) && index_value(it->first) < k) ++it;
    members_.emplace(it, std::string(key), std::move(v));
    return;
  }
  members_.emplace_back(std::string(key), std::move(v));
}

void JsValue::erase(std::string_view key) {
  for (auto it = members_.begin(); it != members_.end(); ++it) {
    if (it->first == key) {
      members_.erase(it);
      return;
    }
  }
}

std::string JsValue::to_js_string() const {
  switch (kind_) {
    case Kind::undefined: return "undefined";
    case Kind::null: return "null";
    case Kind::boolean: return b_ ? "true" : "false";
    case Kind::number: {
      if (std::isnan(n_)) return "NaN";
      if (std::isinf(n_)) return n_ > 0 ? "Infinity" : "-Infinity";
      std::string out;
      append_number(out, n_);
      return out;
    }
    case Kind::string: return s_;
    case Kind::array: {
      // Array.prototype.join(','): null and undefined items are empty.
      std::string out;
      for (std::size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ',';
        if (!items_[i].is_null() && !items_[i].is_undefined()) out += items_[i].to_js_string();
      }
      return out;
    }
    case Kind::object: return "[object Object]";
  }
  return {};
}

std::string JsValue::stringify(int indent) const {
  std::string out;
  if (!is_undefined()) stringify_into(out, indent, 0);
  return out;
}

void JsValue::stringify_into(std::string& out, int indent, int depth) const {
  const auto newline = [&](int d) {
    if (indent <= 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(indent) * static_cast<std::size_t>(d), ' ');
  };
  switch (kind_) {
    case Kind::undefined:
    case Kind::null: out += "null"; return;
    case Kind::boolean: out += b_ ? "true" : "false"; return;
    case Kind::number: append_number(out, n_); return;
    case Kind::string: append_escaped(out, s_); return;
    case Kind::array: {
      if (items_.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (std::size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        items_[i].stringify_into(out, indent, depth + 1);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Kind::object: {
      bool first = true;
      out += '{';
      for (const auto& [k, v] : members_) {
        if (v.is_undefined()) continue;
        if (!first) out += ',';
        first = false;
        newline(depth + 1);
        append_escaped(out, k);
        out += indent > 0 ? ": " : ":";
        v.stringify_into(out, indent, depth + 1);
      }
      if (!first) newline(depth);
      out += '}';
      return;
    }
  }
}

namespace {

bool convert(simdjson::dom::element e, JsValue* out, std::size_t depth, std::string* err) {
  if (depth > kMaxDepth) {
    *err = "JSON nested too deep";
    return false;
  }
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      *out = JsValue::array();
      simdjson::dom::array arr;
      if (e.get_array().get(arr) != simdjson::SUCCESS) return false;
      for (simdjson::dom::element item : arr) {
        JsValue v;
        if (!convert(item, &v, depth + 1, err)) return false;
        out->push(std::move(v));
      }
      return true;
    }
    case simdjson::dom::element_type::OBJECT: {
      *out = JsValue::object();
      simdjson::dom::object obj;
      if (e.get_object().get(obj) != simdjson::SUCCESS) return false;
      for (simdjson::dom::key_value_pair kv : obj) {
        JsValue v;
        if (!convert(kv.value, &v, depth + 1, err)) return false;
        out->set(kv.key, std::move(v));  // a duplicate: first place, last value
      }
      return true;
    }
    case simdjson::dom::element_type::INT64:
      *out = JsValue::number(static_cast<double>(e.get_int64().value_unsafe()));
      return true;
    case simdjson::dom::element_type::UINT64:
      *out = JsValue::number(static_cast<double>(e.get_uint64().value_unsafe()));
      return true;
    case simdjson::dom::element_type::DOUBLE:
      *out = JsValue::number(e.get_double().value_unsafe());
      return true;
    case simdjson::dom::element_type::STRING:
      *out = JsValue::string(std::string(e.get_string().value_unsafe()));
      return true;
    case simdjson::dom::element_type::BOOL:
      *out = JsValue::boolean(e.get_bool().value_unsafe());
      return true;
    case simdjson::dom::element_type::NULL_VALUE:
      *out = JsValue::null();
      return true;
  }
  *err = "unknown JSON value";
  return false;
}

}  // namespace

JsParse parse_json(std::string_view text) {
  JsParse r;
  try {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    const simdjson::padded_string padded(text);
    if (auto e = parser.parse(padded).get(root); e != simdjson::SUCCESS) {
      r.error = simdjson::error_message(e);
      return r;
    }
    if (!convert(root, &r.value, 1, &r.error)) r.value = JsValue();
  } catch (const std::bad_alloc&) {
    r.error = "out of memory";
  }
  return r;
}

}  // namespace hms::cli
