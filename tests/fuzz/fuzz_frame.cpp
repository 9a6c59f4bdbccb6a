// libFuzzer entry point for the frame decoder (decode_frame and, through it,
// check_prefix and split_message).
//
// The input is taken as a byte stream and decoded frame after frame, once
// with the default limit and once with small limits, so body_too_long and
// the paths around it are reached without megabyte inputs. For every outcome
// the invariants the engine relies on are checked, and a violation traps:
//   frame:     size within the input, views inside the frame, payload is the
//              rest of the body, and the encoders give back the same bytes;
//   need_more: size larger than what is there, and exact (header, then frame);
//   error:     a named kind, the offending field inside the input, and the
//              same error from just the bytes up to that field (reject early).
// Built with -fsanitize=fuzzer,address,undefined by scripts/fuzz; the normal
// test run replays tests/fuzz/corpus/fuzz_frame/ through replay_main.cpp.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "hms/frame.hpp"

namespace {

// Trap, not abort or throw: libFuzzer and the sanitizers report it with a
// stack, and it needs nothing from the C++ runtime.
#define FUZZ_CHECK(cond)             \
  do {                               \
    if (!(cond)) __builtin_trap();   \
  } while (0)

bool within(const void* p, std::size_t n, const std::uint8_t* begin, const std::uint8_t* end) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  return b >= begin && b <= end && n <= static_cast<std::size_t>(end - b);
}

// Head buffer for re-encoding: the largest message head (id of 65535 bytes).
std::uint8_t g_head[hms::message_head_size(0xFFFF)];

void check_frame(const hms::DecodeResult& r, const std::uint8_t* data, std::size_t len,
                 const hms::DecodeLimits& limits) {
  const hms::FrameView& f = r.frame;
  FUZZ_CHECK(r.error == hms::DecodeError::none);
  FUZZ_CHECK(r.size >= hms::kHeaderSize && r.size <= len);
  FUZZ_CHECK(r.size == hms::kHeaderSize + std::size_t{f.header.length});
  FUZZ_CHECK(f.header.length <= limits.max_body);
  FUZZ_CHECK(static_cast<std::uint8_t>(f.header.type) <= hms::kMaxFrameType);
  FUZZ_CHECK(static_cast<std::uint8_t>(f.header.type) == data[0]);
  FUZZ_CHECK(f.header.request_id == hms::load_u16(data + 1));
  FUZZ_CHECK(f.body == data + hms::kHeaderSize);
  const std::uint8_t* end = data + r.size;

  // The header re-encodes to the same 7 bytes.
  hms::encode_header(g_head, f.header.type, f.header.request_id, f.header.length);
  FUZZ_CHECK(std::memcmp(g_head, data, hms::kHeaderSize) == 0);

  if (!f.is_message()) {
    FUZZ_CHECK(f.message.payload == nullptr && f.message.id.empty());
  } else {
    const hms::MessageView& m = f.message;
    FUZZ_CHECK(f.header.length >= hms::kMessagePrefix);
    FUZZ_CHECK(m.opcode == f.body[0]);
    FUZZ_CHECK(m.id.data() == reinterpret_cast<const char*>(f.body) + hms::kMessagePrefix);
    FUZZ_CHECK(within(m.id.data(), m.id.size(), f.body, end));
    FUZZ_CHECK(m.payload == f.body + hms::kMessagePrefix + m.id.size());
    FUZZ_CHECK(m.payload + m.payload_size == end);
    // service@origin split at the first '@'.
    FUZZ_CHECK(m.service.data() == m.id.data());
    if (m.has_origin) {
      FUZZ_CHECK(m.service.size() < m.id.size());
      FUZZ_CHECK(m.id[m.service.size()] == '@');
      FUZZ_CHECK(m.service.find('@') == std::string_view::npos);
      FUZZ_CHECK(m.origin.data() == m.id.data() + m.service.size() + 1);
      FUZZ_CHECK(m.service.size() + 1 + m.origin.size() == m.id.size());
    } else {
      FUZZ_CHECK(m.id.find('@') == std::string_view::npos);
      FUZZ_CHECK(m.service == m.id && m.origin == "unknown");
    }

    // What decodes under a limit is what message_fits() accepts under it,
    // so the encoders take it back without refusing.
    FUZZ_CHECK(hms::message_fits(m.id.size(), m.payload_size, limits.max_body));
    // Round trip: head from the encoder + the payload bytes as they are.
    const std::size_t n =
        hms::encode_message_head(g_head, f.header.type, f.header.request_id,
                                 static_cast<hms::Opcode>(m.opcode), m.id, m.payload_size);
    FUZZ_CHECK(n == hms::message_head_size(m.id.size()));
    FUZZ_CHECK(n + m.payload_size == r.size);
    FUZZ_CHECK(std::memcmp(g_head, data, n) == 0);
    if (m.has_origin && f.header.type == hms::FrameType::message && f.header.request_id == 0) {
      const std::size_t e = hms::encode_event_head(g_head, static_cast<hms::Opcode>(m.opcode),
                                                   m.service, m.origin, m.payload_size);
      FUZZ_CHECK(e == n && std::memcmp(g_head, data, e) == 0);
    }
  }

  // The same frame cut short is need_more for exactly its size, and with
  // less than a header for a header (cheap spot checks, not every length).
  const hms::DecodeResult cut = hms::decode_frame(data, r.size - 1, limits);
  FUZZ_CHECK(cut.status == hms::DecodeStatus::need_more);
  FUZZ_CHECK(cut.size == (r.size - 1 < hms::kHeaderSize ? hms::kHeaderSize : r.size));
  const hms::DecodeResult tiny = hms::decode_frame(data, 4, limits);  // r.size >= 7
  FUZZ_CHECK(tiny.status == hms::DecodeStatus::need_more && tiny.size == hms::kHeaderSize);
}

void check_need_more(const hms::DecodeResult& r, const std::uint8_t* data, std::size_t len) {
  FUZZ_CHECK(r.error == hms::DecodeError::none);
  FUZZ_CHECK(r.size > len);
  if (len < hms::kHeaderSize) {
    FUZZ_CHECK(r.size == hms::kHeaderSize);
  } else {
    FUZZ_CHECK(r.size == hms::kHeaderSize + std::size_t{hms::load_u32(data + 3)});
  }
}

void check_error(const hms::DecodeResult& r, const std::uint8_t* data, std::size_t len,
                 const hms::DecodeLimits& limits) {
  FUZZ_CHECK(r.size == 0);
  // The bytes that show the error: up to and including the offending field.
  std::size_t seen = 0;
  switch (r.error) {
    case hms::DecodeError::bad_frame_type:
      FUZZ_CHECK(r.error_offset == 0 && data[0] > hms::kMaxFrameType);
      seen = 1;
      break;
    case hms::DecodeError::body_too_long:
      FUZZ_CHECK(r.error_offset == 3 && hms::load_u32(data + 3) > limits.max_body);
      seen = hms::kHeaderSize;
      break;
    case hms::DecodeError::message_too_short:
      FUZZ_CHECK(r.error_offset == 3 && data[0] <= 1);
      FUZZ_CHECK(hms::load_u32(data + 3) < hms::kMessagePrefix);
      seen = hms::kHeaderSize;
      break;
    case hms::DecodeError::id_overflow:
      FUZZ_CHECK(r.error_offset == hms::kHeaderSize + 1 && data[0] <= 1);
      seen = hms::kHeaderSize + hms::kMessagePrefix;
      break;
    default:
      __builtin_trap();  // none, or a value outside the enum
  }
  FUZZ_CHECK(seen <= len);
  FUZZ_CHECK(std::strcmp(hms::to_string(r.error), "unknown") != 0);
  // Reject early: the error shows with only those bytes, and not before the
  // last of them arrives.
  const hms::DecodeResult early = hms::decode_frame(data, seen, limits);
  FUZZ_CHECK(early.status == hms::DecodeStatus::error && early.error == r.error &&
             early.error_offset == r.error_offset);
  const hms::DecodeResult before = hms::decode_frame(data, seen - 1, limits);
  FUZZ_CHECK(before.status == hms::DecodeStatus::need_more);
}

// Decodes [data, data+size) as a stream: frames until need_more or an error.
void run(const std::uint8_t* data, std::size_t size, const hms::DecodeLimits& limits) {
  std::size_t off = 0;
  for (;;) {
    const std::uint8_t* p = data + off;
    const std::size_t left = size - off;
    const hms::DecodeResult r = hms::decode_frame(p, left, limits);
    switch (r.status) {
      case hms::DecodeStatus::frame:
        check_frame(r, p, left, limits);
        off += r.size;
        FUZZ_CHECK(off <= size);
        continue;
      case hms::DecodeStatus::need_more:
        check_need_more(r, p, left);
        return;
      case hms::DecodeStatus::error:
        check_error(r, p, left, limits);
        return;
    }
    __builtin_trap();  // status outside the enum
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run(data, size, hms::DecodeLimits{});
  // Small limits: lengths the fuzzer can actually fill, and the boundary
  // between them (0 lets only empty replies/pings through).
  run(data, size, hms::DecodeLimits{64});
  run(data, size, hms::DecodeLimits{3});
  run(data, size, hms::DecodeLimits{0});
  return 0;
}
