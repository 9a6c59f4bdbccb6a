// The page's pure text helpers (apps/hub/web_text.hpp): JSON escaping of
// raw log bytes and the small HTTP text readers, on hostile input too.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "web_text.hpp"

namespace hms::hub::web {
namespace {

std::string escaped(std::string_view in) {
  std::string out;
  append_json_escaped(out, in);
  return out;
}

TEST(WebTextTest, JsonEscapeKeepsTextAndEscapesTheRest) {
  EXPECT_EQ(escaped("plain text 123"), "plain text 123");
  EXPECT_EQ(escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(escaped("\b\f\n\r\t"), "\\b\\f\\n\\r\\t");
  EXPECT_EQ(escaped(std::string("\0\x1f", 2)), "\\u0000\\u001f");
  EXPECT_EQ(escaped("\x7f"), "\x7f");
  EXPECT_EQ(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // U+2028 stays as it is (JSON allows it).
  EXPECT_EQ(escaped("\xe2\x80\xa8"), "\xe2\x80\xa8");
}

// Runs of plain text are found eight bytes at a time: a byte that needs
// more than a copy is caught at every position of a word, after runs of
// every length.
TEST(WebTextTest, EveryByteIsJudgedAtEveryPositionOfAWord) {
  for (int b = 0; b < 256; ++b) {
    const std::string one = escaped(std::string(1, static_cast<char>(b)));
    for (std::size_t at = 0; at < 19; ++at) {
      std::string in(at, 'a');
      in += static_cast<char>(b);
      in += "tail-of-text";
      const std::string want = std::string(at, 'a') + one + "tail-of-text";
      ASSERT_EQ(escaped(in), want) << "byte " << b << " after " << at << " plain bytes";
    }
  }
}

TEST(WebTextTest, InvalidUtf8BecomesOneReplacementPerMaximalSubpart) {
  EXPECT_EQ(escaped("\x80"), "\\ufffd");
  EXPECT_EQ(escaped("\xff\xfe"), "\\ufffd\\ufffd");
  EXPECT_EQ(escaped("\xc0\xaf"), "\\ufffd\\ufffd");                      // overlong
  EXPECT_EQ(escaped("\xe2\x82"), "\\ufffd");                              // cut at the end
  EXPECT_EQ(escaped("\xe2\x82x"), "\\ufffdx");                            // cut before ASCII
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");            // a surrogate
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");  // above U+10FFFF
  EXPECT_EQ(escaped("\xf0\x9f\x98"), "\\ufffd");
}

TEST(WebTextTest, EscapeStaysWithinItsBoundAndHasNoLineBreak) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  all += all;
  const std::string out = escaped(all);
  EXPECT_LE(out.size(), json_escape_bound(all.size()));
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  // Worst case: every byte a control byte, 6 bytes each.
  const std::string controls(100, '\x01');
  EXPECT_EQ(escaped(controls).size(), 6 * controls.size());
  EXPECT_LE(escaped(controls).size(), json_escape_bound(controls.size()));
}

// The escaper against a byte-at-a-time model of the same rules, on random
// bytes biased towards the hard cases (controls, quotes, lead and
// continuation bytes), each escaped into a heap buffer of exactly
// json_escape_bound bytes, so that a store past the bound is caught by
// ASan.
std::string model_escape(std::string_view in) {
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char b = p[i];
    if (b < 0x80) {
      out += escaped(std::string(1, static_cast<char>(b)));
      ++i;
      continue;
    }
    // Table 3-7 of the Unicode Standard: the second byte's range per lead.
    std::size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b >= 0xE0 && b <= 0xEF) need = 2, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4) need = 3, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    std::size_t got = 0;
    while (got < need && i + 1 + got < n && p[i + 1 + got] >= lo && p[i + 1 + got] <= hi) {
      ++got;
      lo = 0x80;
      hi = 0xBF;
    }
    if (need > 0 && got == need) {
      out.append(in.substr(i, need + 1));
      i += need + 1;
    } else {
      out += "\\ufffd";
      i += 1 + got;
    }
  }
  return out;
}

TEST(WebTextTest, EscapeMatchesAByteAtATimeModelOnRandomBytes) {
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  static constexpr unsigned char kHard[] = {0x00, 0x1f, '"', '\\', 'a', 0x7f, 0x80, 0xbf,
                                            0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xff};
  for (int round = 0; round < 20000; ++round) {
    const std::size_t n = next() % 40;
    std::string in(n, '\0');
    for (auto& c : in) {
      const std::uint64_t r = next();
      c = static_cast<char>((r & 1) ? kHard[(r >> 1) % sizeof kHard] : (r >> 8) & 0xff);
    }
    auto out = std::make_unique<char[]>(json_escape_bound(n));
    const std::size_t len = json_escape(out.get(), reinterpret_cast<const unsigned char*>(in.data()), n);
    ASSERT_LE(len, json_escape_bound(n));
    ASSERT_EQ(std::string(out.get(), len), model_escape(in)) << "round " << round;
  }
}

TEST(WebTextTest, PercentDecode) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%2Ab%2a+c", &out, false));
  EXPECT_EQ(out, "a*b*+c");
  EXPECT_TRUE(percent_decode("a+b", &out, true));
  EXPECT_EQ(out, "a b");
  EXPECT_FALSE(percent_decode("%", &out, false));
  EXPECT_FALSE(percent_decode("%4", &out, false));
  EXPECT_FALSE(percent_decode("%zz", &out, false));
}

TEST(WebTextTest, FormField) {
  EXPECT_EQ(form_field("a=1&token=s3%20cret&token=2", "token"), "s3 cret");
  EXPECT_EQ(form_field("token=", "token"), "");
  EXPECT_EQ(form_field("token", "token"), "");
  EXPECT_EQ(form_field("a=1", "token"), std::nullopt);
  EXPECT_EQ(form_field("token=%zz", "token"), std::nullopt);
  EXPECT_EQ(form_field("", "token"), std::nullopt);
}

TEST(WebTextTest, CookieValue) {
  EXPECT_EQ(cookie_value("a=1; hms_session=abc; b=2", "hms_session"), "abc");
  EXPECT_EQ(cookie_value("hms_session=\"q\"", "hms_session"), "q");
  EXPECT_EQ(cookie_value("xhms_session=abc", "hms_session").data(), nullptr);
  EXPECT_EQ(cookie_value("", "hms_session").data(), nullptr);
  EXPECT_EQ(cookie_value(";;=;", "hms_session").data(), nullptr);
}

TEST(WebTextTest, BearerToken) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc  "), "abc");
  EXPECT_EQ(bearer_token("Basic abc").data(), nullptr);
  EXPECT_EQ(bearer_token("Bearer ").data(), nullptr);
  EXPECT_EQ(bearer_token("Bearer").data(), nullptr);
}

}  // namespace
}  // namespace hms::hub::web
