// hms/frame.hpp: the cable frame and the hms message inside it.
//
// Pure codec: no syscalls, threads, logging or allocation. Decoding hands back
// views (pointer + length) into the caller's bytes.
//
// ### Buffer lifetime
// Every view in a DecodeResult (FrameView::body, MessageView::id/service/
// origin/payload) points into the bytes passed to decode_frame(). They stay
// valid exactly as long as those bytes are neither freed nor overwritten; the
// codec keeps no state and no copy. The engine keeps receive buffers alive
// with a reference count for as long as a view of them is queued anywhere.
//
// Wire format (byte-exact with npm cable 1.3.0 / hms-protocol 1.2.3):
//   header  type u8 | request id u16 LE | body length u32 LE
//   message opcode u8 | id length u16 LE | id utf-8 | payload
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace hms {

inline constexpr std::size_t kHeaderSize = 7;
inline constexpr std::size_t kMessagePrefix = 3;  // opcode + id length
// The reference has no limit at all; a peer could announce 4 GiB and make us
// buffer it. 64 MiB is far above any real log frame or service list.
inline constexpr std::uint32_t kDefaultMaxBody = 64u << 20;

enum class FrameType : std::uint8_t {
  message = 0,  // one-way hms message, request id 0
  request = 1,  // hms message that expects a reply with the same request id
  reply = 2,    // body is the reply value (JSON or empty)
  error = 3,    // body is a utf-8 error message
  ping = 4,     // peer answers at once with an empty reply of the same id
};
inline constexpr std::uint8_t kMaxFrameType = 4;

enum class Opcode : std::uint8_t {
  handshake = 0, add = 1, update = 2, remove = 3, list = 4, ps = 5,
  start = 6, stop = 7, restart = 8, sync = 9, subscribe = 10,
  unsubscribe = 11, stdout_ = 12, stderr_ = 13, spawn = 14, exit = 15,
  get = 16,
};
inline constexpr std::uint8_t kOpcodeCount = 17;

// Name of an opcode ("stdout"), or "unknown" for a value >= kOpcodeCount.
const char* to_string(Opcode op) noexcept;

// Why bytes are not a frame. Each value has a name (to_string) and the
// decoder reports the byte offset, from the start of the input, where the
// offending field begins.
enum class DecodeError : std::uint8_t {
  none = 0,
  bad_frame_type,     // header byte 0 is not 0..4
  body_too_long,      // length field above the configured maximum
  message_too_short,  // type 0/1 body shorter than opcode + id length
  id_overflow,        // id length points past the end of the body
};
const char* to_string(DecodeError e) noexcept;

struct DecodeLimits {
  std::uint32_t max_body = kDefaultMaxBody;
};

struct FrameHeader {
  FrameType type = FrameType::message;
  std::uint16_t request_id = 0;
  std::uint32_t length = 0;  // body bytes after the 7-byte header
};

// The hms message of a type 0/1 frame. `id` is the whole id field; `service`
// and `origin` are it split at the first '@' (the reference splits every
// opcode's id so; with no '@', service == id and origin == "unknown", which is
// a static string, not a view into the input).
struct MessageView {
  std::uint8_t opcode = 0;  // raw: may be >= kOpcodeCount (unknown opcode)
  bool has_origin = false;  // id contained '@'
  std::string_view id;
  std::string_view service;
  std::string_view origin;
  const std::uint8_t* payload = nullptr;
  std::size_t payload_size = 0;

  std::string_view payload_text() const noexcept {
    return {reinterpret_cast<const char*>(payload), payload_size};
  }
};

struct FrameView {
  FrameHeader header;
  const std::uint8_t* body = nullptr;  // header.length bytes
  MessageView message;                 // filled for type 0 and 1 only

  bool is_message() const noexcept {
    return header.type == FrameType::message ||
           header.type == FrameType::request;
  }
  std::string_view body_text() const noexcept {
    return {reinterpret_cast<const char*>(body), header.length};
  }
};

enum class DecodeStatus : std::uint8_t { frame, need_more, error };

struct DecodeResult {
  DecodeStatus status = DecodeStatus::need_more;
  // frame: bytes the frame used (header + body).
  // need_more: total bytes the next frame needs, when known (the header is
  //            in), else kHeaderSize. Always > the input length.
  // error: 0.
  std::size_t size = 0;
  FrameView frame;                      // valid when status == frame
  DecodeError error = DecodeError::none;
  std::size_t error_offset = 0;         // valid when status == error
};

inline std::uint16_t load_u16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_u32(const std::uint8_t* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);  // x86/ARM little-endian hosts; see static_assert
  return v;
}
inline void store_u16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
inline void store_u32(std::uint8_t* p, std::uint32_t v) noexcept {
  std::memcpy(p, &v, 4);
}
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the codec loads little-endian fields with memcpy");

// Checks what can be checked from the first bytes of a frame, before the
// body is in: the type, the length against the limit, and for messages the
// id length against the body (reject early, DoS guard). `len` may be any
// size; returns DecodeError::none when nothing is wrong so far.
inline DecodeError check_prefix(const std::uint8_t* data, std::size_t len,
                                const DecodeLimits& limits,
                                std::size_t* offset) noexcept {
  if (len == 0) return DecodeError::none;
  if (data[0] > kMaxFrameType) {
    *offset = 0;
    return DecodeError::bad_frame_type;
  }
  if (len < kHeaderSize) return DecodeError::none;
  const std::uint32_t body = load_u32(data + 3);
  if (body > limits.max_body) {
    *offset = 3;
    return DecodeError::body_too_long;
  }
  if (data[0] <= 1) {
    if (body < kMessagePrefix) {
      *offset = 3;
      return DecodeError::message_too_short;
    }
    if (len >= kHeaderSize + kMessagePrefix &&
        load_u16(data + kHeaderSize + 1) > body - kMessagePrefix) {
      *offset = kHeaderSize + 1;
      return DecodeError::id_overflow;
    }
  }
  return DecodeError::none;
}

// Splits a message body (opcode, id, payload) into `m`, in place (returning
// the view by value costs a store-forwarding stall per frame). Precondition:
// the body passed check_prefix, i.e. size >= 3 and the id fits.
inline void split_message_into(MessageView& m, const std::uint8_t* body,
                               std::size_t size) noexcept {
  m.opcode = body[0];
  const std::uint16_t idlen = load_u16(body + 1);
  const char* id = reinterpret_cast<const char*>(body + kMessagePrefix);
  m.id = {id, idlen};
  const void* at = idlen ? std::memchr(id, '@', idlen) : nullptr;
  if (at) {
    const std::size_t i = static_cast<std::size_t>(static_cast<const char*>(at) - id);
    m.service = {id, i};
    m.origin = {id + i + 1, idlen - i - 1};
    m.has_origin = true;
  } else {
    m.service = m.id;
    m.origin = "unknown";
    m.has_origin = false;
  }
  m.payload = body + kMessagePrefix + idlen;
  m.payload_size = size - kMessagePrefix - idlen;
}

inline MessageView split_message(const std::uint8_t* body,
                                 std::size_t size) noexcept {
  MessageView m;
  split_message_into(m, body, size);
  return m;
}

// Decodes the first frame in [data, data+len). Never reads past data+len.
// Three outcomes, kept apart: a frame (and its size), need_more (and how many
// bytes in total the frame needs), or an error (with its offset). After an
// error the stream is unusable: there is no way to resynchronise.
inline DecodeResult decode_frame(const std::uint8_t* data, std::size_t len,
                                 const DecodeLimits& limits = {}) noexcept {
  DecodeResult r;
  std::size_t off = 0;
  const DecodeError e = check_prefix(data, len, limits, &off);
  if (e != DecodeError::none) {
    r.status = DecodeStatus::error;
    r.error = e;
    r.error_offset = off;
    return r;
  }
  if (len < kHeaderSize) {
    r.size = kHeaderSize;
    return r;
  }
  const std::uint32_t body = load_u32(data + 3);
  const std::size_t total = kHeaderSize + std::size_t{body};
  if (len < total) {
    r.size = total;
    return r;
  }
  r.status = DecodeStatus::frame;
  r.size = total;
  r.frame.header.type = static_cast<FrameType>(data[0]);
  r.frame.header.request_id = load_u16(data + 1);
  r.frame.header.length = body;
  r.frame.body = data + kHeaderSize;
  if (data[0] <= 1) split_message_into(r.frame.message, data + kHeaderSize, body);
  return r;
}

// ---- Encoding. Encoders write headers into caller memory; payloads stay
// where they are and go out as separate iovecs.
//
// ### Lengths cannot wrap
// The wire holds the id length in a u16 and the body length in a u32. The
// encoders below refuse (return 0, write nothing) a message those fields
// cannot express, so an oversized id or payload can never go out with a
// length that wrapped around and desynchronise the peer. That is the wire's
// limit, not the peer's: a receiver with default DecodeLimits refuses bodies
// above kDefaultMaxBody (64 MiB) and drops the connection (body_too_long).
// A sender that wants to stay within the peer's limit asks message_fits()
// with that limit first, before it reserves memory for the frame. The checks
// look at sizes only, so they are right for any size_t, even sizes no buffer
// could have.

inline constexpr std::size_t kMaxIdSize = 0xFFFF;             // u16 id length
inline constexpr std::uint32_t kMaxWireBody = 0xFFFFFFFFu;    // u32 body length

// True when a message (type 0/1 frame) with an id of `id_len` bytes and
// `payload_size` bytes of payload has a body of at most `max_body` bytes:
// id_len <= kMaxIdSize and kMessagePrefix + id_len + payload_size <=
// max_body, computed without overflow.
inline constexpr bool message_fits(std::size_t id_len, std::size_t payload_size,
                                   std::uint32_t max_body = kDefaultMaxBody) noexcept {
  return id_len <= kMaxIdSize && kMessagePrefix + id_len <= max_body &&
         payload_size <= max_body - kMessagePrefix - id_len;
}

// The same for an event message, whose id is service + '@' + origin.
inline constexpr bool event_fits(std::size_t service_len, std::size_t origin_len,
                                 std::size_t payload_size,
                                 std::uint32_t max_body = kDefaultMaxBody) noexcept {
  return service_len < kMaxIdSize && origin_len <= kMaxIdSize - 1 - service_len &&
         message_fits(service_len + 1 + origin_len, payload_size, max_body);
}

inline void encode_header(std::uint8_t* out, FrameType type,
                          std::uint16_t request_id,
                          std::uint32_t length) noexcept {
  out[0] = static_cast<std::uint8_t>(type);
  store_u16(out + 1, request_id);
  store_u32(out + 3, length);
}

// Bytes encode_message_head() writes for an id of `id_len` bytes.
inline constexpr std::size_t message_head_size(std::size_t id_len) noexcept {
  return kHeaderSize + kMessagePrefix + id_len;
}

// Writes frame header + opcode + id length + id into `out`, which must hold
// message_head_size(id.size()) bytes. The frame's body length counts the
// payload of `payload_size` bytes that the caller sends after the head.
// Returns the bytes written, message_head_size(id.size()); or 0, writing
// nothing, when !message_fits(id.size(), payload_size, kMaxWireBody) (an id
// above 65535 bytes, or a body above 4 GiB - 1).
inline std::size_t encode_message_head(std::uint8_t* out, FrameType type,
                                       std::uint16_t request_id, Opcode op,
                                       std::string_view id,
                                       std::size_t payload_size) noexcept {
  if (!message_fits(id.size(), payload_size, kMaxWireBody)) [[unlikely]] return 0;
  encode_header(out, type, request_id,
                static_cast<std::uint32_t>(kMessagePrefix + id.size() + payload_size));
  out[kHeaderSize] = static_cast<std::uint8_t>(op);
  store_u16(out + kHeaderSize + 1, static_cast<std::uint16_t>(id.size()));
  if (!id.empty()) std::memcpy(out + kHeaderSize + kMessagePrefix, id.data(), id.size());
  return message_head_size(id.size());
}

// The same for a log/event message whose id is `service@origin`
// (opcodes 12-15). `out` must hold message_head_size(service+1+origin)
// bytes. Returns that size; or 0, writing nothing, when
// !event_fits(service.size(), origin.size(), payload_size, kMaxWireBody).
inline std::size_t encode_event_head(std::uint8_t* out, Opcode op,
                                     std::string_view service,
                                     std::string_view origin,
                                     std::size_t payload_size) noexcept {
  if (!event_fits(service.size(), origin.size(), payload_size, kMaxWireBody)) [[unlikely]] return 0;
  const std::size_t idlen = service.size() + 1 + origin.size();
  encode_header(out, FrameType::message, 0,
                static_cast<std::uint32_t>(kMessagePrefix + idlen + payload_size));
  out[kHeaderSize] = static_cast<std::uint8_t>(op);
  store_u16(out + kHeaderSize + 1, static_cast<std::uint16_t>(idlen));
  std::uint8_t* p = out + kHeaderSize + kMessagePrefix;
  std::memcpy(p, service.data(), service.size());
  p[service.size()] = '@';
  std::memcpy(p + service.size() + 1, origin.data(), origin.size());
  return message_head_size(idlen);
}

}  // namespace hms
