// HTTP bodies: chunked bodies that must decode, Content-Length bodies, and
// the chunk encoders. The malformed twins are in http_body_error_test.cpp.
//
// Golden inputs are what Node 20 actually put on the wire, recorded once by
// tests/data/http/capture-node.js into tests/data/http/*.http. Every body is
// decoded whole, split at every byte offset, and byte by byte, the way a
// connection meets it (unconsumed bytes kept and passed again with the next
// read); all three must give the same data, trailers and end. Every call's
// input is a fresh hms::test::Guarded copy, so a read past `len` crashes.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hms/http.hpp"
#include "hms/http_body.hpp"
#include "codec/chunked_runner.hpp"
#include "support/guarded.hpp"

namespace {

using hms::BodyError;
using hms::BodyResult;
using hms::BodyStatus;
using hms::ChunkedLimits;
using hms::ChunkedState;
using hms::HttpStatus;
using hms::test::complete;
using hms::test::expect_any_split;
using hms::test::Outcome;
using hms::test::Trailers;
using hms::test::whole;

std::string read_data(const char* name) {
  std::ifstream in(std::string(HMS_TEST_DATA) + "/http/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ---- What Node sends.

TEST(HttpBodyNode, ChunkedPutFromHttpRequest) {
  const std::string bytes = read_data("node-put-chunked.http");
  ASSERT_FALSE(bytes.empty()) << "tests/data/http/node-put-chunked.http";
  hms::RequestHead head;
  const hms::HttpResult h = hms::parse_request_head(bytes.data(), bytes.size(), &head);
  ASSERT_EQ(h.status, HttpStatus::complete);
  EXPECT_EQ(head.method, hms::HttpMethod::put);
  EXPECT_TRUE(hms::is_chunked(head.transfer_encoding));
  EXPECT_FALSE(head.has_content_length);

  // Three writes: "hello ", 9 bytes that hold "\r\n0\r\n" themselves (a
  // decoder that searched for the end would stop there), 300 bytes.
  std::string data = "hello ";
  data.append("\x1f\x8b\x08\x00\r\n0\r\n", 9);
  data.append(300, 'a');
  const std::string_view body = std::string_view(bytes).substr(h.size);
  expect_any_split(body, complete(data, body.size()));
}

TEST(HttpBodyNode, ResponseWithXStatusTrailer) {
  const std::string bytes = read_data("node-response-trailers.http");
  ASSERT_FALSE(bytes.empty());
  hms::ResponseHead head;
  const hms::HttpResult h = hms::parse_response_head(bytes.data(), bytes.size(), &head);
  ASSERT_EQ(h.status, HttpStatus::complete);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(hms::is_chunked(head.transfer_encoding));
  EXPECT_EQ(hms::find_header(bytes.data(), h.size, "trailer"), "X-Status");

  const std::string_view body = std::string_view(bytes).substr(h.size);
  expect_any_split(body,
                   complete("npm install\nadded 1 package\n", body.size(), {{"X-Status", "0"}}));
}

TEST(HttpBodyNode, ResponseWithContentLengthAndXStatusHeader) {
  const std::string bytes = read_data("node-response-x-status.http");
  ASSERT_FALSE(bytes.empty());
  const hms::test::Guarded g(bytes);
  hms::ResponseHead head;
  const hms::HttpResult h = hms::parse_response_head(g.chars(), g.size(), &head);
  ASSERT_EQ(h.status, HttpStatus::complete);
  EXPECT_FALSE(hms::is_chunked(head.transfer_encoding));
  ASSERT_TRUE(head.has_content_length);
  EXPECT_EQ(head.content_length, 5u);
  EXPECT_EQ(hms::find_header(g.chars(), h.size, "X-Status"), "0");
  EXPECT_EQ(hms::find_header(g.chars(), h.size, "location"), "/web");

  hms::LengthState st{head.content_length};
  const BodyResult r = hms::decode_length(st, g.chars() + h.size, g.size() - h.size);
  EXPECT_EQ(r.status, BodyStatus::data);
  EXPECT_EQ(r.bytes, "built");
  EXPECT_EQ(hms::decode_length(st, g.chars() + g.size(), 0).status, BodyStatus::complete);
}

TEST(HttpBodyNode, HundredContinueIsOurConstant) {
  const std::string bytes = read_data("node-100-continue.http");
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(std::string_view(bytes).substr(0, hms::kContinueResponse.size()),
            hms::kContinueResponse);
  hms::ResponseHead interim, final_head;
  const hms::HttpResult a = hms::parse_response_head(bytes.data(), bytes.size(), &interim);
  ASSERT_EQ(a.status, HttpStatus::complete);
  EXPECT_EQ(interim.status, 100);
  EXPECT_EQ(a.size, hms::kContinueResponse.size());
  const hms::HttpResult b =
      hms::parse_response_head(bytes.data() + a.size, bytes.size() - a.size, &final_head);
  ASSERT_EQ(b.status, HttpStatus::complete);
  EXPECT_EQ(final_head.status, 200);
  EXPECT_EQ(final_head.content_length, 6u);
  EXPECT_EQ(std::string_view(bytes).substr(a.size + b.size), "got 5\n");
}

// ---- The grammar's corners, each under every split.

// A body that is all of `bytes`.
void expect_body(std::string_view bytes, std::string data, Trailers trailers = {},
                 const ChunkedLimits& limits = {}) {
  expect_any_split(bytes, complete(std::move(data), bytes.size(), std::move(trailers)), limits);
}

TEST(HttpBodyChunked, ExtensionsCaseZerosAndBareLf) {
  expect_body("5;name=value;q=\"a b\"\r\nhello\r\n0\r\n\r\n", "hello");
  expect_body("5 ;x\t; y=\"\xc3\xa9\"\r\nhello\r\n0;last\r\n\r\n", "hello");
  expect_body("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij");
  expect_body("0005\r\nhello\r\n000\r\n\r\n", "hello");
  expect_body("5\nhello\n0\nX: 1\n\n", "hello", {{"X", "1"}});
  expect_body("5\r\nhello\n0\r\nX: 1\n\r\n", "hello", {{"X", "1"}});
  expect_body("0\r\n\r\n", "");
  expect_body("0\n\n", "");
}

TEST(HttpBodyChunked, TrailersInOrderTrimmedAndRepeated) {
  expect_body("3\r\nabc\r\n0\r\nX-Status:  0 \t\r\nx-status:1\r\nEmpty:\r\nVia: a, b\r\n\r\n",
              "abc", {{"X-Status", "0"}, {"x-status", "1"}, {"Empty", ""}, {"Via", "a, b"}});
}

TEST(HttpBodyChunked, BytesAfterTheBodyAreNotConsumed) {
  // A pipelined request behind the body: complete stops at the blank line.
  const std::string next = "GET / HTTP/1.1\r\n\r\n";
  expect_any_split("5\r\nhello\r\n0\r\nX-Status: 0\r\n\r\n" + next,
                   complete("hello", 28, {{"X-Status", "0"}}));
  expect_any_split("0\r\n\r\n\r\n0\r\n\r\n", complete("", 5));
}

TEST(HttpBodyChunked, LargeChunkStreamsThroughInPieces) {
  // 100 KiB in one chunk: handed out as it arrives, never buffered whole.
  const std::string data(100 << 10, 'z');
  const std::string bytes = "19000\r\n" + data + "\r\n0\r\n\r\n";
  EXPECT_EQ(whole(bytes), complete(data, bytes.size()));
  ChunkedState st;
  std::size_t pieces = 0, got = 0, at = 0;
  while (!st.complete()) {
    const std::size_t n = std::min<std::size_t>(4096, bytes.size() - at);
    const hms::test::Guarded g(std::string_view(bytes).substr(at, n));
    const BodyResult r = hms::decode_chunked(st, g.chars(), g.size());
    ASSERT_NE(r.status, BodyStatus::error);
    if (r.status == BodyStatus::data) {
      ++pieces;
      got += r.bytes.size();
    }
    at += r.consumed;
    if (r.status == BodyStatus::need_more) {
      ASSERT_EQ(r.consumed, n) << "kept bytes mid-chunk";
    }
  }
  EXPECT_EQ(got, data.size());
  EXPECT_GE(pieces, data.size() / 4096);
  EXPECT_EQ(at, bytes.size());
}

TEST(HttpBodyChunked, LimitsAtTheirEdgesStillDecode) {
  ChunkedLimits tight;
  tight.max_chunk_size = 5;
  tight.max_line = 7;  // "5;ab\r\n" is 6 bytes, "5;abc\r\n" 7
  tight.max_trailers = 1;
  tight.max_trailer_size = 8;  // "A: 1\r\n" + "\r\n"
  expect_body("5;abc\r\nhello\r\n0\r\nA: 1\r\n\r\n", "hello", {{"A", "1"}}, tight);
  ChunkedLimits huge;
  huge.max_chunk_size = UINT64_MAX;
  ChunkedState st;
  const std::string_view line = "ffffffffffffffff\r\n";
  const BodyResult r = hms::decode_chunked(st, line.data(), line.size(), huge);
  EXPECT_EQ(r.status, BodyStatus::need_more);
  EXPECT_EQ(r.consumed, line.size());
}

TEST(HttpBodyChunked, EmptyInputNeedsMore) {
  ChunkedState st;
  const BodyResult r = hms::decode_chunked(st, static_cast<const char*>(nullptr), 0);
  EXPECT_EQ(r.status, BodyStatus::need_more);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_FALSE(st.complete() || st.failed());
}

TEST(HttpBodyChunked, ByteOverloadMatches) {
  const std::string_view body = "2\r\nok\r\n0\r\n\r\n";
  ChunkedState a, b;
  const BodyResult ra = hms::decode_chunked(a, body.data(), body.size());
  const BodyResult rb =
      hms::decode_chunked(b, reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
  EXPECT_EQ(ra.status, rb.status);
  EXPECT_EQ(ra.bytes, rb.bytes);
  EXPECT_EQ(ra.consumed, rb.consumed);
}

// ---- Content-Length bodies.

TEST(HttpBodyLength, CountsDownAndLeavesTheRest) {
  const std::string bytes = "hello world" "GET / HTTP/1.1\r\n\r\n";
  for (std::size_t k = 0; k <= bytes.size(); ++k) {
    hms::LengthState st{11};
    std::string got;
    std::size_t at = 0;
    for (const std::size_t end : {k, bytes.size()}) {
      if (end < at) continue;
      for (;;) {
        const hms::test::Guarded g(std::string_view(bytes).substr(at, end - at));
        const BodyResult r = hms::decode_length(st, g.chars(), g.size());
        ASSERT_NE(r.status, BodyStatus::error);
        at += r.consumed;
        if (r.status == BodyStatus::data) {
          got.append(r.bytes);
          continue;
        }
        break;
      }
    }
    EXPECT_EQ(got, "hello world") << k;
    EXPECT_EQ(at, 11u) << k;
    EXPECT_EQ(st.remaining, 0u);
  }
  hms::LengthState empty{0};
  EXPECT_EQ(hms::decode_length(empty, "x", 1).status, BodyStatus::complete);
  hms::LengthState waiting{3};
  EXPECT_EQ(hms::decode_length(waiting, nullptr, 0).status, BodyStatus::need_more);
}

// ---- Framing helpers.

TEST(HttpBodyFraming, IsChunked) {
  for (std::string_view te : {"chunked", "CHUNKED", "Chunked", " chunked ", "gzip, chunked",
                              "gzip,chunked", "gzip ,\tchunked", "chunked,", "chunked , ,"}) {
    EXPECT_TRUE(hms::is_chunked(te)) << te;
  }
  for (std::string_view te : {"", "gzip", "chunked, gzip", "chunkedx", "xchunked", "chunk",
                              "chunked;q=1", ",", "identity"}) {
    EXPECT_FALSE(hms::is_chunked(te)) << te;
  }
  EXPECT_FALSE(hms::is_chunked(std::string_view()));
}

TEST(HttpBodyFraming, ExpectsContinue) {
  EXPECT_TRUE(hms::expects_continue("100-continue"));
  EXPECT_TRUE(hms::expects_continue("100-Continue"));
  EXPECT_FALSE(hms::expects_continue(""));
  EXPECT_FALSE(hms::expects_continue("100-continue, x"));
  EXPECT_FALSE(hms::expects_continue("200-continue"));
}

// ---- Encoders.

std::string chunk_header(std::uint64_t size) {
  char out[hms::kMaxChunkHeader];
  return {out, hms::encode_chunk_header(out, size)};
}

TEST(HttpBodyEncode, ChunkHeadersAsNodeWritesThem) {
  EXPECT_EQ(chunk_header(1), "1\r\n");
  EXPECT_EQ(chunk_header(6), "6\r\n");
  EXPECT_EQ(chunk_header(0xc), "c\r\n");
  EXPECT_EQ(chunk_header(16), "10\r\n");
  EXPECT_EQ(chunk_header(300), "12c\r\n");
  EXPECT_EQ(chunk_header(UINT64_MAX), "ffffffffffffffff\r\n");
  EXPECT_EQ(chunk_header(UINT64_MAX).size(), hms::kMaxChunkHeader);
  char out[hms::kMaxChunkHeader] = {'#'};
  EXPECT_EQ(hms::encode_chunk_header(out, 0), 0u);
  EXPECT_EQ(out[0], '#');
  // Node's recorded PUT has the chunk lines 6, 9 and 12c.
  const std::string put = read_data("node-put-chunked.http");
  for (std::uint64_t n : {6u, 9u, 300u}) {
    EXPECT_NE(put.find("\r\n" + chunk_header(n)), std::string::npos) << n;
  }
}

TEST(HttpBodyEncode, LastChunkWithXStatusIsNodesBytes) {
  const hms::HttpField status{"X-Status", "0"};
  char out[64];
  const std::size_t n = hms::encode_last_chunk(out, sizeof out, &status, 1);
  EXPECT_EQ(std::string_view(out, n), "0\r\nX-Status: 0\r\n\r\n");
  EXPECT_EQ(n, hms::last_chunk_size(&status, 1));
  const std::string node = read_data("node-response-trailers.http");
  ASSERT_GE(node.size(), n);
  EXPECT_EQ(std::string_view(node).substr(node.size() - n), std::string_view(out, n));

  EXPECT_EQ(std::string_view(out, hms::encode_last_chunk(out, sizeof out, nullptr, 0)),
            "0\r\n\r\n");
  EXPECT_EQ(hms::last_chunk_size(nullptr, 0), 5u);
  // Exactly enough room is enough.
  EXPECT_EQ(hms::encode_last_chunk(out, n, &status, 1), n);
}

TEST(HttpBodyEncode, WhatWeWriteDecodesTheSame) {
  // A build log streamed as the hub will: a chunk per read, X-Status last.
  const std::vector<std::string> reads = {"npm install\n", std::string(1000, 'x'), "\r\n0\r\n",
                                          "done\n"};
  std::string wire, data;
  for (const std::string& r : reads) {
    wire += chunk_header(r.size()) + r + std::string(hms::kChunkEnd);
    data += r;
  }
  const hms::HttpField trailers[] = {{"X-Status", "1"}, {"X-Signal", "SIGTERM"}};
  std::string tail(hms::last_chunk_size(trailers, 2), '\0');
  ASSERT_EQ(hms::encode_last_chunk(tail.data(), tail.size(), trailers, 2), tail.size());
  wire += tail;
  expect_body(wire, data, {{"X-Status", "1"}, {"X-Signal", "SIGTERM"}});
}

}  // namespace
