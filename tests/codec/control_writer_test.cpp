// JSON control messages, the writer side: escaping as JSON.stringify does,
// numbers laid out as JavaScript does, structure; and the parser's depth
// limit and reuse.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "codec/control_helpers.hpp"
#include "hms/control.hpp"

namespace {

using namespace hms::controltest;
using hms::JsonError;
using hms::JsonParser;
using hms::PaddedText;
using hms::Service;

// ---- writer

TEST(ControlWriter, EscapesLikeJsonStringify) {
  // Every byte below 0x20, as JSON.stringify writes it.
  const char* const expected[32] = {
      "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
      "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
      "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
      "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
  for (int c = 0; c < 32; ++c) {
    std::string out;
    hms::append_escaped(out, std::string(1, static_cast<char>(c)));
    EXPECT_EQ(out, std::string("\"") + expected[c] + "\"") << c;
  }
  std::string out;
  hms::append_escaped(out, "a\"b\\c/d\x7f" "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x80\xa8");
  // Quote and backslash escaped; '/', DEL, utf-8 (U+2028 too) as is.
  EXPECT_EQ(out, "\"a\\\"b\\\\c/d\x7f" "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x80\xa8\"");
  std::string empty;
  hms::append_escaped(empty, "");
  EXPECT_EQ(empty, "\"\"");
}

TEST(ControlWriter, EveryByteSurvivesAParse) {
  // All of 0x01..0x7f plus multi-byte utf-8, in one string, through the
  // writer and back through simdjson (as a service start command).
  std::string s;
  for (int c = 1; c < 0x80; ++c) s += static_cast<char>(c);
  s += std::string("\0", 1);
  s += "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80";
  Service svc;
  svc.start = s;
  svc.env = {{s, s}};
  const std::string json = hms::to_json(svc);
  auto r = service(json);
  ASSERT_TRUE(r) << describe(r);
  EXPECT_EQ(r.value->start, s);
  EXPECT_EQ(*r.value, svc);
}

TEST(ControlWriter, NumbersLikeJavaScript) {
  const std::pair<double, const char*> cases[] = {
      {0.0, "0"},
      {-0.0, "0"},
      {1, "1"},
      {-1, "-1"},
      {100, "100"},
      {1.5, "1.5"},
      {-2.25, "-2.25"},
      {0.1, "0.1"},
      {0.1 + 0.2, "0.30000000000000004"},
      {123.456, "123.456"},
      {1e15, "1000000000000000"},
      {9007199254740992.0, "9007199254740992"},
      {1e20, "100000000000000000000"},
      {123456789012345678901.0, "123456789012345680000"},
      {1e21, "1e+21"},
      {1.5e21, "1.5e+21"},
      {1e-6, "0.000001"},
      {-1.2e-6, "-0.0000012"},
      {1e-7, "1e-7"},
      {1.5e300, "1.5e+300"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {std::numeric_limits<double>::quiet_NaN(), "null"},
      {std::numeric_limits<double>::infinity(), "null"},
      {-std::numeric_limits<double>::infinity(), "null"},
  };
  for (const auto& [v, want] : cases) {
    std::string out;
    hms::append_number(out, v);
    EXPECT_EQ(out, want) << v;
  }
}

TEST(ControlWriter, NumbersReadBackExactly) {
  // The shortest form must still be the same double.
  const double samples[] = {0.1, 1.0 / 3, 2.0 / 3 * 1e-5, 6.02214076e23, 1e-300, 4.35e-7,
                            12345.678901234567, -9.87654321e-12, 3e22, 2.5e-6};
  for (double v : samples) {
    std::string out;
    hms::append_number(out, v);
    EXPECT_EQ(std::strtod(out.c_str(), nullptr), v) << out;
  }
}

TEST(ControlWriter, StructureAndCommas) {
  std::string out;
  hms::JsonWriter w(out);
  w.begin_object()
      .key("a").begin_array().integer(1).integer(-2).number(2.5).boolean(true).null().end_array()
      .key("b").begin_object().end_object()
      .raw_key("c\\u0041").raw(R"({"x":1})")
      .key("d").begin_array().begin_array().end_array().begin_object().key("e").string("f")
      .end_object().end_array()
      .key("g").integer(INT64_MIN)
      .end_object();
  EXPECT_EQ(out, R"({"a":[1,-2,2.5,true,null],"b":{},"c\u0041":{"x":1},"d":[[],{"e":"f"}],)"
                 R"("g":-9223372036854775808})");
  // A writer appends, it never clears.
  std::string prefix = "x";
  hms::JsonWriter w2(prefix);
  w2.string("y");
  EXPECT_EQ(prefix, "x\"y\"");
}

TEST(ControlDepth, NestingUpToTheLimitIsFine) {
  JsonParser parser(hms::JsonLimits{.max_depth = 5});
  // Root (1) > x (2) > [ (3) > { (4) > [ (5).
  const std::string ok = R"({"x":[{"y":[1]}]})";
  PaddedGuarded a(ok);
  auto r = hms::parse_service(parser, a.text());
  ASSERT_TRUE(r) << describe(r);
  EXPECT_EQ(r.value->extra[0].value, R"([{"y":[1]}])");

  // The default limit: 1000 levels of unknown member parse.
  const std::string deep = "{\"x\":" + std::string(1000, '[') + std::string(1000, ']') + "}";
  JsonParser big;
  PaddedGuarded b(deep);
  auto d = hms::parse_service(big, b.text());
  ASSERT_TRUE(d) << describe(d);
  EXPECT_EQ(d.value->extra[0].value.size(), 2000u);
}

TEST(ControlParser, ReusableAndMovable) {
  JsonParser parser;
  for (int i = 0; i < 3; ++i) {
    // Appended, not "literal" + std::string: GCC 12 at -O3 reports a false
    // -Wrestrict for the latter.
    std::string id = "s";
    id += std::to_string(i);
    const std::string text = R"({"id":")" + id + R"("})";
    auto r = hms::parse_service_copy(parser, text);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.value->id, id);
  }
  JsonParser moved(std::move(parser));
  auto r = hms::parse_service_copy(moved, R"({"id":"m"})");
  ASSERT_TRUE(r);
  // The copy path's scratch grows and is reused for a bigger text.
  const std::string big = "{\"id\":\"" + std::string(100000, 'z') + "\"}";
  auto b = hms::parse_service_copy(moved, big);
  ASSERT_TRUE(b);
  EXPECT_EQ(b.value->id.size(), 100000u);
  // Results own their strings: they outlive the parser.
  Service kept = *b.value;
  { JsonParser gone = std::move(moved); }
  EXPECT_EQ(kept.id[99999], 'z');
}


}  // namespace
