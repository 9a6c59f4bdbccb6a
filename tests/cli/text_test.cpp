// apps/cli/text: the reference's small text rules. Expected values come from
// Node 20 running the reference's own modules (prettysize, relative-date,
// String#localeCompare/trim, Buffer#toString).
#include "text.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace hms::cli {
namespace {

TEST(LocaleCompare, SortsAsNodeDoes) {
  // Shuffled, then sorted with localeCompare by Node 20 (ICU root).
  const std::vector<std::string> want = {"-a", ".a", "1a", "a", "A", "a-b", "a.b", "a1", "A1", "a10", "a2",
                                         "ab", "aB", "Ab", "ab-", "ab.", "abc", "AbC", "b", "B", "web", "Web",
                                         "web_1", "web-1", "web.1", "web1"};
  std::vector<std::string> got = want;
  std::reverse(got.begin(), got.end());
  std::stable_sort(got.begin(), got.end(), [](const auto& a, const auto& b) { return locale_compare(a, b) < 0; });
  EXPECT_EQ(got, want);
}

TEST(LocaleCompare, PunctuationDigitsLetters) {
  const std::string order = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789aAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStTuUvVwWxXyYzZ";
  for (std::size_t i = 1; i < order.size(); ++i) {
    EXPECT_LE(locale_compare(order.substr(i - 1, 1), order.substr(i, 1)), 0) << order[i - 1] << " vs " << order[i];
  }
  EXPECT_EQ(locale_compare("a", std::string("a\0", 2)), 0);  // control characters are ignorable
  EXPECT_EQ(locale_compare("same", "same"), 0);
}

TEST(RelativeDate, Thresholds) {
  constexpr double M = 60000, H = 3600000, D = 86400000;
  const std::vector<std::pair<double, std::string>> cases = {
      {0, "just now"}, {41999, "just now"}, {42000, "a minute ago"}, {89999, "a minute ago"},
      {90000, "2 minutes ago"}, {150000, "3 minutes ago"}, {59 * M, "59 minutes ago"}, {60 * M, "an hour ago"},
      {89 * M, "an hour ago"}, {90 * M, "2 hours ago"}, {23 * H, "23 hours ago"}, {24 * H, "yesterday"},
      {47 * H, "yesterday"}, {48 * H, "2 days ago"}, {6 * D, "6 days ago"}, {7 * D, "a week ago"},
      {10 * D, "a week ago"}, {11 * D, "2 weeks ago"}, {20 * D, "3 weeks ago"}, {31 * D, "a month ago"},
      {45 * D, "a month ago"}, {46 * D, "2 months ago"}, {300 * D, "10 months ago"}, {365 * D, "a year ago"},
      {548 * D, "2 years ago"}, {800 * D, "2 years ago"}};
  for (const auto& [delta, text] : cases) EXPECT_EQ(relative_date(delta).value_or("?"), text) << delta;
  EXPECT_FALSE(relative_date(std::nan("")));
}

TEST(JsDate, IsoStringsAndNumbers) {
  EXPECT_EQ(js_date_ms(JsValue::string("1970-01-01T00:00:00.000Z")), 0);
  EXPECT_EQ(js_date_ms(JsValue::string("2026-12-01T17:24:47.110Z")), 1796145887110.0);
  EXPECT_EQ(js_date_ms(JsValue::string("2026-12-01T17:24:47.110+01:00")), 1796145887110.0 - 3600000);
  EXPECT_EQ(js_date_ms(JsValue::string("2026-12-01")), 1796083200000.0);
  EXPECT_EQ(js_date_ms(JsValue::number(1234)), 1234);
  EXPECT_TRUE(std::isnan(js_date_ms(JsValue::string("yesterday"))));
  EXPECT_TRUE(std::isnan(js_date_ms(JsValue::string("2026-13-01T00:00:00Z"))));
  EXPECT_TRUE(std::isnan(js_date_ms(JsValue::boolean(true))));
}

TEST(PrettySize, AsPrettysize) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0, "0 Bytes"}, {1, "1 Bytes"}, {376, "376 Bytes"}, {1023, "1023 Bytes"}, {1024, "1 kB"},
      {1536, "1.5 kB"}, {1310720, "1.3 MB"}, {1048575, "1024 kB"}, {104857600, "100 MB"}, {0.5, "0 Bytes"},
      {1126.4, "1.1 kB"}, {1075.2, "1.1 kB"}, {1177.6, "1.1 kB"}};
  for (const auto& [n, text] : cases) EXPECT_EQ(pretty_size(n), text) << n;
}

TEST(ToFixed, TiesRoundAwayFromZero) {
  EXPECT_EQ(to_fixed1(1.25), "1.3");
  EXPECT_EQ(to_fixed1(0.25), "0.3");
  EXPECT_EQ(to_fixed1(0.75), "0.8");
  EXPECT_EQ(to_fixed1(0.05), "0.1");
  EXPECT_EQ(to_fixed1(2.35), "2.4");
  EXPECT_EQ(to_fixed1(1.45), "1.4");
}

TEST(JsTrim, JavaScriptWhitespace) {
  EXPECT_EQ(js_trim("  a b  "), "a b");
  EXPECT_EQ(js_trim("\u00a0x\u3000"), "x");
  EXPECT_EQ(js_trim("\ufeffy\u2028"), "y");
  EXPECT_EQ(js_trim("\t\n z \r\v\f"), "z");
  EXPECT_EQ(js_trim("   "), "");
  EXPECT_EQ(js_trim(""), "");
  EXPECT_EQ(js_trim("\xff "), "\xff");  // invalid UTF-8 is not whitespace
}

TEST(JsLength, Utf16Units) {
  EXPECT_EQ(js_length("web"), 3u);
  EXPECT_EQ(js_length("d\u00e9j\u00e0"), 4u);
  EXPECT_EQ(js_length("\U0001F600"), 2u);  // a surrogate pair
}

TEST(Utf8Repair, AsBufferToString) {
  std::string out;
  EXPECT_FALSE(utf8_repair("plain \u00e9 \U0001F600", &out));
  const std::string bad("a\xff" "b\xe2\x82" "c\xf0\x9f\x98\x80\xed\xa0\x80" "d\xf0\x9f", 16);
  ASSERT_TRUE(utf8_repair(bad, &out));
  EXPECT_EQ(out, "a\ufffdb\ufffdc\U0001F600\ufffd\ufffd\ufffdd\ufffd");
}

TEST(Errors, NodeWording) {
  EXPECT_EQ(errno_name(ECONNREFUSED), "ECONNREFUSED");
  EXPECT_EQ(fs_error(ENOENT, "open", "/nonexist.tgz"), "ENOENT: no such file or directory, open '/nonexist.tgz'");
  EXPECT_EQ(uri_encode("a b/c?d=é~*'()"), "a%20b%2Fc%3Fd%3D%C3%A9~*'()");
}

}  // namespace
}  // namespace hms::cli
