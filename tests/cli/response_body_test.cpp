// apps/cli/response_body: a response body framed each way, whole, split at
// every byte offset and byte by byte, as HttpClient feeds it (what a step
// does not consume is offered again with the next piece). The chunked
// decoder itself is the codec's (tests/codec/http_body*_test.cpp); here,
// what the CLI does with it: which framing a head picks, trailers kept
// lower-cased, where the body stops, and its errors by name.
#include "response_body.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hms::cli {
namespace {

struct Decoded {
  std::string body;
  std::string trailers;  // "name=value;" ...
  std::string error;     // "" when done
  bool done = false;
  std::size_t consumed = 0;  // of the whole input, when done
  bool operator==(const Decoded&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Decoded& d) {
  return os << "{body=" << d.body << " trailers=" << d.trailers << " error=" << d.error << " done=" << d.done
            << " consumed=" << d.consumed << "}";
}

BodyFraming chunked() {
  BodyFraming f;
  f.status = 200;
  f.transfer_encoding = "chunked";
  return f;
}

BodyFraming length(std::uint64_t n) {
  BodyFraming f;
  f.status = 200;
  f.has_content_length = true;
  f.content_length = n;
  return f;
}

// Feeds `in` cut at the given offsets; at the end of the input the
// connection closes.
Decoded decode(const BodyFraming& head, const std::string& in, const std::vector<std::size_t>& cuts) {
  ResponseBody body(head);
  Decoded d;
  std::string pending;
  std::size_t fed = 0, base = 0;  // base: offset of pending[0] in `in`
  std::vector<std::size_t> ends = cuts;
  ends.push_back(in.size());
  for (std::size_t end : ends) {
    pending += in.substr(fed, end - fed);
    fed = end;
    std::size_t pos = 0;
    for (;;) {
      const auto s = body.next(pending.data() + pos, pending.size() - pos);
      pos += s.consumed;
      if (s.kind == ResponseBody::Step::Kind::data) {
        EXPECT_FALSE(s.data.empty());
        d.body.append(s.data);
        continue;
      }
      if (s.kind == ResponseBody::Step::Kind::error) {
        d.error = s.error;
        return d;
      }
      if (s.kind == ResponseBody::Step::Kind::done) {
        d.done = true;
        d.consumed = base + pos;
        for (const auto& [k, v] : body.trailers()) d.trailers += k + "=" + v + ";";
        return d;
      }
      break;  // need_more
    }
    base += pos;
    pending.erase(0, pos);
  }
  d.done = body.closed();
  if (d.done) d.consumed = in.size();
  else d.error = "cut short";
  return d;
}

void check_every_split(const BodyFraming& head, const std::string& in, const Decoded& want) {
  EXPECT_EQ(decode(head, in, {}), want) << "whole";
  for (std::size_t i = 1; i < in.size(); ++i) EXPECT_EQ(decode(head, in, {i}), want) << "split at " << i;
  std::vector<std::size_t> bytes;
  for (std::size_t i = 1; i < in.size(); ++i) bytes.push_back(i);
  EXPECT_EQ(decode(head, in, bytes), want) << "byte by byte";
}

TEST(ResponseBody, ChunkedBodyAndTrailerAtEverySplit) {
  const std::string msg = "5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Status: 200\r\n\r\n";
  check_every_split(chunked(), msg + "NEXT", Decoded{"hello, world", "x-status=200;", "", true, msg.size()});
}

TEST(ResponseBody, BuildOutputAsTheTerminalSendsIt) {
  // Captured from the reference terminal: two chunks, a 500 trailer.
  const std::string msg = "a\r\nstep 1\nok\n\r\na\r\nto stderr\n\r\n0\r\nX-Status: 500\r\n\r\n";
  check_every_split(chunked(), msg, Decoded{"step 1\nok\nto stderr\n", "x-status=500;", "", true, msg.size()});
}

TEST(ResponseBody, ExtensionsUppercaseHexBareLfTrailersInOrder) {
  const std::string msg = "A;name=\"v\";x\r\n0123456789\r\n3 ; ext\nabc\n0\nA: 1\nb-c:   two words  \nA: 2\n\n";
  check_every_split(chunked(), msg, Decoded{"0123456789abc", "a=1;b-c=two words;a=2;", "", true, msg.size()});
}

TEST(ResponseBody, ChunkedNoTrailersAndAfterOtherCodings) {
  const std::string msg = "0\r\n\r\n";
  check_every_split(chunked(), msg, Decoded{"", "", "", true, msg.size()});
  BodyFraming gz = chunked();
  gz.transfer_encoding = "gzip, Chunked";
  check_every_split(gz, "3\r\nabc\r\n0\r\n\r\n", Decoded{"abc", "", "", true, 13});
}

TEST(ResponseBody, ChunkedErrorsByNameWhateverTheSplit) {
  EXPECT_EQ(decode(chunked(), "zz\r\n", {}).error, "bad_chunk_size");
  EXPECT_EQ(decode(chunked(), "5\r\nhelloX\r\n", {}).error, "bad_chunk_end");
  EXPECT_EQ(decode(chunked(), "0\r\nno colon\r\n\r\n", {}).error, "bad_trailer");
  EXPECT_EQ(decode(chunked(), "1;a\x01\r\n", {}).error, "bad_chunk_extension");
  EXPECT_EQ(decode(chunked(), std::string(20, 'f') + "\r\n", {}).error, "chunk_too_large");
  std::string many = "0\r\n";
  for (std::size_t i = 0; i <= kMaxHeaders; ++i) many += "a: b\r\n";
  EXPECT_EQ(decode(chunked(), many + "\r\n", {}).error, "too_many_trailers");
  const std::string bad = "5\r\nhello\r\nq\r\n";
  for (std::size_t i = 1; i < bad.size(); ++i) EXPECT_EQ(decode(chunked(), bad, {i}).error, "bad_chunk_size") << i;
  // A close inside the body cuts it short.
  EXPECT_EQ(decode(chunked(), "5\r\nhel", {}), (Decoded{"hel", "", "cut short", false, 0}));
}

TEST(ResponseBody, LargeChunkSpansReads) {
  const std::string data(300000, 'z');
  const std::string msg = "493e0\r\n" + data + "\r\n0\r\n\r\n";
  EXPECT_EQ(decode(chunked(), msg, {1000, 70000, 200000}), (Decoded{data, "", "", true, msg.size()}));
}

TEST(ResponseBody, ContentLengthStopsAtItsCount) {
  check_every_split(length(17), "Service not foundNEXT", Decoded{"Service not found", "", "", true, 17});
  EXPECT_EQ(decode(length(0), "", {}), (Decoded{"", "", "", true, 0}));
  EXPECT_EQ(decode(length(10), "short", {}), (Decoded{"short", "", "cut short", false, 0}));
  // A Transfer-Encoding wins over a Content-Length (RFC 9112 §6.3).
  BodyFraming both = chunked();
  both.has_content_length = true;
  both.content_length = 3;
  EXPECT_EQ(decode(both, "5\r\nhello\r\n0\r\n\r\n", {}), (Decoded{"hello", "", "", true, 15}));
}

TEST(ResponseBody, UntilCloseAndNone) {
  BodyFraming close_delimited;
  close_delimited.status = 200;
  check_every_split(close_delimited, "all of it", Decoded{"all of it", "", "", true, 9});
  BodyFraming gzip_only = close_delimited;
  gzip_only.transfer_encoding = "gzip";  // not chunked: runs to the close
  EXPECT_EQ(decode(gzip_only, "abc", {1}), (Decoded{"abc", "", "", true, 3}));
  for (int status : {100, 204, 304}) {
    BodyFraming none = length(5);
    none.status = status;
    EXPECT_EQ(decode(none, "hello", {}), (Decoded{"", "", "", true, 0})) << status;
  }
}

}  // namespace
}  // namespace hms::cli
