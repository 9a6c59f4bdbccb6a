// Runs the chunked decoder the way a connection does, for the body tests:
// bytes arrive in pieces, what a call leaves unconsumed is kept and passed
// again in front of the next piece, and every call gets a fresh guarded
// copy (hms::test::Guarded), so a read past `len` crashes. The per-call
// contract of hms/http_body.hpp is checked on the way; the Outcome is what
// must not depend on the pieces.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hms/http_body.hpp"
#include "support/guarded.hpp"

namespace hms::test {

using Trailers = std::vector<std::pair<std::string, std::string>>;

// Everything a decode of one body produced.
struct Outcome {
  std::string data;
  Trailers trailers;
  BodyStatus end = BodyStatus::need_more;  // complete, error, or need_more (ran out)
  BodyError error = BodyError::none;
  std::uint64_t at = 0;  // complete: bytes of the body; error: its position in the body
  bool operator==(const Outcome&) const = default;
};

inline void PrintTo(const Outcome& o, std::ostream* os) {
  *os << "{data " << o.data.size() << " bytes, " << o.trailers.size() << " trailers, end "
      << int(o.end) << ", " << to_string(o.error) << " at " << o.at << "}";
}

inline Outcome complete(std::string data, std::uint64_t at, Trailers trailers = {}) {
  Outcome o;
  o.data = std::move(data);
  o.trailers = std::move(trailers);
  o.end = BodyStatus::complete;
  o.at = at;
  return o;
}

inline bool inside(std::string_view v, const Guarded& g, std::size_t n) {
  return v.data() >= g.chars() && v.data() + v.size() <= g.chars() + n;
}

// Feeds `bytes` to a fresh state in pieces ending at `cuts` (increasing
// offsets, then the end), keeping what a call leaves unconsumed for the next
// one. Checks the per-call contract on the way.
inline Outcome run_chunked(std::string_view bytes, const std::vector<std::size_t>& cuts,
                           const hms::ChunkedLimits& limits = {}) {
  hms::ChunkedState st;
  Outcome o;
  std::string pending;
  std::size_t from = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(bytes.size());
  for (const std::size_t e : ends) {
    pending.append(bytes.substr(from, e - from));
    from = e;
    for (;;) {
      const Guarded g(pending);
      const std::uint64_t before = st.position();
      const hms::BodyResult r = hms::decode_chunked(st, g.chars(), g.size(), limits);
      EXPECT_LE(r.consumed, g.size());
      if (r.status == BodyStatus::error) {
        EXPECT_LT(r.error_offset, g.size());
        EXPECT_NE(r.error, BodyError::none);
        EXPECT_EQ(r.consumed, 0u);
        EXPECT_TRUE(st.failed());
        EXPECT_EQ(st.position(), before);
        o.end = BodyStatus::error;
        o.error = r.error;
        o.at = before + r.error_offset;
        // The state stays failed.
        const hms::BodyResult again = hms::decode_chunked(st, g.chars(), g.size(), limits);
        EXPECT_EQ(again.status, BodyStatus::error);
        EXPECT_EQ(again.error, r.error);
        return o;
      }
      EXPECT_EQ(r.error, BodyError::none);
      EXPECT_EQ(st.position(), before + r.consumed);
      pending.erase(0, r.consumed);
      if (r.status == BodyStatus::data) {
        EXPECT_FALSE(r.bytes.empty());
        EXPECT_TRUE(inside(r.bytes, g, r.consumed));
        EXPECT_EQ(r.bytes.data() + r.bytes.size(), g.chars() + r.consumed);
        o.data.append(r.bytes);
        continue;
      }
      if (r.status == BodyStatus::trailer) {
        EXPECT_TRUE(inside(r.name, g, r.consumed) && inside(r.value, g, r.consumed));
        o.trailers.emplace_back(r.name, r.value);
        continue;
      }
      if (r.status == BodyStatus::complete) {
        EXPECT_TRUE(st.complete());
        o.end = BodyStatus::complete;
        o.at = st.position();
        const hms::BodyResult again = hms::decode_chunked(st, g.chars(), g.size(), limits);
        EXPECT_EQ(again.status, BodyStatus::complete);
        EXPECT_EQ(again.consumed, 0u);
        return o;
      }
      EXPECT_EQ(r.status, BodyStatus::need_more);
      // What is kept: a partial trailer line, or a CR waiting for its LF.
      EXPECT_TRUE(pending.size() <= limits.max_trailer_size || pending == "\r") << pending.size();
      break;
    }
  }
  return o;
}

inline Outcome whole(std::string_view bytes, const hms::ChunkedLimits& limits = {}) {
  return run_chunked(bytes, {}, limits);
}

// Whole, split in two at every offset, and byte by byte: one outcome.
inline void expect_any_split(std::string_view bytes, const Outcome& want,
                             const hms::ChunkedLimits& limits = {}) {
  EXPECT_EQ(whole(bytes, limits), want);
  for (std::size_t k = 0; k <= bytes.size(); ++k) {
    ASSERT_EQ(run_chunked(bytes, {k}, limits), want) << "split at " << k;
  }
  std::vector<std::size_t> each;
  for (std::size_t k = 1; k < bytes.size(); ++k) each.push_back(k);
  EXPECT_EQ(run_chunked(bytes, each, limits), want) << "byte by byte";
}

}  // namespace hms::test
