#include "hms/frame.hpp"

namespace hms {

const char* to_string(Opcode op) noexcept {
  static constexpr const char* kNames[kOpcodeCount] = {
      "handshake", "add",   "update",    "remove",      "list",   "ps",
      "start",     "stop",  "restart",   "sync",        "subscribe",
      "unsubscribe", "stdout", "stderr", "spawn",       "exit",   "get"};
  const auto i = static_cast<std::uint8_t>(op);
  return i < kOpcodeCount ? kNames[i] : "unknown";
}

const char* to_string(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::none: return "none";
    case DecodeError::bad_frame_type: return "bad_frame_type";
    case DecodeError::body_too_long: return "body_too_long";
    case DecodeError::message_too_short: return "message_too_short";
    case DecodeError::id_overflow: return "id_overflow";
  }
  return "unknown";
}

}  // namespace hms
