// Helpers shared by the control-message tests: inputs on guard pages, and
// parses done both in place and through the copy path.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hms/control.hpp"
#include "support/guarded.hpp"

namespace hms::controltest {

using hms::DockProcesses;
using hms::Handshake;
using hms::JsonError;
using hms::JsonParser;
using hms::PaddedText;
using hms::Service;

// In-place inputs: the text, then exactly kJsonPadding spare bytes, then the
// guard page. simdjson may read the padding but an over-read beyond it
// crashes the test.
struct PaddedGuarded {
  explicit PaddedGuarded(std::string_view text)
      : g(std::string(text) + std::string(hms::kJsonPadding, '\0')), size(text.size()) {}
  PaddedText text() const { return {g.chars(), size}; }
  hms::test::Guarded g;
  std::size_t size;
};

template <class T>
inline std::string describe(const hms::Parsed<T>& r) {
  return std::string(hms::to_string(r.error)) + " at " + std::to_string(r.error_offset);
}

// Parses `text` both in place (padded, guarded) and through the copy path
// (unpadded, guarded) and checks that both agree.
template <class T, class InPlace, class Copy>
inline hms::Parsed<T> both(std::string_view text, InPlace in_place, Copy copy) {
  JsonParser parser;
  PaddedGuarded padded(text);
  auto a = in_place(parser, padded.text());
  hms::test::Guarded unpadded(text);
  auto b = copy(parser, std::string_view(unpadded.chars(), unpadded.size()));
  EXPECT_EQ(a.value, b.value) << text;
  EXPECT_EQ(a.error, b.error) << text;
  EXPECT_EQ(a.error_offset, b.error_offset) << text;
  return a;
}

inline hms::Parsed<Handshake> handshake(std::string_view t) {
  return both<Handshake>(t, hms::parse_handshake, hms::parse_handshake_copy);
}
inline hms::Parsed<Service> service(std::string_view t) {
  return both<Service>(t, hms::parse_service, hms::parse_service_copy);
}
inline hms::Parsed<std::optional<Service>> service_or_null(std::string_view t) {
  return both<std::optional<Service>>(t, hms::parse_service_or_null,
                                      hms::parse_service_or_null_copy);
}
inline hms::Parsed<std::vector<Service>> service_list(std::string_view t) {
  return both<std::vector<Service>>(t, hms::parse_service_list, hms::parse_service_list_copy);
}
inline hms::Parsed<std::vector<DockProcesses>> ps(std::string_view t) {
  return both<std::vector<DockProcesses>>(t, hms::parse_ps, hms::parse_ps_copy);
}
inline hms::Parsed<std::string> scalar(std::string_view t) {
  return both<std::string>(t, hms::parse_scalar_raw, hms::parse_scalar_raw_copy);
}


}  // namespace hms::controltest
