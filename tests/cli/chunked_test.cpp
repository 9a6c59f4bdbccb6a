// apps/cli/chunked: the chunked decoder whole, split at every byte offset,
// byte by byte, and its errors and limits.
#include "chunked.hpp"

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

// Feeds `in` cut at the given offsets (a receive loop: what a step did not
// consume is offered again with the next piece).
Decoded decode(const std::string& in, const std::vector<std::size_t>& cuts) {
  ChunkedDecoder dec;
  Decoded d;
  std::string pending;
  std::size_t fed = 0, base = 0;  // base: offset of pending[0] in `in`
  std::vector<std::size_t> ends = cuts;
  ends.push_back(in.size());
  for (std::size_t end : ends) {
    pending += in.substr(fed, end - fed);
    fed = end;
    std::size_t pos = 0;
    while (pos < pending.size()) {
      const auto s = dec.next(pending.data() + pos, pending.size() - pos);
      pos += s.consumed;
      if (s.kind == ChunkedDecoder::Step::Kind::data) d.body.append(s.data);
      if (s.kind == ChunkedDecoder::Step::Kind::error) {
        d.error = s.error;
        return d;
      }
      if (s.kind == ChunkedDecoder::Step::Kind::done) {
        d.done = true;
        d.consumed = base + pos;
        for (const auto& [k, v] : dec.trailers()) d.trailers += k + "=" + v + ";";
        return d;
      }
      if (s.kind == ChunkedDecoder::Step::Kind::need_more) break;
    }
    base += pos;
    pending.erase(0, pos);
  }
  return d;
}

void check_every_split(const std::string& in, const Decoded& want) {
  EXPECT_EQ(decode(in, {}), want) << "whole";
  for (std::size_t i = 1; i < in.size(); ++i) EXPECT_EQ(decode(in, {i}), want) << "split at " << i;
  std::vector<std::size_t> bytes;
  for (std::size_t i = 1; i < in.size(); ++i) bytes.push_back(i);
  EXPECT_EQ(decode(in, bytes), want) << "byte by byte";
}

TEST(Chunked, BodyAndTrailerAtEverySplit) {
  const std::string msg = "5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Status: 200\r\n\r\n";
  check_every_split(msg + "NEXT", Decoded{"hello, world", "x-status=200;", "", true, msg.size()});
}

TEST(Chunked, BuildOutputAsTheTerminalSendsIt) {
  // Captured from the reference terminal: two chunks, a 500 trailer.
  const std::string msg = "a\r\nstep 1\nok\n\r\na\r\nto stderr\n\r\n0\r\nX-Status: 500\r\n\r\n";
  check_every_split(msg, Decoded{"step 1\nok\nto stderr\n", "x-status=500;", "", true, msg.size()});
}

TEST(Chunked, ExtensionsUppercaseHexBareLf) {
  const std::string msg = "A;name=\"v\";x\r\n0123456789\r\n3 ; ext\nabc\n0\nA: 1\nb-c:   two words  \n\n";
  check_every_split(msg, Decoded{"0123456789abc", "a=1;b-c=two words;", "", true, msg.size()});
}

TEST(Chunked, NoTrailers) {
  const std::string msg = "0\r\n\r\n";
  check_every_split(msg, Decoded{"", "", "", true, msg.size()});
}

TEST(Chunked, Errors) {
  EXPECT_EQ(decode("zz\r\n", {}).error, std::string("bad chunk size"));
  EXPECT_EQ(decode("\r\n", {}).error, std::string("bad chunk size"));
  EXPECT_EQ(decode("5\r\nhelloX\r\n", {}).error, std::string("chunk data longer than its size"));
  EXPECT_EQ(decode("5\rX", {}).error, std::string("bad chunk size line end"));
  EXPECT_EQ(decode("5\r\nhello\rX", {}).error, std::string("bad chunk data end"));
  EXPECT_EQ(decode("0\r\nno colon\r\n\r\n", {}).error, std::string("bad trailer field"));
  EXPECT_EQ(decode("0\r\nbad name: v\r\n\r\n", {}).error, std::string("bad trailer field"));
  EXPECT_EQ(decode("0\r\nX: a\x01" "b\r\n\r\n", {}).error, std::string("bad trailer field"));
  EXPECT_EQ(decode("1;a\x01\r\n", {}).error, std::string("bad chunk extension"));
  EXPECT_EQ(decode("0\r\nX: 1\rY", {}).error, std::string("bad trailer line end"));
  // Errors are stable whatever the split.
  const std::string bad = "5\r\nhello\r\nq\r\n";
  for (std::size_t i = 1; i < bad.size(); ++i) EXPECT_EQ(decode(bad, {i}).error, "bad chunk size") << i;
}

TEST(Chunked, Limits) {
  EXPECT_EQ(decode(std::string(15, 'f') + "\r\n", {}).error, "");  // 15 digits: fine (needs more)
  EXPECT_EQ(decode(std::string(16, 'f') + "\r\n", {}).error, std::string("chunk size too large"));
  EXPECT_EQ(decode("1;" + std::string(ChunkedDecoder::kMaxLine, 'x') + "\r\n", {}).error,
            std::string("chunk size line too long"));
  std::string big = "0\r\n";
  for (int i = 0; i < 20; ++i) big += "X-Field-" + std::to_string(i) + ": " + std::string(500, 'v') + "\r\n";
  EXPECT_EQ(decode(big + "\r\n", {}).error, std::string("trailer section too large"));
  std::string many = "0\r\n";
  for (std::size_t i = 0; i <= ChunkedDecoder::kMaxTrailerFields; ++i) many += "a: b\r\n";
  EXPECT_EQ(decode(many + "\r\n", {}).error, std::string("bad trailer field"));
}

TEST(Chunked, LargeChunkSpansReads) {
  const std::string data(300000, 'z');
  const std::string msg = chunk_head(data.size()) + data + std::string(kChunkEnd) + std::string(kLastChunk);
  EXPECT_EQ(decode(msg, {1000, 70000, 200000}), (Decoded{data, "", "", true, msg.size()}));
}

TEST(Chunked, EncoderFraming) {
  EXPECT_EQ(chunk_head(1), "1\r\n");
  EXPECT_EQ(chunk_head(65536), "10000\r\n");
  EXPECT_EQ(kLastChunk, "0\r\n\r\n");
}

}  // namespace
}  // namespace hms::cli
