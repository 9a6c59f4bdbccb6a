// HTTP bodies: chunked bodies that must be refused, each with the error's
// name and the position of the byte that decided it, and encoder inputs
// that must be refused. The valid bodies are in http_body_test.cpp.
//
// Every case is decoded whole, split at every offset and byte by byte (the
// error is the same at the same position of the body, however the bytes
// arrived), and at every prefix: before the deciding byte is in the answer
// is never an error (reject early, but never too early).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "codec/chunked_runner.hpp"
#include "hms/http_body.hpp"
#include "support/guarded.hpp"

namespace {

using hms::BodyError;
using hms::BodyStatus;
using hms::ChunkedLimits;
using hms::test::Outcome;
// L{.max_line = 8}: the default limits but one.
using L = hms::ChunkedLimits;

struct Case {
  const char* name;
  std::string input;
  BodyError error;
  std::size_t offset;
  ChunkedLimits limits = {};
  // Bytes needed to see the error: offset + 1, or offset + 2 when the byte
  // at `offset` is a CR that is only bare once the next byte is in.
  std::size_t decided = 0;
};

std::string repeat(std::string_view s, std::size_t n) {
  std::string r;
  for (std::size_t i = 0; i < n; ++i) r += s;
  return r;
}

std::vector<Case> cases() {
  const auto size = BodyError::bad_chunk_size;
  const auto large = BodyError::chunk_too_large;
  const auto ext = BodyError::bad_chunk_extension;
  const auto line = BodyError::chunk_line_too_long;
  const auto end = BodyError::bad_chunk_end;
  const auto trailer = BodyError::bad_trailer;
  const ChunkedLimits none;
  using namespace std::string_literals;
  std::vector<Case> v = {
      // ---- bad_chunk_size: the line must start with a hex digit, and the
      // size end in ';' (after optional SP/HTAB) or a line end.
      {"not_hex", "x\r\n", size, 0},
      {"empty_size", "\r\n", size, 0},
      {"empty_size_lf", "\n", size, 0},
      {"leading_space", " 5\r\n", size, 0},
      {"minus", "-1\r\n", size, 0},
      {"plus", "+5\r\n", size, 0},
      {"hex_prefix", "0x5\r\n", size, 1},
      {"letter_after_size", "5x\r\n", size, 1},
      {"space_then_line_end", "5 \r\n", size, 2},
      {"space_then_digit", "5 5\r\n", size, 2},
      {"extension_without_size", ";a\r\n", size, 0},
      {"bare_cr_after_size", "5\rX", size, 1, none, 3},
      {"missing_last_chunk", "5\r\nhello\r\n\r\n", size, 10},
      {"nul_in_size", "5\0\r\n"s, size, 1},

      // ---- chunk_too_large: checked digit by digit.
      {"over_default_limit", "4000001\r\n", large, 6},
      {"over_u64", "10000000000000000\r\n", large, 16, L{.max_chunk_size = UINT64_MAX}},
      {"over_small_limit", "100\r\n", large, 2, L{.max_chunk_size = 0xff}},
      {"digit_over_limit", "6\r\n", large, 0, L{.max_chunk_size = 5}},
      {"zero_limit", "1\r\n", large, 0, L{.max_chunk_size = 0}},

      // ---- bad_chunk_extension.
      {"control_in_extension", "5;a\x01\r\n", ext, 3},
      {"del_in_extension", "5;\x7f\r\n", ext, 2},
      {"nul_in_extension", "5;a\0b\r\n"s, ext, 3},
      {"bare_cr_in_extension", "5;a\rX", ext, 3, none, 5},

      // ---- chunk_line_too_long: the line, line end included.
      {"long_extension", "5;aaaaaaaaaa\r\n", line, 8, L{.max_line = 8}},
      {"leading_zeros", "000000005\r\n", line, 8, L{.max_line = 8}},
      {"lf_past_the_limit", "5;aaaaa\r\n", line, 8, L{.max_line = 8}},
      {"bare_lf_past_the_limit", "5;aaaaaa\n", line, 8, L{.max_line = 8}},
      {"default_line_limit", "5;" + std::string(2000, 'a') + "\r\n", line, 1024},

      // ---- bad_chunk_end: data not followed by a line end.
      {"size_too_small", "3\r\nhello\r\n", end, 6},
      {"byte_after_data", "5\r\nhelloX", end, 8},
      {"bare_cr_after_data", "5\r\nhello\rX", end, 8, none, 10},
      {"second_chunk", "1\r\na\r\n2\r\nbcd\r\n", end, 11},

      // ---- bad_trailer: field lines by a head's rules.
      {"space_before_colon", "0\r\nX-Status : 0\r\n\r\n", trailer, 11},
      {"no_colon", "0\r\nX\r\n\r\n", trailer, 4},
      {"empty_name", "0\r\n: v\r\n\r\n", trailer, 3},
      {"obs_fold", "0\r\nX: 1\r\n continued\r\n\r\n", trailer, 9},
      {"nul_in_value", "0\r\nX: a\0b\r\n\r\n"s, trailer, 7},
      {"bare_cr_in_value", "0\r\nX: 1\rY\r\n\r\n", trailer, 7, none, 9},
      {"bare_cr_blank_line", "0\r\n\rX", trailer, 3, none, 5},
      {"non_token_name", "0\r\nX(: 1\r\n\r\n", trailer, 4},

      // ---- too_many_trailers: decided at the first byte of the excess line.
      {"second_trailer_of_one", "0\r\nA: 1\r\nB: 2\r\n\r\n", BodyError::too_many_trailers, 9,
       L{.max_trailers = 1}},
      {"no_trailers_allowed", "0\r\nA: 1\r\n\r\n", BodyError::too_many_trailers, 3,
       L{.max_trailers = 0}},
      {"default_trailer_count", "0\r\n" + repeat("x: 1\r\n", hms::kMaxHeaders + 1) + "\r\n",
       BodyError::too_many_trailers, 3 + 6 * hms::kMaxHeaders},

      // ---- trailers_too_large: the first byte past the limit.
      {"line_past_the_limit", "0\r\nX-Status: 0\r\n\r\n", BodyError::trailers_too_large, 13,
       L{.max_trailer_size = 10}},
      {"blank_line_past_the_limit", "0\r\nX-Status: 0\r\n\r\n", BodyError::trailers_too_large,
       16, L{.max_trailer_size = 13}},
      {"default_trailer_size", "0\r\nX: " + std::string(9000, 'v') + "\r\n\r\n",
       BodyError::trailers_too_large, 3 + hms::kMaxHeadSize},
  };
  for (Case& c : v) {
    if (c.decided == 0) c.decided = c.offset + 1;
  }
  return v;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class HttpBodyErrorCase : public ::testing::TestWithParam<Case> {};

// The error and where it is; data and trailers before it are still handed
// out (and must be the same however the bytes came).
::testing::AssertionResult is_error(const Outcome& o, const Case& c) {
  if (o.end == BodyStatus::error && o.error == c.error && o.at == c.offset) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "end " << int(o.end) << ", " << hms::to_string(o.error)
                                       << " at " << o.at << "; want " << hms::to_string(c.error)
                                       << " at " << c.offset;
}

TEST_P(HttpBodyErrorCase, SameErrorHoweverSplit) {
  const Case& c = GetParam();
  const Outcome want = hms::test::whole(c.input, c.limits);
  ASSERT_TRUE(is_error(want, c));
  hms::test::expect_any_split(c.input, want, c.limits);
}

TEST_P(HttpBodyErrorCase, NeverBeforeTheDecidingByte) {
  const Case& c = GetParam();
  ASSERT_LE(c.decided, c.input.size());
  for (std::size_t k = 0; k <= c.input.size(); ++k) {
    const Outcome o = hms::test::whole(std::string_view(c.input).substr(0, k), c.limits);
    if (k < c.decided) {
      EXPECT_NE(o.end, BodyStatus::error) << "prefix " << k << ": " << hms::to_string(o.error);
    } else {
      EXPECT_TRUE(is_error(o, c)) << "prefix " << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Chunked, HttpBodyErrorCase, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return std::string(i.param.name);
                         });

TEST(HttpBodyError, EveryKindHasACase) {
  std::set<BodyError> seen;
  for (const Case& c : cases()) seen.insert(c.error);
  for (BodyError e :
       {BodyError::bad_chunk_size, BodyError::chunk_too_large, BodyError::bad_chunk_extension,
        BodyError::chunk_line_too_long, BodyError::bad_chunk_end, BodyError::bad_trailer,
        BodyError::too_many_trailers, BodyError::trailers_too_large}) {
    EXPECT_EQ(seen.count(e), 1u) << hms::to_string(e);
  }
}

TEST(HttpBodyError, Names) {
  EXPECT_STREQ(hms::to_string(BodyError::none), "none");
  EXPECT_STREQ(hms::to_string(BodyError::bad_chunk_size), "bad_chunk_size");
  EXPECT_STREQ(hms::to_string(BodyError::chunk_too_large), "chunk_too_large");
  EXPECT_STREQ(hms::to_string(BodyError::bad_chunk_extension), "bad_chunk_extension");
  EXPECT_STREQ(hms::to_string(BodyError::chunk_line_too_long), "chunk_line_too_long");
  EXPECT_STREQ(hms::to_string(BodyError::bad_chunk_end), "bad_chunk_end");
  EXPECT_STREQ(hms::to_string(BodyError::bad_trailer), "bad_trailer");
  EXPECT_STREQ(hms::to_string(BodyError::too_many_trailers), "too_many_trailers");
  EXPECT_STREQ(hms::to_string(BodyError::trailers_too_large), "trailers_too_large");
  EXPECT_STREQ(hms::to_string(static_cast<BodyError>(200)), "unknown");
}

// The nearest valid input of the limit cases: exactly at each limit.
TEST(HttpBodyError, ExactlyAtEachLimitIsFine) {
  using hms::test::complete;
  using hms::test::whole;
  EXPECT_EQ(whole("4000000\r\n", {}).end, BodyStatus::need_more);  // 64 MiB: a size, then data
  EXPECT_EQ(whole("ffffffffffffffff\r\n", L{.max_chunk_size = UINT64_MAX}).end,
            BodyStatus::need_more);
  EXPECT_EQ(whole("ff\r\n", L{.max_chunk_size = 0xff}).end, BodyStatus::need_more);
  EXPECT_EQ(whole("00000000000000000000001\r\n", L{.max_chunk_size = 1}).end,
            BodyStatus::need_more);
  EXPECT_EQ(whole("0\r\n\r\n", L{.max_chunk_size = 0}), complete("", 5));
  EXPECT_EQ(whole("5;aaaa\r\nhello\r\n0\r\n\r\n", L{.max_line = 8}), complete("hello", 20));
  EXPECT_EQ(whole("5;aaaaa\nhello\r\n0\r\n\r\n", L{.max_line = 8}), complete("hello", 20));
  EXPECT_EQ(whole("0\r\nA: 1\r\n\r\n", L{.max_trailers = 1}), complete("", 11, {{"A", "1"}}));
  EXPECT_EQ(whole("0\r\nX-Status: 0\r\n\r\n", L{.max_trailer_size = 15}),
            complete("", 18, {{"X-Status", "0"}}));
}

// ---- Encoders refuse what would not read back as written.

TEST(HttpBodyEncodeError, TrailersThatCouldInjectOrMisreadAreRefused) {
  const hms::HttpField bad[] = {
      {"", "0"},                       // empty name
      {"X Status", "0"},               // not a token
      {"X-Status:", "0"},              // colon in the name
      {"X-Status", "0\r\nInjected: 1"},  // CR LF in the value
      {"X-Status", "0\n"},             // bare LF
      {"X-Status", std::string_view("0\0", 2)},  // NUL
      {"X-Status", "a\x7f"},           // DEL
      {"X-Status", " 0"},              // would be trimmed on the way back
      {"X-Status", "0\t"},
  };
  for (const hms::HttpField& f : bad) {
    char out[64];
    std::memset(out, '#', sizeof out);
    EXPECT_EQ(hms::encode_last_chunk(out, sizeof out, &f, 1), 0u) << f.name << "|" << f.value;
    EXPECT_EQ(out[0], '#');
    // Also when a valid one comes first: nothing at all is written.
    const hms::HttpField two[] = {{"X-Ok", "1"}, f};
    EXPECT_EQ(hms::encode_last_chunk(out, sizeof out, two, 2), 0u);
    EXPECT_EQ(out[0], '#');
  }
  // Inner whitespace, obs-text and an empty value read back as written.
  const hms::HttpField fine[] = {{"X-Msg", "a \tb"}, {"X-Utf8", "\xc3\xa9"}, {"X-Empty", ""}};
  char out[64];
  const std::size_t n = hms::encode_last_chunk(out, sizeof out, fine, 3);
  ASSERT_EQ(n, hms::last_chunk_size(fine, 3));
  EXPECT_EQ(hms::test::whole(std::string_view(out, n)),
            hms::test::complete("", n,
                                {{"X-Msg", "a \tb"}, {"X-Utf8", "\xc3\xa9"}, {"X-Empty", ""}}));
}

TEST(HttpBodyEncodeError, TooSmallABufferIsRefused) {
  const hms::HttpField status{"X-Status", "0"};
  const std::size_t n = hms::last_chunk_size(&status, 1);
  std::string out(n - 1, '#');
  EXPECT_EQ(hms::encode_last_chunk(out.data(), out.size(), &status, 1), 0u);
  EXPECT_EQ(out, std::string(n - 1, '#'));
  char tiny[4] = {'#', '#', '#', '#'};
  EXPECT_EQ(hms::encode_last_chunk(tiny, sizeof tiny, nullptr, 0), 0u);
  EXPECT_EQ(tiny[0], '#');
}

}  // namespace
