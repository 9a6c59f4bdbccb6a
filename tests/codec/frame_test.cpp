// Golden vectors for the frame codec: the exact bytes the Node reference
// (hms-protocol 1.2.3 on cable 1.3.0) wrote, from tests/data. Every case is
//   - decoded whole, frame by frame, and compared field by field;
//   - decoded split at every byte offset, the way the engine meets it (bytes
//     arrive in two reads; unconsumed bytes are kept and decoded again);
//   - re-encoded with the encoders and compared byte for byte.
// Every decoder input is a hms::test::Guarded copy, so the byte after the
// input is unmapped and an over-read crashes instead of passing.
#include <gtest/gtest.h>

#include <algorithm>
#include <simdjson.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hms/frame.hpp"
#include "support/guarded.hpp"

namespace {

using hms::DecodeStatus;
using hms::FrameType;
using hms::Opcode;

// ---- The vector file, loaded once into plain structs.

struct ExpectedFrame {
  std::uint8_t type = 0;
  std::uint16_t request_id = 0;
  std::uint32_t length = 0;
  bool is_message = false;  // recorded with opcode/id/payloadHex (types 0, 1)
  std::uint8_t opcode = 0;
  std::string id;
  std::string payload;  // payloadHex for messages, bodyHex otherwise
};

struct VectorCase {
  std::string name;
  std::string bytes;  // the whole recorded byte string
  std::vector<ExpectedFrame> frames;
};

struct VectorFile {
  std::vector<VectorCase> cases;
  std::vector<std::pair<std::string, std::uint64_t>> opcodes;
  std::string error;  // why loading failed; empty when it worked
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unhex(std::string_view hex, std::string* out) {
  if (hex.size() % 2) return false;
  out->clear();
  out->reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_digit(hex[i]);
    const int lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

std::string load_frame(simdjson::dom::object f, ExpectedFrame* out) {
  std::uint64_t type = 0, rid = 0, length = 0;
  if (f["type"].get(type) || f["requestId"].get(rid) || f["length"].get(length))
    return "frame without type/requestId/length";
  if (type > 255 || rid > 0xFFFF || length > 0xFFFFFFFF) return "frame field out of range";
  out->type = static_cast<std::uint8_t>(type);
  out->request_id = static_cast<std::uint16_t>(rid);
  out->length = static_cast<std::uint32_t>(length);
  std::string_view payload_hex;
  std::uint64_t opcode = 0;
  if (f["opcode"].get(opcode) == simdjson::SUCCESS) {
    std::string_view id;
    if (opcode > 255 || f["id"].get(id) || f["payloadHex"].get(payload_hex))
      return "message frame without a valid opcode/id/payloadHex";
    out->is_message = true;
    out->opcode = static_cast<std::uint8_t>(opcode);
    out->id = std::string(id);
  } else if (f["bodyHex"].get(payload_hex)) {
    return "frame with neither opcode nor bodyHex";
  }
  if (!unhex(payload_hex, &out->payload)) return "bad payloadHex/bodyHex";
  return {};
}

VectorFile load_vectors() {
  VectorFile v;
  const std::string path = std::string(HMS_TEST_DATA) + "/hms-protocol-1.2.3.json";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (const auto e = parser.load(path).get(doc)) {
    v.error = path + ": " + simdjson::error_message(e);
    return v;
  }
  simdjson::dom::object opcodes;
  simdjson::dom::array cases;
  if (doc["opcodes"].get(opcodes) || doc["cases"].get(cases)) {
    v.error = path + ": no opcodes object or cases array";
    return v;
  }
  for (const auto field : opcodes) {
    std::uint64_t n = 0;
    if (field.value.get(n)) {
      v.error = "opcode value is not a number";
      return v;
    }
    v.opcodes.emplace_back(std::string(field.key), n);
  }
  for (const auto c : cases) {
    VectorCase vc;
    std::string_view name, bytes_hex;
    simdjson::dom::array frames;
    if (c["name"].get(name) || c["hex"].get(bytes_hex) || c["frames"].get(frames)) {
      v.error = "case without name/hex/frames";
      return v;
    }
    vc.name = std::string(name);
    if (!unhex(bytes_hex, &vc.bytes)) {
      v.error = vc.name + ": bad hex";
      return v;
    }
    for (const auto f : frames) {
      simdjson::dom::object fo;
      ExpectedFrame ef;
      std::string why = f.get(fo) ? "frame is not an object" : load_frame(fo, &ef);
      if (!why.empty()) {
        v.error = vc.name + ": " + why;
        return v;
      }
      vc.frames.push_back(std::move(ef));
    }
    v.cases.push_back(std::move(vc));
  }
  return v;
}

const VectorFile& vectors() {
  static const VectorFile v = load_vectors();
  return v;
}

const VectorCase* find_case(std::string_view name) {
  for (const auto& c : vectors().cases) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// ---- Checks shared by the tests.

std::string_view sv(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

bool inside(const void* p, std::size_t n, const std::uint8_t* begin, const std::uint8_t* end) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  return b >= begin && b <= end && n <= static_cast<std::size_t>(end - b);
}

// The service/origin split the reference does (hms-protocol index.js:
// indexOf('@'), origin 'unknown' without one), computed independently.
struct Split {
  std::string_view service, origin;
  bool has_origin;
};
Split split_id(std::string_view id) {
  const auto at = id.find('@');
  if (at == std::string_view::npos) return {id, "unknown", false};
  return {id.substr(0, at), id.substr(at + 1), true};
}

// Compares one decoded frame with the recorded one. `start` is where the
// frame begins in the decoder's input; every view must lie inside the frame.
::testing::AssertionResult matches(const hms::DecodeResult& r, const std::uint8_t* start,
                                   const ExpectedFrame& want) {
  auto fail = [] { return ::testing::AssertionFailure(); };
  if (r.status != DecodeStatus::frame) return fail() << "status " << int(r.status);
  const auto& f = r.frame;
  const std::uint8_t* end = start + r.size;
  if (r.size != hms::kHeaderSize + want.length) return fail() << "size " << r.size;
  if (static_cast<std::uint8_t>(f.header.type) != want.type)
    return fail() << "type " << int(f.header.type) << " want " << int(want.type);
  if (f.header.request_id != want.request_id)
    return fail() << "request id " << f.header.request_id << " want " << want.request_id;
  if (f.header.length != want.length)
    return fail() << "length " << f.header.length << " want " << want.length;
  if (f.body != start + hms::kHeaderSize) return fail() << "body does not follow the header";
  if (f.is_message() != want.is_message) return fail() << "is_message " << f.is_message();
  if (!want.is_message) {
    if (f.body_text() != want.payload)
      return fail() << "body " << hex(f.body_text()) << " want " << hex(want.payload);
    if (f.message.payload != nullptr || !f.message.id.empty())
      return fail() << "message view filled for a non-message frame";
    return ::testing::AssertionSuccess();
  }
  const auto& m = f.message;
  if (m.opcode != want.opcode) return fail() << "opcode " << int(m.opcode) << " want " << int(want.opcode);
  if (m.id != want.id) return fail() << "id '" << m.id << "' want '" << want.id << "'";
  if (!inside(m.id.data(), m.id.size(), f.body, end)) return fail() << "id outside the body";
  if (m.id.data() != reinterpret_cast<const char*>(f.body) + hms::kMessagePrefix)
    return fail() << "id does not follow opcode + id length";
  const Split s = split_id(want.id);
  if (m.service != s.service || m.origin != s.origin || m.has_origin != s.has_origin)
    return fail() << "split '" << m.service << "' '" << m.origin << "' " << m.has_origin
                  << " want '" << s.service << "' '" << s.origin << "'";
  if (m.service.data() != m.id.data()) return fail() << "service is not a prefix view of id";
  if (m.has_origin && !inside(m.origin.data(), m.origin.size(), f.body, end))
    return fail() << "origin outside the body";
  if (m.payload_text() != want.payload)
    return fail() << "payload " << hex(m.payload_text()) << " want " << hex(want.payload);
  if (m.payload != f.body + hms::kMessagePrefix + m.id.size() || m.payload + m.payload_size != end)
    return fail() << "payload is not the rest of the body";
  return ::testing::AssertionSuccess();
}

// What need_more must say for `pending` bytes whose next frame is `next`
// (nullptr when every expected frame is decoded): the header size until the
// header is in, then the whole frame's size; always more than is there.
::testing::AssertionResult needs(const hms::DecodeResult& r, std::size_t pending,
                                 const ExpectedFrame* next) {
  if (r.status != DecodeStatus::need_more)
    return ::testing::AssertionFailure() << "status " << int(r.status) << " error "
                                         << hms::to_string(r.error) << " with " << pending << " bytes";
  std::size_t want = hms::kHeaderSize;
  if (pending >= hms::kHeaderSize && next) want += next->length;
  if (r.size != want || r.size <= pending)
    return ::testing::AssertionFailure() << "need_more size " << r.size << " want " << want
                                         << " with " << pending << " bytes";
  return ::testing::AssertionSuccess();
}

// The engine's way with a stream: append what arrives to what is left over,
// decode frames from the front until need_more, keep the tail.
class Feeder {
 public:
  explicit Feeder(const std::vector<ExpectedFrame>& want) : want_(want) {}

  ::testing::AssertionResult feed(std::string_view chunk) {
    pending_.append(chunk);
    const hms::test::Guarded in(pending_);
    std::size_t off = 0;
    for (;;) {
      const std::size_t left = in.size() - off;
      const auto r = hms::decode_frame(in.data() + off, left);
      if (r.status != DecodeStatus::frame) {
        auto ok = needs(r, left, next_ < want_.size() ? &want_[next_] : nullptr);
        if (!ok) return ok << " (frame " << next_ << ")";
        break;
      }
      if (next_ == want_.size()) return ::testing::AssertionFailure() << "a frame too many";
      if (r.size > left) return ::testing::AssertionFailure() << "frame larger than the input";
      auto ok = matches(r, in.data() + off, want_[next_]);
      if (!ok) return ok << " (frame " << next_ << ")";
      ++next_;
      off += r.size;
    }
    pending_.erase(0, off);
    return ::testing::AssertionSuccess();
  }

  std::size_t decoded() const { return next_; }
  std::size_t pending() const { return pending_.size(); }

 private:
  const std::vector<ExpectedFrame>& want_;
  std::string pending_;
  std::size_t next_ = 0;
};

// Re-encodes a recorded frame with the public encoders.
std::string encode(const ExpectedFrame& f) {
  std::string out;
  if (f.is_message) {
    out.resize(hms::message_head_size(f.id.size()));
    const std::size_t n = hms::encode_message_head(
        reinterpret_cast<std::uint8_t*>(out.data()), static_cast<FrameType>(f.type), f.request_id,
        static_cast<Opcode>(f.opcode), f.id, f.payload.size());
    EXPECT_EQ(n, out.size());
  } else {
    out.resize(hms::kHeaderSize);
    hms::encode_header(reinterpret_cast<std::uint8_t*>(out.data()), static_cast<FrameType>(f.type),
                       f.request_id, f.length);
  }
  return out + f.payload;
}

std::string event(Opcode op, std::string_view service, std::string_view origin,
                  std::string_view payload) {
  std::string out(hms::message_head_size(service.size() + 1 + origin.size()), '\0');
  const std::size_t n = hms::encode_event_head(reinterpret_cast<std::uint8_t*>(out.data()), op,
                                               service, origin, payload.size());
  EXPECT_EQ(n, out.size());
  return out.append(payload);
}

// ---- The file itself.

TEST(FrameVectors, FileLoadsWithEveryCase) {
  const auto& v = vectors();
  ASSERT_EQ(v.error, "");
  // 37 cases were recorded; fewer means the file was cut, and the
  // parameterised tests below would silently shrink with it.
  EXPECT_EQ(v.cases.size(), 37u);
  std::set<std::string> names;
  for (const auto& c : v.cases) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case " << c.name;
    EXPECT_FALSE(c.frames.empty()) << c.name;
    for (const auto& f : c.frames) EXPECT_EQ(f.is_message, f.type <= 1) << c.name;
  }
  for (const char* n : {"ping", "stdout", "stdout-70000", "stdout-no-origin", "start-unicode-id",
                        "request-id-reuse", "reply-start-error"})
    EXPECT_TRUE(names.count(n)) << n;
}

TEST(FrameVectors, OpcodeTableMatchesEnum) {
  const auto& v = vectors();
  ASSERT_EQ(v.opcodes.size(), hms::kOpcodeCount);
  for (const auto& [name, value] : v.opcodes) {
    ASSERT_LT(value, hms::kOpcodeCount) << name;
    EXPECT_EQ(hms::to_string(static_cast<Opcode>(value)), name);
  }
}

// ---- Per case.

class FrameVector : public ::testing::TestWithParam<std::size_t> {
 protected:
  const VectorCase& vc() const { return vectors().cases.at(GetParam()); }
};

TEST_P(FrameVector, DecodesWhole) {
  const auto& c = vc();
  const hms::test::Guarded in(c.bytes);
  std::size_t off = 0;
  for (std::size_t i = 0; i < c.frames.size(); ++i) {
    const auto r = hms::decode_frame(in.data() + off, in.size() - off);
    ASSERT_TRUE(matches(r, in.data() + off, c.frames[i])) << "frame " << i;
    ASSERT_LE(r.size, in.size() - off);
    off += r.size;
  }
  EXPECT_EQ(off, in.size()) << "bytes left over after the recorded frames";
  // Nothing left: the decoder asks for a header and reads nothing.
  EXPECT_TRUE(needs(hms::decode_frame(in.data() + in.size(), 0), 0, nullptr));
}

TEST_P(FrameVector, DecodesSplitAtEveryOffset) {
  const auto& c = vc();
  const std::string_view all = c.bytes;
  for (std::size_t k = 0; k <= all.size(); ++k) {
    Feeder feeder(c.frames);
    ASSERT_TRUE(feeder.feed(all.substr(0, k))) << "first " << k << " bytes";
    ASSERT_TRUE(feeder.feed(all.substr(k))) << "rest after " << k << " bytes";
    ASSERT_EQ(feeder.decoded(), c.frames.size()) << "split at " << k;
    ASSERT_EQ(feeder.pending(), 0u) << "split at " << k;
  }
}

TEST_P(FrameVector, DecodesByteByByte) {
  const auto& c = vc();
  // One byte per read is the worst case for an accumulating engine; at
  // every length the decoder must say need_more (with the right size) or
  // hand back the frame. Quadratic, so past 4096 bytes (the 70000-byte
  // case: its header, id and payload start) the rest comes in one read;
  // the split scan above sees every other prefix.
  const std::size_t bytewise = std::min<std::size_t>(c.bytes.size(), 4096);
  Feeder feeder(c.frames);
  for (std::size_t i = 0; i < bytewise; ++i) {
    ASSERT_TRUE(feeder.feed(std::string_view(c.bytes).substr(i, 1))) << "byte " << i;
  }
  if (bytewise < c.bytes.size()) {
    ASSERT_TRUE(feeder.feed(std::string_view(c.bytes).substr(bytewise))) << "the rest";
  }
  EXPECT_EQ(feeder.decoded(), c.frames.size());
  EXPECT_EQ(feeder.pending(), 0u);
}

TEST_P(FrameVector, ReencodesByteForByte) {
  const auto& c = vc();
  std::string out;
  for (const auto& f : c.frames) {
    const std::string one = encode(f);
    ASSERT_EQ(one.size(), hms::kHeaderSize + f.length);
    out += one;
    // The reference sends stdout/stderr/spawn/exit as one-way messages with
    // id service@origin; encode_event_head must give the same bytes.
    const Split s = split_id(f.id);
    if (f.is_message && f.opcode >= 12 && f.opcode <= 15 && s.has_origin && f.type == 0 &&
        f.request_id == 0) {
      EXPECT_EQ(hex(event(static_cast<Opcode>(f.opcode), s.service, s.origin, f.payload)), hex(one));
    }
  }
  EXPECT_EQ(hex(out), hex(c.bytes));
}

std::string case_name(const ::testing::TestParamInfo<std::size_t>& info) {
  std::string n = vectors().cases.at(info.param).name;
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(Hms123, FrameVector,
                         ::testing::Range<std::size_t>(0, vectors().cases.size()), case_name);

// ---- Encoders against the vectors, from the reference's call arguments
// rather than from the recorded fields.

TEST(FrameEncode, EventHeadMatchesEventVectors) {
  std::string bytes256, bytes70000;
  for (int i = 0; i < 256; ++i) bytes256.push_back(static_cast<char>(i));
  for (int i = 0; i < 70000; ++i) bytes70000.push_back(static_cast<char>((i * 7 + 3) & 255));
  const struct {
    const char* name;
    Opcode op;
    std::string payload;
  } events[] = {
      {"stdout", Opcode::stdout_, "hello stdout\n"},
      {"stderr", Opcode::stderr_, "hello stderr\n"},
      {"stdout-binary", Opcode::stdout_, bytes256},
      {"stdout-empty", Opcode::stdout_, ""},
      {"stdout-70000", Opcode::stdout_, bytes70000},
      // spawn/exit carry JSON.stringify(pid or code).
      {"spawn", Opcode::spawn, "900"},
      {"exit-code", Opcode::exit, "0"},
      {"exit-signal", Opcode::exit, "\"SIGTERM\""},
  };
  for (const auto& e : events) {
    const VectorCase* c = find_case(e.name);
    ASSERT_NE(c, nullptr) << e.name;
    EXPECT_EQ(hex(event(e.op, "web", "dock-1", e.payload)), hex(c->bytes)) << e.name;
  }
}

TEST(FrameEncode, LongStdoutUsesThe32BitLength) {
  const VectorCase* c = find_case("stdout-70000");
  ASSERT_NE(c, nullptr);
  std::uint8_t head[hms::message_head_size(10)];
  ASSERT_EQ(hms::encode_event_head(head, Opcode::stdout_, "web", "dock-1", 70000), sizeof head);
  // 3 + 10 + 70000 = 70013 = 0x0001117d: above 16 bits.
  EXPECT_EQ(hms::load_u32(head + 3), 70013u);
  EXPECT_EQ(sv(head, sizeof head), std::string_view(c->bytes).substr(0, sizeof head));
}

TEST(FrameEncode, UnicodeIdLengthCountsUtf8Bytes) {
  const VectorCase* c = find_case("start-unicode-id");
  ASSERT_NE(c, nullptr);
  const std::string_view id = "w\xc3\xa9" "b-\xe2\x98\x83";  // "wéb-☃": 5 characters, 8 bytes
  std::uint8_t out[hms::message_head_size(8)];
  ASSERT_EQ(hms::encode_message_head(out, FrameType::request, 17, Opcode::start, id, 0), sizeof out);
  EXPECT_EQ(hms::load_u16(out + hms::kHeaderSize + 1), 8u);
  EXPECT_EQ(hex(sv(out, sizeof out)), hex(c->bytes));

  const hms::test::Guarded in(c->bytes);
  const auto r = hms::decode_frame(in.data(), in.size());
  ASSERT_EQ(r.status, DecodeStatus::frame);
  EXPECT_EQ(r.frame.message.id, id);
  EXPECT_EQ(r.frame.message.opcode, static_cast<std::uint8_t>(Opcode::start));
}

// ---- The service/origin split beyond the vectors.

TEST(FrameDecode, SplitsIdAtTheFirstAt) {
  const struct {
    std::string_view id, service, origin;
    bool has_origin;
  } ids[] = {
      {"web@dock-1", "web", "dock-1", true},
      {"web@dock@1", "web", "dock@1", true},  // only the first '@' splits
      {"@dock", "", "dock", true},
      {"web@", "web", "", true},
      {"@", "", "", true},
      {"web", "web", "unknown", false},
      {"", "", "unknown", false},
  };
  for (const auto& t : ids) {
    std::string bytes(hms::message_head_size(t.id.size()), '\0');
    hms::encode_message_head(reinterpret_cast<std::uint8_t*>(bytes.data()), FrameType::message, 0,
                             Opcode::stdout_, t.id, 1);
    bytes += 'x';
    const hms::test::Guarded in(bytes);
    const auto r = hms::decode_frame(in.data(), in.size());
    ASSERT_EQ(r.status, DecodeStatus::frame) << t.id;
    const auto& m = r.frame.message;
    EXPECT_EQ(m.id, t.id);
    EXPECT_EQ(m.service, t.service) << t.id;
    EXPECT_EQ(m.origin, t.origin) << t.id;
    EXPECT_EQ(m.has_origin, t.has_origin) << t.id;
    EXPECT_EQ(m.payload_text(), "x") << t.id;
    if (!t.has_origin) {
      // "unknown" is a static string, not a view into the input: it outlives
      // the receive buffer.
      EXPECT_FALSE(inside(m.origin.data(), m.origin.size(), in.data(), in.data() + in.size()));
    }
  }
}

TEST(FrameDecode, BackToBackFramesOfEveryCase) {
  // All recorded bytes in one stream, as one connection would carry them.
  std::string all;
  std::vector<ExpectedFrame> want;
  for (const auto& c : vectors().cases) {
    all += c.bytes;
    want.insert(want.end(), c.frames.begin(), c.frames.end());
  }
  ASSERT_FALSE(want.empty());
  Feeder feeder(want);
  // Odd-sized reads so frames straddle reads at varying places.
  for (std::size_t off = 0; off < all.size(); off += 977)
    ASSERT_TRUE(feeder.feed(std::string_view(all).substr(off, 977))) << "read at " << off;
  EXPECT_EQ(feeder.decoded(), want.size());
  EXPECT_EQ(feeder.pending(), 0u);
}

}  // namespace
