// libFuzzer entry point for the JSON control messages: every parse_*
// function of hms/control.hpp, on the same input.
//
// The input is copied into a block of exactly size + kJsonPadding bytes (so
// ASan catches a read past the padding the contract allows) and parsed in
// place, and once more through the copying path. For every outcome the
// invariants callers rely on are checked, and a violation traps:
//   - a result holds a value or a named error, never both, and the offset is
//     inside the text;
//   - in place and copying agree exactly;
//   - a parser with small limits fails only with too_deep or too_large
//     where the default one succeeds, and agrees where both succeed;
//   - a successful parse serializes (to_json) to text that parses back
//     equal, and serializing that gives the same bytes again (a fixed point:
//     the hub can store and forward what it read without drift);
//   - a scalar comes back as the trimmed input;
//   - the writer: the input as a string, escaped and parsed back, is the
//     same bytes; its first 8 bytes as a double print in a form that reads
//     back as the same double.
// Built with -fsanitize=fuzzer,address,undefined when HMS_FUZZ=ON; the
// normal test run replays tests/fuzz/corpus/fuzz_control/ through
// replay_main.cpp.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <simdjson.h>

#include <cmath>

#include "hms/control.hpp"

namespace {

// Trap, not abort or throw: libFuzzer and the sanitizers report it with a
// stack, and it needs nothing from the C++ runtime.
#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

// One parser per thread, reused across inputs as the engine reuses its
// per-thread parser: state left behind by a failed parse would show here.
hms::JsonParser& parser() {
  static hms::JsonParser p;
  return p;
}
hms::JsonParser& small_parser() {
  static hms::JsonParser p(hms::JsonLimits{.max_depth = 3, .max_size = 512});
  return p;
}

template <class T>
void check_shape(const hms::Parsed<T>& r, std::size_t size) {
  FUZZ_CHECK(r.value.has_value() == (r.error == hms::JsonError::none));
  FUZZ_CHECK(r.error_offset <= size);
  if (r.value) FUZZ_CHECK(r.error_offset == 0);
  FUZZ_CHECK(static_cast<std::uint8_t>(r.error) <= static_cast<std::uint8_t>(hms::JsonError::too_large));
}

template <class T>
bool same(const hms::Parsed<T>& a, const hms::Parsed<T>& b) {
  return a.value == b.value && a.error == b.error && a.error_offset == b.error_offset;
}

// The default parser succeeded; the small one may only run out of limits.
template <class T>
void check_limits(const hms::Parsed<T>& full, const hms::Parsed<T>& small) {
  if (!full) return;
  if (small) {
    FUZZ_CHECK(*small.value == *full.value);
  } else {
    FUZZ_CHECK(small.error == hms::JsonError::too_deep || small.error == hms::JsonError::too_large);
  }
}

// Parse, serialize, parse again: equal values, and the second serialization
// is byte-identical to the first.
template <class T, class Copy, class Serialize>
void check_round_trip(const T& value, Copy parse_copy, Serialize serialize) {
  const std::string json = serialize(value);
  auto again = parse_copy(parser(), json);
  FUZZ_CHECK(again.value.has_value());
  FUZZ_CHECK(*again.value == value);
  FUZZ_CHECK(serialize(*again.value) == json);
}

template <class T, class InPlace, class Copy>
hms::Parsed<T> run(hms::PaddedText text, std::string_view plain, InPlace in_place, Copy copy) {
  auto a = in_place(parser(), text);
  check_shape(a, text.size);
  auto b = copy(parser(), plain);
  FUZZ_CHECK(same(a, b));
  auto s = in_place(small_parser(), text);
  check_shape(s, text.size);
  check_limits(a, s);
  return a;
}

// The writer on its own: the input as a string (when it is utf-8, which is
// all the writer promises to carry) must come back from a parse unchanged,
// and the first 8 bytes as a double must read back as the same number.
void check_writer(std::string_view bytes) {
  if (simdjson::validate_utf8(bytes.data(), bytes.size())) {
    std::string json = "{\"start\":";
    hms::append_escaped(json, bytes);
    json += '}';
    auto r = hms::parse_service_copy(parser(), json);
    FUZZ_CHECK(r.value.has_value());
    FUZZ_CHECK(r.value->start == bytes);
  }
  if (bytes.size() >= sizeof(double)) {
    double v = 0;
    std::memcpy(&v, bytes.data(), sizeof v);
    std::string json = "{\"limit\":";
    hms::append_number(json, v);
    json += '}';
    auto r = hms::parse_service_copy(parser(), json);
    FUZZ_CHECK(r.value.has_value());
    if (std::isfinite(v)) {
      FUZZ_CHECK(r.value->limit.has_value() && *r.value->limit == v);  // -0 == 0
    } else {
      FUZZ_CHECK(!r.value->limit && !r.value->limit_raw);  // written as null
    }
  }
}

std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Exactly the padding the contract promises, no more.
  std::unique_ptr<char[]> block(new char[size + hms::kJsonPadding]);
  if (size != 0) std::memcpy(block.get(), data, size);
  std::memset(block.get() + size, 0, hms::kJsonPadding);
  const hms::PaddedText text{block.get(), size};
  const std::string_view plain(block.get(), size);

  auto serialize_one = [](const auto& v) { return hms::to_json(v); };

  auto h = run<hms::Handshake>(text, plain, hms::parse_handshake, hms::parse_handshake_copy);
  if (h) check_round_trip(*h.value, hms::parse_handshake_copy, serialize_one);

  auto s = run<hms::Service>(text, plain, hms::parse_service, hms::parse_service_copy);
  if (s) check_round_trip(*s.value, hms::parse_service_copy, serialize_one);

  auto sn = run<std::optional<hms::Service>>(text, plain, hms::parse_service_or_null,
                                             hms::parse_service_or_null_copy);
  if (sn) {
    // An object parses the same through both service parsers.
    FUZZ_CHECK(s.value.has_value() == sn.value->has_value());
    if (*sn.value) {
      FUZZ_CHECK(**sn.value == *s.value);
    } else {
      FUZZ_CHECK(trim(plain) == "null");
    }
  } else if (s) {
    __builtin_trap();  // a valid service is a valid service-or-null
  }

  auto list = run<std::vector<hms::Service>>(text, plain, hms::parse_service_list,
                                             hms::parse_service_list_copy);
  if (list) {
    check_round_trip(*list.value, hms::parse_service_list_copy,
                     [](const std::vector<hms::Service>& v) { return hms::to_json(v); });
  }

  auto ps = run<std::vector<hms::DockProcesses>>(text, plain, hms::parse_ps, hms::parse_ps_copy);
  if (ps) {
    check_round_trip(*ps.value, hms::parse_ps_copy,
                     [](const std::vector<hms::DockProcesses>& v) { return hms::to_json(v); });
  }

  auto scalar = run<std::string>(text, plain, hms::parse_scalar_raw, hms::parse_scalar_raw_copy);
  if (scalar) FUZZ_CHECK(*scalar.value == trim(plain));

  check_writer(plain);

  // Root kinds exclude each other (an array may be both a list and a ps).
  if (h || s) FUZZ_CHECK(!list && !ps && !scalar);
  if (scalar) FUZZ_CHECK(!h && !s && !list && !ps);
  return 0;
}
