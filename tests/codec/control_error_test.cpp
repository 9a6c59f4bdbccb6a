// JSON control messages that must be refused: each JsonError kind, wrong
// types, depth, size, empty and truncated text, trailing content. Every
// input ends on a guard page (padded for the in-place API, unpadded for the
// copy path), so an over-read crashes instead of passing.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hms/control.hpp"
#include "support/guarded.hpp"

namespace {

using hms::JsonError;
using hms::JsonParser;
using hms::PaddedText;

struct PaddedGuarded {
  explicit PaddedGuarded(std::string_view text)
      : g(std::string(text) + std::string(hms::kJsonPadding, '\0')), size(text.size()) {}
  PaddedText text() const { return {g.chars(), size}; }
  hms::test::Guarded g;
  std::size_t size;
};

// The outcome of one parse, reduced to what the error tests compare.
struct Outcome {
  bool ok = false;
  JsonError error = JsonError::none;
  std::size_t offset = 0;
  bool operator==(const Outcome&) const = default;
};

template <class T>
Outcome outcome(const hms::Parsed<T>& r) {
  // A failed parse never carries a value; a good one never an error.
  EXPECT_EQ(r.value.has_value(), r.error == JsonError::none);
  return {r.value.has_value(), r.error, r.error_offset};
}

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << (o.ok ? "ok" : "failed") << ' ' << hms::to_string(o.error) << " at " << o.offset;
}

enum class Api { handshake, service, service_or_null, list, ps, scalar };
constexpr Api kAllApis[] = {Api::handshake, Api::service, Api::service_or_null,
                            Api::list,      Api::ps,      Api::scalar};

// Runs one API on `text`, in place and copying, and checks they agree.
Outcome parse(JsonParser& parser, Api api, std::string_view text) {
  PaddedGuarded padded(text);
  hms::test::Guarded unpadded(text);
  const std::string_view plain(unpadded.chars(), unpadded.size());
  Outcome a, b;
  switch (api) {
    case Api::handshake:
      a = outcome(hms::parse_handshake(parser, padded.text()));
      b = outcome(hms::parse_handshake_copy(parser, plain));
      break;
    case Api::service:
      a = outcome(hms::parse_service(parser, padded.text()));
      b = outcome(hms::parse_service_copy(parser, plain));
      break;
    case Api::service_or_null:
      a = outcome(hms::parse_service_or_null(parser, padded.text()));
      b = outcome(hms::parse_service_or_null_copy(parser, plain));
      break;
    case Api::list:
      a = outcome(hms::parse_service_list(parser, padded.text()));
      b = outcome(hms::parse_service_list_copy(parser, plain));
      break;
    case Api::ps:
      a = outcome(hms::parse_ps(parser, padded.text()));
      b = outcome(hms::parse_ps_copy(parser, plain));
      break;
    case Api::scalar:
      a = outcome(hms::parse_scalar_raw(parser, padded.text()));
      b = outcome(hms::parse_scalar_raw_copy(parser, plain));
      break;
  }
  EXPECT_EQ(a, b) << "in place vs copy: " << text;
  return a;
}

Outcome parse(Api api, std::string_view text) {
  JsonParser parser;
  return parse(parser, api, text);
}

Outcome failed(JsonError e, std::size_t offset) { return {false, e, offset}; }

TEST(ControlError, Names) {
  EXPECT_STREQ(hms::to_string(JsonError::none), "none");
  EXPECT_STREQ(hms::to_string(JsonError::invalid_json), "invalid_json");
  EXPECT_STREQ(hms::to_string(JsonError::wrong_type), "wrong_type");
  EXPECT_STREQ(hms::to_string(JsonError::too_deep), "too_deep");
  EXPECT_STREQ(hms::to_string(JsonError::too_large), "too_large");
  EXPECT_STREQ(hms::to_string(static_cast<JsonError>(200)), "unknown");
}

TEST(ControlError, EmptyAndWhitespaceOnly) {
  for (Api api : kAllApis) {
    EXPECT_EQ(parse(api, ""), failed(JsonError::invalid_json, 0));
    EXPECT_EQ(parse(api, " \n\t\r ").error, JsonError::invalid_json);
  }
  // A default PaddedText: null pointer, no bytes. Refused without a read.
  JsonParser parser;
  const auto r = hms::parse_service(parser, PaddedText{});
  EXPECT_EQ(r.error, JsonError::invalid_json);
  EXPECT_EQ(hms::parse_scalar_raw_copy(parser, std::string_view()).error, JsonError::invalid_json);
}

TEST(ControlError, InvalidJson) {
  const char* const bad[] = {
      "{",
      "}",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\" 1}",
      "{\"a\":1,}",
      "{,\"a\":1}",
      "{\"a\":1 \"b\":2}",
      "{'a':1}",
      "{a:1}",
      "{1:1}",
      "{\"a\":[1 2]}",
      "{\"a\":[1,]}",
      "{\"a\":[,1]}",
      "{\"a\":tru}",
      "{\"a\":truex}",
      "{\"a\":nul}",
      "{\"a\":nulll}",
      "{\"a\":fals}",
      "{\"a\":01}",
      "{\"a\":-}",
      "{\"a\":1.}",
      "{\"a\":.5}",
      "{\"a\":+1}",
      "{\"a\":1e}",
      "{\"a\":1e+}",
      "{\"a\":0x10}",
      "{\"a\":NaN}",
      "{\"a\":Infinity}",
      "{\"a\":\"\\x\"}",
      "{\"a\":\"\\u12\"}",
      "{\"a\":\"\\u12G4\"}",
      "{\"a\":\"tab\there\"}",
      "{\"a\":\"nl\nhere\"}",
      "{\"a\":\"\xff\"}",
      "{\"a\":\"\xc3\"}",
      "{\"a\":\"\xed\xa0\x80\"}",  // a surrogate encoded as utf-8
      "{\"a\":\"unclosed}",
      "{\"a\\q\":1}",
      "{\"a\":1} // comment",
      "{\"a\":[}",
      "{\"a\":{]}",
      "{\"a\":{\"b\":1}",
      "{\"start\":1e5x}",
      "{\"limit\":1e5x}",
      "{\"limit\":-}",
      "{\"env\":{\"A\":tru}}",
      "{\"env\":{\"A\":[1 2]}}",
      "{\"docks\":[\"a\" \"b\"]}",
      "{\"stopped\":tru}",
      "{\"id\":\"\\z\"}",
      // A lone utf-16 surrogate: JSON.parse takes it, but a utf-8 string
      // cannot hold it (documented in control.hpp).
      "{\"start\":\"\\ud800\"}",
      "{\"start\":\"\\udc00x\"}",
      "{\"x\":\"\\ud800\\u0041\"}",
  };
  for (const char* in : bad) {
    EXPECT_EQ(parse(Api::service, in).error, JsonError::invalid_json) << in;
    EXPECT_EQ(parse(Api::handshake, in).error, JsonError::invalid_json) << in;
  }
}

TEST(ControlError, TrailingContent) {
  EXPECT_EQ(parse(Api::service, "{\"a\":1}{}"), failed(JsonError::invalid_json, 7));
  EXPECT_EQ(parse(Api::service, "{} {}"), failed(JsonError::invalid_json, 3));
  EXPECT_EQ(parse(Api::service, "{}}").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::service, "{}x").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::service, "{}  1").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::list, "[][]").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::list, "[]]").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::ps, "[] 1").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::scalar, "900 1").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::scalar, "900x").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::scalar, "\"a\" \"b\"").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::scalar, "\"a\"]").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::service_or_null, "null null").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::service_or_null, "nullx").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::service_or_null, "nul").error, JsonError::invalid_json);
  EXPECT_EQ(parse(Api::service_or_null, "{}null").error, JsonError::invalid_json);
}

TEST(ControlError, WrongRootType) {
  struct Case {
    Api api;
    const char* in;
  };
  const Case cases[] = {
      {Api::handshake, "[]"},        {Api::handshake, "null"},   {Api::handshake, "1"},
      {Api::handshake, "\"dock\""},  {Api::handshake, "true"},   {Api::service, "[{}]"},
      {Api::service, "null"},        {Api::service_or_null, "[]"}, {Api::service_or_null, "0"},
      {Api::service_or_null, "false"}, {Api::list, "{}"},        {Api::list, "null"},
      {Api::list, "\"x\""},          {Api::ps, "{}"},            {Api::ps, "3"},
      {Api::scalar, "{}"},           {Api::scalar, "[1]"},       {Api::scalar, "null"},
      {Api::scalar, "true"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse(c.api, c.in), failed(JsonError::wrong_type, 0)) << c.in;
  }
  // The offset is where the root value starts.
  EXPECT_EQ(parse(Api::handshake, "  [1]"), failed(JsonError::wrong_type, 2));
}

TEST(ControlError, WrongMemberType) {
  struct Case {
    Api api;
    const char* in;
    std::size_t offset;  // where the offending value starts
  };
  const Case cases[] = {
      {Api::handshake, R"({"tags":5})", 8},
      {Api::handshake, R"({"tags":[1]})", 9},
      {Api::handshake, R"({"tags":{}})", 8},
      {Api::handshake, R"({"type":1})", 8},
      {Api::handshake, R"({"id":["a"]})", 6},
      {Api::handshake, R"({"hostname":true})", 12},
      {Api::handshake, R"({"version":2})", 11},
      {Api::handshake, R"({"default":"yes"})", 11},
      {Api::handshake, R"({"default":1})", 11},
      {Api::handshake, R"({"route":5})", 9},
      {Api::handshake, R"({"token":{}})", 9},
      {Api::service, R"({"id":5})", 6},
      {Api::service, R"({"start":["node"]})", 9},
      {Api::service, R"({"build":false})", 9},
      {Api::service, R"({"docks":5})", 9},
      {Api::service, R"({"docks":["a",null]})", 14},
      {Api::service, R"({"tags":{"a":1}})", 8},
      {Api::service, R"({"revision":1})", 12},
      {Api::service, R"({"env":[]})", 7},
      {Api::service, R"({"env":"A=1"})", 7},
      {Api::service, R"({"deployed":1700000000000})", 12},
      {Api::service, R"({"cwd":0})", 7},
      {Api::service, R"({"stopped":"yes"})", 11},
      {Api::service, R"({"stopped":0})", 11},
      {Api::list, R"([{},1])", 4},
      {Api::list, R"([{"tags":1}])", 9},
      {Api::ps, R"([[]])", 1},
      {Api::ps, R"([{"list":{}}])", 9},
      {Api::ps, R"([{"id":1}])", 7},
      {Api::ps, R"([{"tags":[true]}])", 10},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse(c.api, c.in), failed(JsonError::wrong_type, c.offset)) << c.in;
  }
  // The same member through sync's parser.
  EXPECT_EQ(parse(Api::service_or_null, R"({"stopped":1})"), failed(JsonError::wrong_type, 11));
}

TEST(ControlError, WrongTypeOnlyForWellFormedJson) {
  // The parse stops at the first wrong member; the rest of the text is
  // still checked so that wrong_type always means "valid JSON".
  const std::pair<Api, const char*> invalid[] = {
      {Api::service, R"({"start":1e5x})"},
      {Api::service, R"({"tags":5,,})"},
      {Api::service, R"({"tags":5} x)"},
      {Api::service, R"({"tags":5}{})"},
      {Api::service, R"({"tags":5,"a":[1 2]})"},
      {Api::service, R"({"tags":5,"a":"\q"})"},
      {Api::handshake, "[1 2]"},
      {Api::handshake, "[1,"},
      {Api::handshake, R"("\x")"},
      {Api::handshake, R"("a" 1)"},
      {Api::handshake, "tru"},
      {Api::handshake, "nul"},
      {Api::handshake, "01"},
      {Api::handshake, "1 2"},
      {Api::list, R"([1,{"a":tru}])"},
      {Api::scalar, "[1 2]"},
      {Api::scalar, "{\"a\"}"},
  };
  for (const auto& [api, in] : invalid) {
    EXPECT_EQ(parse(api, in).error, JsonError::invalid_json) << in;
  }
  const std::string deep = R"({"tags":5,"x":)" + std::string(2000, '[') + std::string(2000, ']') + "}";
  EXPECT_EQ(parse(Api::service, deep).error, JsonError::too_deep);
  // Well-formed after the wrong member: wrong_type, at the member.
  EXPECT_EQ(parse(Api::service, R"({"tags":5,"a":[1,{"b":null}]} )"),
            failed(JsonError::wrong_type, 8));
}

TEST(ControlError, TooDeep) {
  for (int n : {1100, 100000}) {
    const std::string deep = "{\"x\":" + std::string(n, '[') + std::string(n, ']') + "}";
    const Outcome o = parse(Api::service, deep);
    EXPECT_EQ(o.error, JsonError::too_deep) << n;
    // The first bracket beyond the 1024 levels: root is level 1, so the
    // 1024th '[' (offset 5 + 1023) is still fine.
    EXPECT_EQ(o.offset, 5u + 1023u) << n;
    const std::string objects = [&] {
      std::string s = "[";
      for (int i = 0; i < n; ++i) s += "{\"a\":";
      s += "1";
      for (int i = 0; i < n; ++i) s += "}";
      return s + "]";
    }();
    EXPECT_EQ(parse(Api::ps, objects).error, JsonError::too_deep) << n;
    EXPECT_EQ(parse(Api::list, objects).error, JsonError::too_deep) << n;
  }
  // A tighter limit applies to every container, known members included.
  JsonParser shallow(hms::JsonLimits{.max_depth = 2});
  EXPECT_TRUE(parse(shallow, Api::service, R"({"docks":["a"],"env":{"A":"1"}})").ok);
  EXPECT_EQ(parse(shallow, Api::service, R"({"x":[[]]})"), failed(JsonError::too_deep, 6));
  EXPECT_EQ(parse(shallow, Api::service, R"({"env":{"A":[]}})"), failed(JsonError::too_deep, 12));
  EXPECT_EQ(parse(shallow, Api::service, R"({"limit":{"a":{}}})"),
            failed(JsonError::too_deep, 14));
  EXPECT_EQ(parse(shallow, Api::list, R"([{"docks":[]}])"), failed(JsonError::too_deep, 10));
  EXPECT_EQ(parse(shallow, Api::ps, R"([{"list":[]}])"), failed(JsonError::too_deep, 9));
  JsonParser none(hms::JsonLimits{.max_depth = 0});
  EXPECT_EQ(parse(none, Api::service, "{}"), failed(JsonError::too_deep, 0));
  EXPECT_EQ(parse(none, Api::list, "[]"), failed(JsonError::too_deep, 0));
  EXPECT_TRUE(parse(none, Api::scalar, "1").ok);
}

TEST(ControlError, TooLarge) {
  JsonParser small(hms::JsonLimits{.max_size = 16});
  EXPECT_TRUE(parse(small, Api::service, R"({"id":"1234567"})").ok);  // exactly 16
  for (Api api : kAllApis) {
    EXPECT_EQ(parse(small, api, R"({"id":"12345678"})"), failed(JsonError::too_large, 0));
  }
  // Refused before any byte is read: a huge size with a bogus pointer.
  const auto r = hms::parse_service(small, PaddedText{nullptr, std::size_t{1} << 40});
  EXPECT_EQ(r.error, JsonError::too_large);
}

TEST(ControlError, EveryTruncationFails) {
  // Every strict prefix of these documents is incomplete JSON.
  const std::pair<Api, std::string> docs[] = {
      {Api::handshake,
       R"({"type":"dock","id":"dock-1","hostname":"host-a","tags":["web","eu"],)"
       R"("default":false,"version":"3.3.0","protocol":1})"},
      {Api::service,
       R"({"id":"web","start":"node .","build":"npm install","docks":["dock-1"],)"
       R"("env":{"FOO":"bar","N":1.5e3},"limit":2,"stopped":true,"x":{"y":[null,"\u00e9"]}})"},
      {Api::service_or_null, R"({"start":"node .","build":"npm install","docks":["dock-1"]})"},
      {Api::list, R"([{"id":"web","start":"node .","docks":["dock-1"],"env":{"FOO":"bar"}}])"},
      {Api::ps,
       R"([{"id":"dock-1","hostname":"host-a","tags":["web"],"list":[{"id":"web","pid":900,)"
       R"("status":"running","started":"2026-11-24T00:00:00.000Z"}]}])"},
      {Api::scalar, R"("SIGTERM")"},
  };
  JsonParser parser;
  for (const auto& [api, doc] : docs) {
    ASSERT_TRUE(parse(parser, api, doc).ok) << doc;
    for (std::size_t n = 0; n < doc.size(); ++n) {
      const Outcome o = parse(parser, api, std::string_view(doc).substr(0, n));
      EXPECT_FALSE(o.ok) << n << ": " << doc.substr(0, n);
      EXPECT_EQ(o.error, JsonError::invalid_json) << n << ": " << doc.substr(0, n);
      EXPECT_LE(o.offset, n);
    }
  }
}

TEST(ControlError, ErrorsDoNotPoisonTheParser) {
  JsonParser parser;
  for (const char* bad : {"{", "{\"a\":[1 2]}", "[]", "{\"tags\":5}", "\xff"}) {
    EXPECT_FALSE(parse(parser, Api::handshake, bad).ok) << bad;
    EXPECT_TRUE(parse(parser, Api::handshake, R"({"type":"client","protocol":1})").ok) << bad;
  }
}

TEST(ControlError, OffsetsPointAtTheProblem) {
  // Syntax errors: somewhere at or after the bad token, never past the end.
  const std::pair<const char*, std::size_t> cases[] = {
      {R"({"a":[1 2]})", 8},
      {R"({"a":01})", 5},
      {R"({"x":1,"a":tru})", 11},
      {R"({"x":1,"a":"\q"})", 11},
  };
  for (const auto& [in, at] : cases) {
    const Outcome o = parse(Api::service, in);
    EXPECT_EQ(o.error, JsonError::invalid_json) << in;
    EXPECT_GE(o.offset, at) << in;
    EXPECT_LE(o.offset, std::string_view(in).size()) << in;
  }
}

}  // namespace
