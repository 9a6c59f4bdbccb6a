// Error paths of the frame decoder, each paired with the nearest valid input
// (simdjson pairs its _tests with _error_tests). What is pinned down here:
//   - every DecodeError kind, with its name and the offset of the bad field;
//   - errors are reported as soon as the offending bytes are in (reject
//     early), never only once the body has arrived;
//   - need_more and error are never confused: a valid frame cut short is
//     need_more at every length, an invalid one is an error from the moment
//     it can be seen and at every length after;
//   - the encoders refuse (return 0, write nothing) an id or body that the
//     u16/u32 length fields cannot hold, instead of letting them wrap.
// Inputs live on guard pages (hms::test::Guarded): an over-read crashes.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "hms/frame.hpp"
#include "support/guarded.hpp"

namespace {

using hms::DecodeError;
using hms::DecodeLimits;
using hms::DecodeStatus;
using hms::FrameType;

std::string header(std::uint8_t type, std::uint16_t rid, std::uint32_t length) {
  std::string h(hms::kHeaderSize, '\0');
  auto* p = reinterpret_cast<std::uint8_t*>(h.data());
  p[0] = type;  // raw byte: encode_header only takes valid FrameTypes
  hms::store_u16(p + 1, rid);
  hms::store_u32(p + 3, length);
  return h;
}

// A type 0/1 body prefix: opcode and a raw id length (which may lie).
std::string message_prefix(std::uint8_t opcode, std::uint16_t idlen) {
  std::string m(hms::kMessagePrefix, '\0');
  auto* p = reinterpret_cast<std::uint8_t*>(m.data());
  p[0] = opcode;
  hms::store_u16(p + 1, idlen);
  return m;
}

hms::DecodeResult decode(std::string_view bytes, const DecodeLimits& limits = {}) {
  const hms::test::Guarded in(bytes);
  // The result's views would dangle once `in` is gone; callers here only
  // look at status, size and error, never at the views.
  return hms::decode_frame(in.data(), in.size(), limits);
}

::testing::AssertionResult is_error(const hms::DecodeResult& r, DecodeError e, std::size_t offset) {
  if (r.status != DecodeStatus::error)
    return ::testing::AssertionFailure() << "status " << int(r.status) << " size " << r.size;
  if (r.error != e || r.error_offset != offset)
    return ::testing::AssertionFailure() << hms::to_string(r.error) << " at " << r.error_offset
                                         << ", want " << hms::to_string(e) << " at " << offset;
  if (r.size != 0) return ::testing::AssertionFailure() << "error with size " << r.size;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult is_need_more(const hms::DecodeResult& r, std::size_t size) {
  if (r.status != DecodeStatus::need_more)
    return ::testing::AssertionFailure() << "status " << int(r.status) << " error "
                                         << hms::to_string(r.error);
  if (r.error != DecodeError::none) return ::testing::AssertionFailure() << "need_more with an error set";
  if (r.size != size) return ::testing::AssertionFailure() << "size " << r.size << " want " << size;
  return ::testing::AssertionSuccess();
}

// Feeds every prefix of `bytes`: need_more (with its size) below `first`
// bytes, and from `first` bytes on the same error at the same place.
void expect_error_from(std::string_view bytes, std::size_t first, DecodeError e, std::size_t offset,
                       const DecodeLimits& limits = {}) {
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    const auto r = decode(bytes.substr(0, n), limits);
    if (n < first) {
      EXPECT_EQ(r.status, DecodeStatus::need_more) << n << " of " << bytes.size() << " bytes";
      EXPECT_GT(r.size, n);
    } else {
      EXPECT_TRUE(is_error(r, e, offset)) << n << " of " << bytes.size() << " bytes";
    }
  }
}

// Feeds every proper prefix of a valid frame: need_more each time, with the
// header size until the header is in and the frame size after; then the
// whole frame decodes.
void expect_valid(std::string_view frame, const DecodeLimits& limits = {}) {
  for (std::size_t n = 0; n < frame.size(); ++n) {
    const std::size_t want = n < hms::kHeaderSize ? hms::kHeaderSize : frame.size();
    EXPECT_TRUE(is_need_more(decode(frame.substr(0, n), limits), want))
        << n << " of " << frame.size() << " bytes";
  }
  const auto r = decode(frame, limits);
  EXPECT_EQ(r.status, DecodeStatus::frame) << hms::to_string(r.error);
  EXPECT_EQ(r.size, frame.size());
}

// ---- Names.

TEST(FrameErrorNames, EveryDecodeErrorHasItsName) {
  EXPECT_STREQ(hms::to_string(DecodeError::none), "none");
  EXPECT_STREQ(hms::to_string(DecodeError::bad_frame_type), "bad_frame_type");
  EXPECT_STREQ(hms::to_string(DecodeError::body_too_long), "body_too_long");
  EXPECT_STREQ(hms::to_string(DecodeError::message_too_short), "message_too_short");
  EXPECT_STREQ(hms::to_string(DecodeError::id_overflow), "id_overflow");
  // A value outside the enum (memory corruption, a newer peer's log) still
  // gets a string, never a null pointer.
  EXPECT_STREQ(hms::to_string(static_cast<DecodeError>(200)), "unknown");
}

TEST(FrameErrorNames, EveryOpcodeHasItsName) {
  const char* const names[] = {"handshake", "add",       "update",      "remove", "list",
                               "ps",        "start",     "stop",        "restart", "sync",
                               "subscribe", "unsubscribe", "stdout",    "stderr", "spawn",
                               "exit",      "get"};
  static_assert(std::size(names) == hms::kOpcodeCount);
  for (std::size_t i = 0; i < hms::kOpcodeCount; ++i)
    EXPECT_STREQ(hms::to_string(static_cast<hms::Opcode>(i)), names[i]) << i;
  for (const int op : {17, 99, 255})
    EXPECT_STREQ(hms::to_string(static_cast<hms::Opcode>(op)), "unknown") << op;
}

// ---- bad_frame_type: byte 0 above 4, seen with the first byte.

TEST(FrameError, BadFrameTypeIsSeenInTheFirstByte) {
  for (int t = 0; t <= 255; ++t) {
    const auto r = decode(std::string(1, static_cast<char>(t)));
    if (t <= hms::kMaxFrameType) {
      EXPECT_TRUE(is_need_more(r, hms::kHeaderSize)) << "type " << t;
    } else {
      EXPECT_TRUE(is_error(r, DecodeError::bad_frame_type, 0)) << "type " << t;
    }
  }
}

TEST(FrameError, BadFrameTypeAtEveryLength) {
  // Type 5 with an otherwise fine empty body; type 4 (ping) is the pair.
  expect_error_from(header(5, 1, 0), 1, DecodeError::bad_frame_type, 0);
  expect_valid(header(4, 1, 0));
  expect_error_from(header(0xff, 0, 3) + message_prefix(12, 0), 1, DecodeError::bad_frame_type, 0);
}

// ---- body_too_long: the length field against the limit, seen with 7 bytes.

TEST(FrameError, BodyTooLongWithTheDefaultLimit) {
  const std::uint32_t max = hms::kDefaultMaxBody;
  // At the limit: fine, the decoder asks for the whole frame.
  EXPECT_TRUE(is_need_more(decode(header(2, 0, max)), hms::kHeaderSize + max));
  EXPECT_TRUE(is_need_more(decode(header(0, 0, max) + message_prefix(12, 10)), hms::kHeaderSize + max));
  // One above, and the largest u32: rejected on the header alone, without
  // waiting for (or buffering) any of the announced body.
  expect_error_from(header(2, 0, max + 1), hms::kHeaderSize, DecodeError::body_too_long, 3);
  expect_error_from(header(0, 0, 0xFFFFFFFFu) + message_prefix(12, 0), hms::kHeaderSize,
                    DecodeError::body_too_long, 3);
  for (std::uint8_t t = 0; t <= hms::kMaxFrameType; ++t)
    EXPECT_TRUE(is_error(decode(header(t, 7, max + 1)), DecodeError::body_too_long, 3)) << int(t);
}

TEST(FrameError, BodyTooLongWithACustomLimit) {
  const DecodeLimits limits{16};
  // 16 bytes of body: fine.
  expect_valid(header(3, 9, 16) + std::string(16, 'e'), limits);
  expect_valid(header(1, 9, 16) + message_prefix(6, 3) + "web" + std::string(10, 'p'), limits);
  // 17: rejected with 7 bytes in, and still rejected once the body is in.
  expect_error_from(header(3, 9, 17) + std::string(17, 'e'), hms::kHeaderSize,
                    DecodeError::body_too_long, 3, limits);
  expect_error_from(header(1, 9, 17) + message_prefix(6, 3) + "web" + std::string(11, 'p'),
                    hms::kHeaderSize, DecodeError::body_too_long, 3, limits);
}

TEST(FrameError, LimitAboveTheDefaultAllowsLargerBodies) {
  // A raised limit lets a 4 GiB - 1 body through (need_more, with the full
  // size computed without u32 overflow).
  const DecodeLimits limits{0xFFFFFFFFu};
  EXPECT_TRUE(is_need_more(decode(header(2, 0, 0xFFFFFFFFu), limits),
                           hms::kHeaderSize + std::size_t{0xFFFFFFFFu}));
}

TEST(FrameError, ZeroLimitAllowsOnlyEmptyBodies) {
  const DecodeLimits limits{0};
  expect_valid(header(4, 1, 0), limits);
  expect_valid(header(2, 1, 0), limits);
  expect_error_from(header(2, 1, 1) + "x", hms::kHeaderSize, DecodeError::body_too_long, 3, limits);
  // An empty message body is too short, but the limit is checked first.
  expect_error_from(header(0, 0, 0), hms::kHeaderSize, DecodeError::message_too_short, 3, limits);
  expect_error_from(header(0, 0, 3) + message_prefix(12, 0), hms::kHeaderSize,
                    DecodeError::body_too_long, 3, limits);
}

// ---- message_too_short: a type 0/1 body must hold opcode + id length.

TEST(FrameError, MessageTooShortIsSeenInTheHeader) {
  for (const std::uint8_t type : {0, 1}) {
    for (std::uint32_t len = 0; len < hms::kMessagePrefix; ++len) {
      expect_error_from(header(type, 0, len) + std::string(len, '\x0c'), hms::kHeaderSize,
                        DecodeError::message_too_short, 3);
    }
    // Three bytes is the smallest message: opcode, id length 0, no payload.
    expect_valid(header(type, 0, 3) + message_prefix(4, 0));
  }
  // Replies, errors and pings have no message inside: short bodies are fine.
  for (const std::uint8_t type : {2, 3, 4}) {
    for (std::uint32_t len = 0; len < hms::kMessagePrefix; ++len)
      expect_valid(header(type, 5, len) + std::string(len, 'r'));
  }
}

// ---- id_overflow: the id length must fit in the body, seen with 10 bytes.

TEST(FrameError, IdOverflowIsSeenBeforeTheBody) {
  // Body of 13 = 3 + 10: id lengths up to 10 fit.
  const std::string body_rest(10, 'i');
  expect_valid(header(0, 0, 13) + message_prefix(12, 10) + body_rest);
  expect_valid(header(0, 0, 13) + message_prefix(12, 0) + body_rest);
  // 11 does not: an error as soon as the id length is in (10 bytes), while
  // the 10 bytes of body after it are still missing.
  expect_error_from(header(0, 0, 13) + message_prefix(12, 11) + body_rest,
                    hms::kHeaderSize + hms::kMessagePrefix, DecodeError::id_overflow, 8);
  expect_error_from(header(1, 4, 13) + message_prefix(6, 0xFFFF) + body_rest,
                    hms::kHeaderSize + hms::kMessagePrefix, DecodeError::id_overflow, 8);
  // Smallest body, any nonzero id length overflows it.
  expect_error_from(header(1, 0, 3) + message_prefix(6, 1), hms::kHeaderSize + hms::kMessagePrefix,
                    DecodeError::id_overflow, 8);
  // A large announced body (well within the limit) with an id length that
  // still overflows it: found from the first 10 bytes, nothing buffered.
  const std::uint32_t big = 40000;
  EXPECT_TRUE(is_error(decode(header(0, 0, big) + message_prefix(12, 0xFFFF)),
                       DecodeError::id_overflow, 8));
  EXPECT_TRUE(is_need_more(decode(header(0, 0, big) + message_prefix(12, big - 3)),
                           hms::kHeaderSize + big));
  EXPECT_TRUE(is_error(decode(header(0, 0, big) + message_prefix(12, big - 2)),
                       DecodeError::id_overflow, 8));
}

TEST(FrameError, NonMessagesHaveNoIdToOverflow) {
  // The same bytes as an id_overflow message, but in a reply body: opaque.
  expect_valid(header(2, 4, 3) + message_prefix(6, 0xFFFF));
  expect_valid(header(3, 4, 3) + message_prefix(6, 0xFFFF));
}

// ---- Offsets count from the start of the input given to decode_frame.

TEST(FrameError, ErrorInALaterFrameIsRelativeToThatFrame) {
  const std::string good = header(4, 1, 0);
  const std::string bad = header(0, 0, 3) + message_prefix(12, 9);
  const hms::test::Guarded in(good + bad);
  const auto first = hms::decode_frame(in.data(), in.size());
  ASSERT_EQ(first.status, DecodeStatus::frame);
  ASSERT_EQ(first.size, good.size());
  const auto second = hms::decode_frame(in.data() + first.size, in.size() - first.size);
  EXPECT_TRUE(is_error(second, DecodeError::id_overflow, 8));
}

TEST(FrameError, TheFirstBadFieldIsReported) {
  // Bad type and a too-long length: the type comes first.
  EXPECT_TRUE(is_error(decode(header(9, 0, 0xFFFFFFFFu)), DecodeError::bad_frame_type, 0));
  // Too long and an overflowing id: the length comes first.
  EXPECT_TRUE(is_error(decode(header(0, 0, 17) + message_prefix(12, 0xFFFF), DecodeLimits{16}),
                       DecodeError::body_too_long, 3));
}

// ---- need_more is never an error.

TEST(FrameNeedMore, TruncatedValidFramesAreNeedMoreAtEveryLength) {
  const std::string frames[] = {
      header(4, 1, 0),                                          // ping
      header(2, 1, 2) + "[]",                                   // reply
      header(3, 2, 17) + "Service not found",                  // error reply
      header(0, 0, 3) + message_prefix(4, 0),                   // list-like, no id
      header(0, 0, 26) + message_prefix(12, 10) + "web@dock-1" + "hello stdout\n",
      header(1, 65535, 3 + 300 + 5000) + message_prefix(1, 300) + std::string(300, 'a') +
          std::string(5000, '{'),
  };
  for (const auto& f : frames) expect_valid(f);
}

TEST(FrameNeedMore, LongestIdIsNeedMoreUntilComplete) {
  // id length 65535 (the u16 maximum), all '@': the split scans the whole id.
  // Every length would take seconds of mmap; the header, the id length and
  // the tail are where the answers change, so those plus a stride.
  const std::string f = header(0, 0, 3 + 65535) + message_prefix(12, 65535) + std::string(65535, '@');
  for (std::size_t n = 0; n < f.size(); n += (n < 32 || n + 32 > f.size()) ? 1 : 997) {
    const std::size_t want = n < hms::kHeaderSize ? hms::kHeaderSize : f.size();
    EXPECT_TRUE(is_need_more(decode(std::string_view(f).substr(0, n)), want)) << n;
  }
  const hms::test::Guarded in(f);
  const auto r = hms::decode_frame(in.data(), in.size());
  ASSERT_EQ(r.status, DecodeStatus::frame);
  EXPECT_EQ(r.frame.message.service, "");
  EXPECT_EQ(r.frame.message.origin.size(), 65534u);
  EXPECT_EQ(r.frame.message.payload_size, 0u);
}

TEST(FrameNeedMore, EmptyInputAsksForAHeader) {
  const hms::test::Guarded in(std::string_view{});
  // With zero bytes the decoder must not even look at data[0].
  EXPECT_TRUE(is_need_more(hms::decode_frame(in.data(), 0), hms::kHeaderSize));
  EXPECT_TRUE(is_need_more(hms::decode_frame(nullptr, 0), hms::kHeaderSize));
}

TEST(FrameNeedMore, FrameFollowedByAPartialOneIsAFrame) {
  // The decoder takes the first frame and leaves the partial second for the
  // next read: a bad-looking prefix of the second is not the first's problem.
  const std::string bytes = header(2, 1, 0) + header(0, 0, 26).substr(0, 5);
  const auto r = decode(bytes);
  EXPECT_EQ(r.status, DecodeStatus::frame);
  EXPECT_EQ(r.size, hms::kHeaderSize);
  EXPECT_EQ(r.frame.header.type, FrameType::reply);
}

// ---- check_prefix on its own: the engine may call it on partial input.

TEST(FrameCheckPrefix, ReportsNothingWrongForValidPrefixes) {
  const std::string frame = header(0, 0, 26) + message_prefix(12, 10) + "web@dock-1" + "hello stdout\n";
  const hms::test::Guarded in(frame);
  for (std::size_t n = 0; n <= frame.size(); ++n) {
    std::size_t off = 12345;
    EXPECT_EQ(hms::check_prefix(in.data(), n, {}, &off),
              DecodeError::none)
        << n;
    EXPECT_EQ(off, 12345u) << "offset written without an error";
  }
}

TEST(FrameCheckPrefix, ReportsEachErrorWithItsOffset) {
  std::size_t off = 0;
  const hms::test::Guarded bad_type(header(7, 0, 0).substr(0, 1));
  EXPECT_EQ(hms::check_prefix(bad_type.data(), bad_type.size(), {}, &off), DecodeError::bad_frame_type);
  EXPECT_EQ(off, 0u);
  const hms::test::Guarded too_long(header(2, 0, 100));
  EXPECT_EQ(hms::check_prefix(too_long.data(), too_long.size(), DecodeLimits{99}, &off),
            DecodeError::body_too_long);
  EXPECT_EQ(off, 3u);
  const hms::test::Guarded too_short(header(1, 0, 2));
  EXPECT_EQ(hms::check_prefix(too_short.data(), too_short.size(), {}, &off),
            DecodeError::message_too_short);
  EXPECT_EQ(off, 3u);
  const hms::test::Guarded overflow(header(1, 0, 5) + message_prefix(6, 3));
  EXPECT_EQ(hms::check_prefix(overflow.data(), overflow.size(), {}, &off), DecodeError::id_overflow);
  EXPECT_EQ(off, 8u);
}

// ---- Encoders refuse what the wire cannot express: an id length above u16
// or a body length above u32 would wrap. Only sizes are passed, so a payload
// "just over u32" needs no 4 GiB buffer; the head buffer is the only memory.

constexpr std::size_t kU32 = 0xFFFFFFFFu;

TEST(FrameEncodeError, MessageFitsAtEveryEdge) {
  using hms::message_fits;
  const std::uint32_t max = hms::kDefaultMaxBody;
  // The id length: u16.
  EXPECT_TRUE(message_fits(0xFFFF, 0));
  EXPECT_FALSE(message_fits(0x10000, 0));
  // The body (opcode + id length + id + payload) against the limit.
  EXPECT_TRUE(message_fits(10, max - 13));
  EXPECT_FALSE(message_fits(10, max - 12));
  EXPECT_TRUE(message_fits(0xFFFF, max - 3 - 0xFFFF));
  EXPECT_FALSE(message_fits(0xFFFF, max - 2 - 0xFFFF));
  // The wire's own limit: a body of exactly u32 max fits, one more does not.
  EXPECT_TRUE(message_fits(10, kU32 - 13, hms::kMaxWireBody));
  EXPECT_FALSE(message_fits(10, kU32 - 12, hms::kMaxWireBody));
  // No overflow in the check itself, whatever the sizes.
  constexpr std::size_t kHuge = static_cast<std::size_t>(-1);
  EXPECT_FALSE(message_fits(10, kHuge, hms::kMaxWireBody));
  EXPECT_FALSE(message_fits(kHuge, 0, hms::kMaxWireBody));
  EXPECT_FALSE(message_fits(kHuge, kHuge, hms::kMaxWireBody));
  // A limit smaller than the message prefix fits nothing.
  EXPECT_FALSE(message_fits(0, 0, 2));
  EXPECT_TRUE(message_fits(0, 0, 3));
  static_assert(hms::message_fits(3, 4) && !hms::message_fits(0x10000, 0),
                "usable at compile time");
}

TEST(FrameEncodeError, EventFitsCountsTheAt) {
  using hms::event_fits;
  // service + '@' + origin is the id: 65534 + 1 + 0 fits, 65535 + 1 + 0 not.
  EXPECT_TRUE(event_fits(0xFFFE, 0, 0));
  EXPECT_FALSE(event_fits(0xFFFF, 0, 0));
  EXPECT_TRUE(event_fits(100, 0xFFFE - 100, 0));
  EXPECT_FALSE(event_fits(100, 0xFFFF - 100, 0));
  EXPECT_TRUE(event_fits(3, 6, kU32 - 13, hms::kMaxWireBody));
  EXPECT_FALSE(event_fits(3, 6, kU32 - 12, hms::kMaxWireBody));
  EXPECT_FALSE(event_fits(3, 6, hms::kDefaultMaxBody - 12));
  constexpr std::size_t kHuge = static_cast<std::size_t>(-1);
  EXPECT_FALSE(event_fits(kHuge, 0, 0));
  EXPECT_FALSE(event_fits(0, kHuge, 0));
  EXPECT_FALSE(event_fits(kHuge, kHuge, kHuge));
}

// The head buffer, pre-filled so that "wrote nothing" can be checked.
std::string sentinel_head(std::size_t id_len) {
  return std::string(hms::message_head_size(id_len), '\xAA');
}
bool untouched(const std::string& head) {
  return head.find_first_not_of('\xAA') == std::string::npos;
}

TEST(FrameEncodeError, MessageHeadRefusesAnIdOf65536Bytes) {
  const std::string id(0x10000, 'i');
  std::string head = sentinel_head(id.size());
  auto* out = reinterpret_cast<std::uint8_t*>(head.data());
  EXPECT_EQ(hms::encode_message_head(out, FrameType::request, 1, hms::Opcode::start, id, 0), 0u);
  EXPECT_TRUE(untouched(head));
  // One byte less is the longest id there is, and it goes out.
  const std::string_view longest(id.data(), 0xFFFF);
  EXPECT_EQ(hms::encode_message_head(out, FrameType::request, 1, hms::Opcode::start, longest, 0),
            hms::message_head_size(0xFFFF));
  EXPECT_EQ(hms::load_u16(out + hms::kHeaderSize + 1), 0xFFFFu);
  EXPECT_EQ(hms::load_u32(out + 3), 3u + 0xFFFF);
}

TEST(FrameEncodeError, MessageHeadRefusesABodyJustOverU32) {
  const std::string_view id = "web";
  std::string head = sentinel_head(id.size());
  auto* out = reinterpret_cast<std::uint8_t*>(head.data());
  // Body = 3 + 3 + payload: the largest payload the u32 holds, then one more.
  const std::size_t largest = kU32 - 6;
  const auto stdout_ = hms::Opcode::stdout_;
  EXPECT_EQ(hms::encode_message_head(out, FrameType::message, 0, stdout_, id, largest + 1), 0u);
  EXPECT_TRUE(untouched(head));
  if constexpr (sizeof(std::size_t) > 4) {
    // A payload of exactly 2^32 bytes, which a cast would have made 6.
    const std::size_t two_to_32 = kU32 + 1;
    EXPECT_EQ(hms::encode_message_head(out, FrameType::message, 0, stdout_, id, two_to_32), 0u);
    EXPECT_TRUE(untouched(head));
  }
  EXPECT_EQ(hms::encode_message_head(out, FrameType::message, 0, stdout_, id, largest),
            head.size());
  EXPECT_EQ(hms::load_u32(out + 3), 0xFFFFFFFFu);
}

TEST(FrameEncodeError, EventHeadRefusesWhatWouldWrap) {
  const std::string service(0xFFFF, 's');
  std::string head = sentinel_head(service.size() + 1);
  auto* out = reinterpret_cast<std::uint8_t*>(head.data());
  // service@ is 65536 bytes: one too many for the u16 id length.
  EXPECT_EQ(hms::encode_event_head(out, hms::Opcode::stdout_, service, "", 0), 0u);
  EXPECT_TRUE(untouched(head));
  // A body just over u32.
  EXPECT_EQ(hms::encode_event_head(out, hms::Opcode::stdout_, "web", "dock-1", kU32 - 12), 0u);
  EXPECT_TRUE(untouched(head));
  // The largest of each goes out.
  const std::string_view longest(service.data(), 0xFFFE);
  EXPECT_EQ(hms::encode_event_head(out, hms::Opcode::stdout_, longest, "", 0),
            hms::message_head_size(0xFFFF));
  EXPECT_EQ(hms::load_u16(out + hms::kHeaderSize + 1), 0xFFFFu);
  EXPECT_EQ(hms::encode_event_head(out, hms::Opcode::stdout_, "web", "dock-1", kU32 - 13),
            hms::message_head_size(10));
  EXPECT_EQ(hms::load_u32(out + 3), 0xFFFFFFFFu);
}

}  // namespace
