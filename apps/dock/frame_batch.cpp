#include "dock/frame_batch.hpp"

#include <cstring>

#include "hms/connection.hpp"
#include "hms/reactor.hpp"

namespace hms::dock {

void FrameBatch::add(Opcode op, std::string_view service, std::string_view origin, const BufRef& storage,
                     const std::uint8_t* data, std::size_t len) {
  const std::size_t head = message_head_size(service.size() + 1 + origin.size());
  const std::size_t off = heads_.size();
  heads_.resize(off + head);
  if (encode_event_head(reinterpret_cast<std::uint8_t*>(heads_.data() + off), op, service, origin, len) != head) {
    heads_.resize(off);  // cannot be a frame (the caller checked the sizes)
    return;
  }
  frames_.push_back(Frame{storage, data, len, off, head});
  bytes_ += head + len;
}

FrameBatch::Flushed FrameBatch::flush(Connection& c, const ReactorStats& stats) {
  Flushed f;
  for (Frame& fr : frames_) {
    std::uint8_t* h = c.reserve(fr.head_len);
    std::memcpy(h, heads_.data() + fr.head_off, fr.head_len);
    c.commit(fr.head_len);
    const std::uint64_t copies = stats.pinned_copies;
    if (!c.send_ref(fr.storage, fr.data, fr.len)) break;  // closing: the rest goes too
    if (stats.pinned_copies != copies) f.copied += fr.len;
    c.note_frames_out();
    ++f.frames;
    f.payload += fr.len;
  }
  clear();
  return f;
}

void FrameBatch::clear() {
  frames_.clear();
  heads_.clear();
  bytes_ = 0;
}

}  // namespace hms::dock
