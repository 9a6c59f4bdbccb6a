// apps/cli/jsvalue: JSON with JavaScript's object and string semantics.
#include "jsvalue.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hms::cli {
namespace {

TEST(JsValue, PropertyOrderAndDuplicates) {
  // JSON.parse + Object.keys: index-like keys first (ascending), then the
  // rest in insertion order; a duplicate keeps its first place, last value.
  JsParse p = parse_json(R"({"b":1,"2":2,"a":3,"1":4,"b":5,"4294967295":6,"01":7})");
  ASSERT_TRUE(p.ok()) << p.error;
  std::string keys;
  for (const auto& [k, v] : p.value.members()) keys += k + "=" + v.to_js_string() + " ";
  EXPECT_EQ(keys, "1=4 2=2 b=5 a=3 4294967295=6 01=7 ");
}

TEST(JsValue, ToJsString) {
  EXPECT_EQ(parse_json("5905").value.to_js_string(), "5905");
  EXPECT_EQ(parse_json("5.0").value.to_js_string(), "5");
  EXPECT_EQ(parse_json("1e21").value.to_js_string(), "1e+21");
  EXPECT_EQ(parse_json("null").value.to_js_string(), "null");
  EXPECT_EQ(parse_json("\"SIGTERM\"").value.to_js_string(), "SIGTERM");
  EXPECT_EQ(parse_json("[1,null,\"a\",[2,3]]").value.to_js_string(), "1,,a,2,3");
  EXPECT_EQ(parse_json("{\"a\":1}").value.to_js_string(), "[object Object]");
  EXPECT_EQ(JsValue().to_js_string(), "undefined");
}

TEST(JsValue, Truthiness) {
  for (const char* falsy : {"0", "\"\"", "null", "false"}) EXPECT_FALSE(parse_json(falsy).value.truthy()) << falsy;
  for (const char* truthy : {"1", "\"0\"", "[]", "{}", "true"}) EXPECT_TRUE(parse_json(truthy).value.truthy()) << truthy;
  EXPECT_FALSE(JsValue().truthy());
}

TEST(JsValue, StringifyAsJsonStringify) {
  JsValue conf = JsValue::object();
  JsValue demo = JsValue::object();
  demo.set("url", JsValue::string("127.0.0.1:22002"));
  demo.set("cache", JsValue::object());
  demo.set("gone", JsValue());  // undefined members are left out
  conf.set("demo", demo);
  JsValue list = JsValue::array();
  list.push(JsValue::string("a\"b\n"));
  list.push(JsValue::number(1.5));
  conf.set("l", list);
  EXPECT_EQ(conf.stringify(2),
            "{\n  \"demo\": {\n    \"url\": \"127.0.0.1:22002\",\n    \"cache\": {}\n  },\n"
            "  \"l\": [\n    \"a\\\"b\\n\",\n    1.5\n  ]\n}");
  EXPECT_EQ(conf.stringify(), R"({"demo":{"url":"127.0.0.1:22002","cache":{}},"l":["a\"b\n",1.5]})");
}

TEST(JsValue, BadInputIsAnError) {
  EXPECT_FALSE(parse_json("").ok());
  EXPECT_FALSE(parse_json("{\"a\":").ok());
  EXPECT_FALSE(parse_json("[1 2]").ok());
  EXPECT_FALSE(parse_json("\"\xff\"").ok());
  EXPECT_FALSE(parse_json(std::string(300, '[') + std::string(300, ']')).ok());  // our depth guard
  EXPECT_TRUE(parse_json(std::string(200, '[') + std::string(200, ']')).ok());
}

}  // namespace
}  // namespace hms::cli
