// HTTP head parser: heads that must be refused, each with the error's name
// and the offset of the byte that decided it. The valid heads are in
// http_test.cpp.
//
// Besides the whole input, every case is replayed at every prefix: before
// the deciding byte the answer is need_more, from then on it is the same
// error at the same offset (the outcome never flips as bytes arrive).
#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hms/http.hpp"
#include "support/guarded.hpp"

namespace {

using hms::HttpError;
using hms::HttpResult;
using hms::HttpStatus;

enum class Kind { request, response };

struct Case {
  const char* name;
  Kind kind;
  std::string input;
  HttpError error;
  std::size_t offset;
  std::size_t max_size = hms::kMaxHeadSize;
};

HttpResult parse(Kind kind, const char* p, std::size_t n, std::size_t max) {
  if (kind == Kind::request) {
    hms::RequestHead h;
    return hms::parse_request_head(p, n, &h, max);
  }
  hms::ResponseHead h;
  return hms::parse_response_head(p, n, &h, max);
}

const std::string kLine = "GET / HTTP/1.1\r\n";           // 16 bytes
const std::string kStatus = "HTTP/1.1 101 Swiching\r\n";  // 23 bytes

std::string repeat(std::string_view s, std::size_t n) {
  std::string r;
  for (std::size_t i = 0; i < n; ++i) r += s;
  return r;
}

std::vector<Case> cases() {
  const auto req = Kind::request;
  const auto resp = Kind::response;
  const auto rl = HttpError::bad_request_line;
  const auto bh = HttpError::bad_header;
  const auto sl = HttpError::bad_status_line;
  using namespace std::string_literals;
  return {
      // ---- head_too_large: no blank line within max_size bytes.
      {"limit_small", req, kLine + "Host: abcdef\r\n", HttpError::head_too_large, 20, 20},
      {"limit_response", resp, kStatus + "X: 1\r\n\r\n", HttpError::head_too_large, 25, 25},
      {"limit_leading_empty_line", req, "\r\nGET / HTTP/1.1\r\nHost: abcdefghij\r\n\r\n", HttpError::head_too_large,
       24, 24},
      {"limit_zero", req, "G", HttpError::head_too_large, 0, 0},

      // ---- bad_request_line.
      {"lowercase_method", req, "get / HTTP/1.1\r\n\r\n", rl, 0},
      // Only one empty line is skipped: a request of blank lines is refused.
      {"only_blank_lines", req, "\r\n\r\n", rl, 2},
      {"two_leading_empty_lines", req, "\r\n\nGET / HTTP/1.1\r\n\r\n", rl, 2},
      {"nul_in_method", req, "G\0T / HTTP/1.1\r\n\r\n"s, rl, 1},
      {"method_then_eol", req, "GET\r\n\r\n", rl, 3},
      {"tab_after_method", req, "GET\t/ HTTP/1.1\r\n\r\n", rl, 3},
      {"two_spaces", req, "GET  / HTTP/1.1\r\n\r\n", rl, 4},
      {"control_in_target", req, "GET /\x01 HTTP/1.1\r\n\r\n", rl, 5},
      {"del_in_target", req, "GET /\x7f HTTP/1.1\r\n\r\n", rl, 5},
      {"non_ascii_target", req, "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", rl, 5},
      {"no_version", req, "GET /\r\n\r\n", rl, 5},
      {"lowercase_http", req, "GET / http/1.1\r\n\r\n", rl, 6},
      {"http2", req, "GET / HTTP/2.0\r\n\r\n", rl, 11},
      {"minor_not_digit", req, "GET / HTTP/1.x\r\n\r\n", rl, 13},
      {"minor_two_digits", req, "GET / HTTP/1.10\r\n\r\n", rl, 14},
      {"space_before_eol", req, "GET / HTTP/1.1 \r\n\r\n", rl, 14},
      {"bare_cr_after_version", req, "GET / HTTP/1.1\rX\r\n\r\n", rl, 14},
      {"del_after_version", req, "GET / HTTP/1.1\x7f\r\n\r\n", rl, 14},
      {"bare_cr_leading_line", req, "\r\rGET / HTTP/1.1\r\n\r\n", rl, 0},
      {"leading_space", req, " GET / HTTP/1.1\r\n\r\n", rl, 0},
      {"frame_bytes", req, "\x01\x00\x00\x03\x00\x00\x00"s, rl, 0},

      // ---- bad_header.
      {"no_colon", req, kLine + "Host\r\n\r\n", bh, 20},
      {"space_before_colon", req, kLine + "Host : h\r\n\r\n", bh, 20},
      {"empty_name", req, kLine + ": v\r\n\r\n", bh, 16},
      {"non_token_name", req, kLine + "X(: v\r\n\r\n", bh, 17},
      {"non_ascii_name", req, kLine + "X\x80: v\r\n\r\n", bh, 17},
      {"obs_fold", req, kLine + "Host: h\r\n foo\r\n\r\n", bh, 25},
      {"obs_fold_tab", req, kLine + "Host: h\r\n\tfoo\r\n\r\n", bh, 25},
      {"control_in_value", req, kLine + "X: a\x01" "b\r\n\r\n", bh, 20},
      {"del_in_value", req, kLine + "X: a\x7f\r\n\r\n", bh, 20},
      {"nul_in_value", req, kLine + "X: \0\r\n\r\n"s, bh, 19},
      {"bare_cr_in_value", req, kLine + "X: a\rb\r\n\r\n", bh, 20},
      {"cr_cr_lf", req, kLine + "X: a\r\r\n\r\n", bh, 20},
      {"bare_cr_blank_line", req, kLine + "\rX", bh, 16},
      {"content_length_garbage", req, kLine + "Content-Length: 12a\r\n\r\n", bh, 34},
      {"content_length_negative", req, kLine + "Content-Length: -1\r\n\r\n", bh, 32},
      {"content_length_empty", req, kLine + "Content-Length: \r\n\r\n", bh, 32},
      {"content_length_inner_space", req, kLine + "Content-Length: 1 2\r\n\r\n", bh, 33},
      {"content_length_list", req, kLine + "Content-Length: 5, 5\r\n\r\n", bh, 33},
      {"content_length_plus", req, kLine + "Content-Length: +5\r\n\r\n", bh, 32},
      {"content_length_overflow", req,
       kLine + "Content-Length: 18446744073709551616\r\n\r\n", bh, 51},
      {"content_length_twice", req, kLine + "Content-Length: 1\r\nContent-Length: 1\r\n\r\n",
       bh, 35},
      {"host_twice", req, kLine + "Host: a\r\nhost: b\r\n\r\n", bh, 25},
      {"origin_twice", req, kLine + "origin: a\r\nOrigin: a\r\n\r\n", bh, 27},
      {"upgrade_twice", req, kLine + "Upgrade: a\r\nUpgrade: b\r\n\r\n", bh, 28},
      {"transfer_encoding_twice", req,
       kLine + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", bh, 44},
      {"expect_twice", req, kLine + "Expect: 100-continue\r\nexpect: 100-continue\r\n\r\n", bh,
       38},
      {"response_content_length_twice", resp,
       kStatus + "Content-Length: 1\r\nContent-Length: 1\r\n\r\n", bh, 42},
      {"response_content_length_garbage", resp, kStatus + "Content-Length: 5x\r\n\r\n", bh, 40},
      {"response_transfer_encoding_twice", resp,
       kStatus + "Transfer-Encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n", bh, 51},
      {"response_no_colon", resp, kStatus + "Upgrade hms\r\n\r\n", bh, 30},
      {"response_control_in_value", resp, kStatus + "Upgrade: h\x02s\r\n\r\n", bh, 33},
      {"response_bare_cr_blank_line", resp, kStatus + "\r\r\n", bh, 23},

      // ---- too_many_headers: line kMaxHeaders + 1 begins.
      {"too_many_headers", req, kLine + repeat("x: 1\r\n", hms::kMaxHeaders + 1) + "\r\n",
       HttpError::too_many_headers, 16 + 6 * hms::kMaxHeaders},
      {"too_many_headers_early", req, kLine + repeat("x: 1\r\n", hms::kMaxHeaders) + "y",
       HttpError::too_many_headers, 16 + 6 * hms::kMaxHeaders},
      {"too_many_response_headers", resp,
       kStatus + repeat("x: 1\r\n", hms::kMaxHeaders + 1) + "\r\n",
       HttpError::too_many_headers, 23 + 6 * hms::kMaxHeaders},

      // ---- bad_status_line.
      {"lowercase_http_status", resp, "http/1.1 101 X\r\n\r\n", sl, 0},
      {"leading_empty_line", resp, "\r\nHTTP/1.1 101 X\r\n\r\n", sl, 0},
      {"http2_status", resp, "HTTP/2 101\r\n\r\n", sl, 5},
      {"no_status", resp, "HTTP/1.1\r\n\r\n", sl, 8},
      {"two_spaces_status", resp, "HTTP/1.1  101\r\n\r\n", sl, 9},
      {"two_digit_status", resp, "HTTP/1.1 10 X\r\n\r\n", sl, 11},
      {"letter_in_status", resp, "HTTP/1.1 1O1 X\r\n\r\n", sl, 10},
      {"status_below_100", resp, "HTTP/1.1 099 X\r\n\r\n", sl, 9},
      {"four_digit_status", resp, "HTTP/1.1 1010 X\r\n\r\n", sl, 12},
      {"control_in_reason", resp, "HTTP/1.1 101 a\x01\r\n\r\n", sl, 14},
      {"bare_cr_in_reason", resp, "HTTP/1.1 101 OK\rX\r\n\r\n", sl, 15},
      {"request_as_response", resp, std::string(hms::kUpgradeResponse).replace(0, 8, "GET / HT"),
       sl, 0},
  };
}

// Names the case in test output instead of dumping the struct's bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class HttpErrorCase : public ::testing::TestWithParam<Case> {};

TEST_P(HttpErrorCase, WholeInput) {
  const Case& c = GetParam();
  hms::test::Guarded g(c.input);
  const HttpResult r = parse(c.kind, g.chars(), g.size(), c.max_size);
  EXPECT_EQ(r.status, HttpStatus::error);
  EXPECT_EQ(r.size, 0u);
  EXPECT_STREQ(hms::to_string(r.error), hms::to_string(c.error));
  EXPECT_EQ(r.error_offset, c.offset);
  EXPECT_LT(r.error_offset, c.input.size());
}

TEST_P(HttpErrorCase, EveryPrefixIsNeedMoreThenTheSameError) {
  const Case& c = GetParam();
  bool failed = false;
  for (std::size_t k = 0; k <= c.input.size(); ++k) {
    hms::test::Guarded g(std::string_view(c.input).substr(0, k));
    const HttpResult r = parse(c.kind, g.chars(), g.size(), c.max_size);
    if (!failed && r.status == HttpStatus::need_more) continue;
    ASSERT_EQ(r.status, HttpStatus::error) << "prefix " << k;
    ASSERT_EQ(r.error, c.error) << "prefix " << k;
    ASSERT_EQ(r.error_offset, c.offset) << "prefix " << k;
    // Decided only once the offending byte is in, never before.
    if (!failed) {
      EXPECT_GT(k, c.offset);
    }
    failed = true;
  }
  EXPECT_TRUE(failed);
}

TEST_P(HttpErrorCase, OutIsNotTouched) {
  const Case& c = GetParam();
  hms::test::Guarded g(c.input);
  if (c.kind == Kind::request) {
    hms::RequestHead h;
    h.target = "sentinel";
    hms::parse_request_head(g.chars(), g.size(), &h, c.max_size);
    EXPECT_EQ(h.target, "sentinel");
  } else {
    hms::ResponseHead h;
    h.status = -1;
    hms::parse_response_head(g.chars(), g.size(), &h, c.max_size);
    EXPECT_EQ(h.status, -1);
  }
}

INSTANTIATE_TEST_SUITE_P(Http, HttpErrorCase, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return std::string(i.param.name);
                         });

// Every error kind has at least one case above.
TEST(HttpError, EveryKindHasACase) {
  std::set<HttpError> seen;
  for (const Case& c : cases()) seen.insert(c.error);
  for (HttpError e : {HttpError::head_too_large, HttpError::bad_request_line,
                      HttpError::bad_header, HttpError::too_many_headers,
                      HttpError::bad_status_line}) {
    EXPECT_EQ(seen.count(e), 1u) << hms::to_string(e);
  }
}

TEST(HttpError, Names) {
  EXPECT_STREQ(hms::to_string(HttpError::none), "none");
  EXPECT_STREQ(hms::to_string(HttpError::head_too_large), "head_too_large");
  EXPECT_STREQ(hms::to_string(HttpError::bad_request_line), "bad_request_line");
  EXPECT_STREQ(hms::to_string(HttpError::bad_header), "bad_header");
  EXPECT_STREQ(hms::to_string(HttpError::too_many_headers), "too_many_headers");
  EXPECT_STREQ(hms::to_string(HttpError::bad_status_line), "bad_status_line");
  EXPECT_STREQ(hms::to_string(static_cast<HttpError>(200)), "unknown");
}

// ---- The 8 KiB default limit, on heads a real peer could send.

std::string padded_head(std::size_t size) {
  // Request-line, one long field, blank line: exactly `size` bytes.
  const std::string start = kLine + "x-pad: ";
  std::string h = start;
  h.append(size - start.size() - 4, 'a');
  h += "\r\n\r\n";
  return h;
}

TEST(HttpError, DefaultLimitExactlyAtTheLimitParses) {
  const std::string head = padded_head(hms::kMaxHeadSize);
  ASSERT_EQ(head.size(), hms::kMaxHeadSize);
  hms::test::Guarded g(head);
  const HttpResult r = hms::parse_request_head(g.chars(), g.size(), nullptr);
  EXPECT_EQ(r.status, HttpStatus::complete);
  EXPECT_EQ(r.size, hms::kMaxHeadSize);
}

TEST(HttpError, DefaultLimitOneOverFails) {
  const std::string head = padded_head(hms::kMaxHeadSize + 1);
  hms::test::Guarded g(head);
  const HttpResult r = hms::parse_request_head(g.chars(), g.size(), nullptr);
  EXPECT_EQ(r.status, HttpStatus::error);
  EXPECT_EQ(r.error, HttpError::head_too_large);
  EXPECT_EQ(r.error_offset, hms::kMaxHeadSize);
}

TEST(HttpError, DefaultLimitFailsAsSoonAsItIsPassed) {
  // No terminator at all: need_more with max_size bytes, an error with one
  // more, long before any blank line could arrive.
  const std::string endless = kLine + "x-pad: " + std::string(2 * hms::kMaxHeadSize, 'a');
  {
    hms::test::Guarded g(std::string_view(endless).substr(0, hms::kMaxHeadSize));
    EXPECT_EQ(hms::parse_request_head(g.chars(), g.size(), nullptr).status,
              HttpStatus::need_more);
  }
  for (std::size_t n : {hms::kMaxHeadSize + 1, hms::kMaxHeadSize + 2, endless.size()}) {
    hms::test::Guarded g(std::string_view(endless).substr(0, n));
    const HttpResult r = hms::parse_request_head(g.chars(), g.size(), nullptr);
    EXPECT_EQ(r.status, HttpStatus::error);
    EXPECT_EQ(r.error, HttpError::head_too_large);
    EXPECT_EQ(r.error_offset, hms::kMaxHeadSize);
  }
}

TEST(HttpError, DefaultLimitOnResponses) {
  const std::string endless = kStatus + "x: " + std::string(hms::kMaxHeadSize, 'a');
  hms::test::Guarded g(endless);
  const HttpResult r = hms::parse_response_head(g.chars(), g.size(), nullptr);
  EXPECT_EQ(r.error, HttpError::head_too_large);
  EXPECT_EQ(r.error_offset, hms::kMaxHeadSize);
}

TEST(HttpError, AnEarlierErrorWinsOverTheLimit) {
  // The bad byte is within the limit: it is reported, not the size.
  const std::string bad = "GET /\x01" + std::string(2 * hms::kMaxHeadSize, 'a');
  hms::test::Guarded g(bad);
  const HttpResult r = hms::parse_request_head(g.chars(), g.size(), nullptr);
  EXPECT_EQ(r.error, HttpError::bad_request_line);
  EXPECT_EQ(r.error_offset, 5u);
}

TEST(HttpError, ErrorsComeBeforeTheBlankLine) {
  // Reject early: a bad byte is refused as soon as it is in, without waiting
  // for the end of the head.
  for (std::string_view partial : {"get", "GET /\x01", "GET / HTTP/1.1\r\nHost : "}) {
    hms::test::Guarded g(partial);
    EXPECT_EQ(hms::parse_request_head(g.chars(), g.size(), nullptr).status,
              HttpStatus::error)
        << partial;
  }
  hms::test::Guarded g(std::string_view("HTTP/1.1 1x"));
  EXPECT_EQ(hms::parse_response_head(g.chars(), g.size(), nullptr).status, HttpStatus::error);
}

}  // namespace
