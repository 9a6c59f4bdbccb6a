// libFuzzer entry point for the HTTP body codec (decode_chunked,
// decode_length, and the chunk encoders through a round trip).
//
// The input is a chunked body. It is decoded under the default limits and
// under small ones (so every limit is reached by short inputs), whole, in
// pieces of several sizes, and byte by byte, the way a connection feeds it:
// what a call leaves unconsumed goes again in front of the next piece. The
// invariants of hms/http_body.hpp are checked on every call, and a violation
// traps:
//   - one status per call; consumed <= len; data is non-empty and ends at
//     consumed; views lie inside this call's input; an error is named, at an
//     offset < len, consumes nothing, and stays;
//   - need_more keeps at most a partial trailer line or one CR;
//   - the outcome (data, trailers, end, and where it ended) is the same
//     however the body was split;
//   - a complete body re-encoded with encode_chunk_header / encode_last_chunk
//     decodes to the same data and trailers;
//   - decode_length hands out exactly min(len, remaining) bytes.
// Built with -fsanitize=fuzzer,address,undefined by scripts/fuzz; the normal
// test run replays tests/fuzz/corpus/fuzz_http_body/ through replay_main.cpp.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hms/http_body.hpp"

namespace {

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

struct Outcome {
  std::string data;
  std::vector<std::pair<std::string, std::string>> trailers;
  hms::BodyStatus end = hms::BodyStatus::need_more;
  hms::BodyError error = hms::BodyError::none;
  std::uint64_t at = 0;
  bool operator==(const Outcome&) const = default;
};

bool inside(std::string_view v, const char* p, std::size_t n) {
  return v.data() >= p && v.data() + v.size() <= p + n;
}

// Decodes `in` fed in pieces of `step` bytes (0: all at once). Each call
// gets an exact-size heap copy, so ASan sees a read past `len`.
Outcome run(std::string_view in, std::size_t step, const hms::ChunkedLimits& limits) {
  hms::ChunkedState st;
  Outcome o;
  std::string pending;
  std::size_t from = 0;
  while (true) {
    const std::size_t take = step == 0 ? in.size() - from : std::min(step, in.size() - from);
    pending.append(in.substr(from, take));
    from += take;
    for (;;) {
      const std::vector<char> copy(pending.begin(), pending.end());
      const char* p = copy.empty() ? nullptr : copy.data();
      const std::size_t n = copy.size();
      const std::uint64_t before = st.position();
      const hms::BodyResult r = hms::decode_chunked(st, p, n, limits);
      FUZZ_CHECK(r.consumed <= n);
      if (r.status == hms::BodyStatus::error) {
        FUZZ_CHECK(r.error != hms::BodyError::none && r.error_offset < n && r.consumed == 0);
        FUZZ_CHECK(std::string_view(hms::to_string(r.error)) != "unknown");
        FUZZ_CHECK(st.failed() && st.position() == before);
        const hms::BodyResult again = hms::decode_chunked(st, p, n, limits);
        FUZZ_CHECK(again.status == hms::BodyStatus::error && again.error == r.error);
        o.end = r.status;
        o.error = r.error;
        o.at = before + r.error_offset;
        return o;
      }
      FUZZ_CHECK(r.error == hms::BodyError::none);
      FUZZ_CHECK(st.position() == before + r.consumed);
      switch (r.status) {
        case hms::BodyStatus::data:
          FUZZ_CHECK(!r.bytes.empty() && inside(r.bytes, p, r.consumed));
          FUZZ_CHECK(r.bytes.data() + r.bytes.size() == p + r.consumed);
          o.data.append(r.bytes);
          break;
        case hms::BodyStatus::trailer:
          FUZZ_CHECK(!r.name.empty() && inside(r.name, p, r.consumed) &&
                     inside(r.value, p, r.consumed));
          o.trailers.emplace_back(r.name, r.value);
          break;
        case hms::BodyStatus::complete: {
          FUZZ_CHECK(st.complete());
          const hms::BodyResult again = hms::decode_chunked(st, p, n, limits);
          FUZZ_CHECK(again.status == hms::BodyStatus::complete && again.consumed == 0);
          o.end = r.status;
          o.at = st.position();
          return o;
        }
        case hms::BodyStatus::need_more:
          break;
        default:
          FUZZ_CHECK(false);
      }
      pending.erase(0, r.consumed);
      if (r.status == hms::BodyStatus::need_more) {
        FUZZ_CHECK(pending.size() <= limits.max_trailer_size || pending == "\r");
        break;
      }
    }
    if (from == in.size()) return o;
  }
}

// A complete body, written again by our encoders (all data in one chunk,
// when there is any), must read back the same.
void check_round_trip(const Outcome& o, const hms::ChunkedLimits& limits) {
  std::string wire;
  if (!o.data.empty()) {
    char head[hms::kMaxChunkHeader];
    const std::size_t n = hms::encode_chunk_header(head, o.data.size());
    FUZZ_CHECK(n > 0 && n <= hms::kMaxChunkHeader);
    wire.append(head, n);
    wire += o.data;
    wire += hms::kChunkEnd;
  }
  std::vector<hms::HttpField> fields;
  for (const auto& [name, value] : o.trailers) fields.push_back({name, value});
  const std::size_t size = hms::last_chunk_size(fields.data(), fields.size());
  std::string tail(size, '\0');
  // What the decoder hands out is always writable again.
  FUZZ_CHECK(hms::encode_last_chunk(tail.data(), tail.size(), fields.data(), fields.size()) ==
             size);
  wire += tail;
  hms::ChunkedLimits roomy = limits;
  roomy.max_chunk_size = UINT64_MAX;
  roomy.max_line = std::max(limits.max_line, hms::kMaxChunkHeader);
  roomy.max_trailer_size = std::max(limits.max_trailer_size, size);
  const Outcome back = run(wire, 0, roomy);
  FUZZ_CHECK(back.end == hms::BodyStatus::complete && back.at == wire.size());
  FUZZ_CHECK(back.data == o.data && back.trailers == o.trailers);
}

void check_length(std::string_view in) {
  hms::LengthState st{in.size() / 2};
  const std::vector<char> copy(in.begin(), in.end());
  const char* p = copy.empty() ? nullptr : copy.data();
  const hms::BodyResult r = hms::decode_length(st, p, copy.size());
  const std::size_t want = in.size() / 2;
  if (want == 0) {
    FUZZ_CHECK(r.status == hms::BodyStatus::complete && r.consumed == 0);
    return;
  }
  FUZZ_CHECK(r.status == hms::BodyStatus::data && r.consumed == want && r.bytes.size() == want);
  FUZZ_CHECK(r.bytes.data() == p && st.remaining == 0);
  FUZZ_CHECK(hms::decode_length(st, p + want, copy.size() - want).status ==
             hms::BodyStatus::complete);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  hms::ChunkedLimits small;
  small.max_chunk_size = 1000;
  small.max_line = 16;
  small.max_trailers = 2;
  small.max_trailer_size = 32;
  for (const hms::ChunkedLimits& limits : {hms::ChunkedLimits{}, small}) {
    const Outcome whole = run(in, 0, limits);
    // Splits: byte by byte for short inputs, a few piece sizes always.
    if (size <= 512) FUZZ_CHECK(run(in, 1, limits) == whole);
    for (std::size_t step : {2, 3, 7, 64}) {
      if (step < size) FUZZ_CHECK(run(in, step, limits) == whole);
    }
    if (whole.end == hms::BodyStatus::complete) check_round_trip(whole, limits);
  }
  check_length(in);
  return 0;
}
