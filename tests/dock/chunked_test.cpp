// The chunked body decoder: whole, split at every byte offset, and broken
// inputs named.
#include <gtest/gtest.h>

#include "dock/chunked.hpp"

namespace hms::dock {
namespace {

// Feeds `parts` one after the other (as reads would deliver them).
struct Decoded {
  std::string body;
  bool done = false, failed = false;
  std::string error;
};
Decoded decode(const std::vector<std::string>& parts) {
  ChunkedDecoder d;
  Decoded r;
  std::string carry;
  for (const auto& p : parts) {
    carry += p;
    std::size_t off = 0;
    while (off < carry.size() && !d.done() && !d.failed()) {
      const auto st = d.step(carry.data() + off, carry.size() - off);
      if (st.body_len) r.body.append(carry, off + st.body_off, st.body_len);
      if (st.used == 0) break;
      off += st.used;
    }
    carry.erase(0, off);
  }
  r.done = d.done();
  r.failed = d.failed();
  r.error = d.error();
  return r;
}

TEST(ChunkedTest, WholeAndSplitAtEveryOffset) {
  const std::string wire =
      "5\r\nhello\r\n1a;ext=1\r\n abcdefghijklmnopqrstuvwxy\r\nA\r\n0123456789\r\n0\r\nX-Status: 200\r\n\r\n";
  const std::string want = "hello abcdefghijklmnopqrstuvwxy0123456789";
  Decoded d = decode({wire});
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.body, want);
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    d = decode({wire.substr(0, cut), wire.substr(cut)});
    EXPECT_TRUE(d.done) << cut;
    EXPECT_EQ(d.body, want) << cut;
  }
  std::vector<std::string> bytes;
  for (char c : wire) bytes.emplace_back(1, c);
  d = decode(bytes);
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.body, want);
}

TEST(ChunkedTest, BareLinefeedsAndNoTrailer) {
  const Decoded d = decode({"3\nabc\n0\n\n"});
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.body, "abc");
}

TEST(ChunkedTest, BrokenInputsAreErrors) {
  EXPECT_EQ(decode({"zz\r\n"}).error, "bad chunk size line");
  EXPECT_EQ(decode({"\r\n"}).error, "bad chunk size line");
  EXPECT_EQ(decode({"3\r\nabcd\r\n"}).error, "chunk data longer than its size");
  EXPECT_EQ(decode({"1000000000000000\r\n"}).error, "chunk size too large");
  EXPECT_EQ(decode({"3;" + std::string(5000, 'x') + "\r\n"}).error, "chunk extension too long");
  EXPECT_EQ(decode({"0\r\n" + std::string(5000, 'x')}).error, "trailer line too long");
  const Decoded partial = decode({"5\r\nhel"});
  EXPECT_FALSE(partial.done);
  EXPECT_FALSE(partial.failed);
  EXPECT_EQ(partial.body, "hel");
}

}  // namespace
}  // namespace hms::dock
