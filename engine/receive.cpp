// The receive side: bytes from the backend become frames (decoded in place,
// a frame that straddles reads assembled once) or plain bytes.
#include <cstring>
#include <string>

#include "hms/log.hpp"
#include "reactor_impl.hpp"

namespace hms {

std::string hex_sample(const std::uint8_t* p, std::size_t len) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  const std::size_t n = len < 16 ? len : 16;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  if (len > n) out += "...";
  return out;
}

namespace {

void protocol_error(ReactorImpl& r, Conn& c, const DecodeResult& d, const std::uint8_t* p,
                    std::size_t len) {
  ++r.stats.protocol_errors;
  HMS_LOG(warn, "%s: protocol error %s at byte %zu of the frame: %s; closing", c.peer_name.c_str(),
          to_string(d.error), d.error_offset, hex_sample(p, len).c_str());
  c.close_info.decode = d.error;
  r.conn_close(c, CloseReason::protocol_error, std::string("protocol error: ") + to_string(d.error), false);
}

// Decodes the frames in [p, p+len) of `blk`, in place; a tail that is not a
// whole frame is carried to the next read in an assembly block sized for
// the whole frame (once the header is in), so it is copied once.
void feed_frames(ReactorImpl& r, Conn& c, const BufRef& blk, const std::uint8_t* p, std::size_t len) {
  while (len && !c.has(kClosing)) {
    const DecodeResult d = decode_frame(p, len, c.opts.decode);
    if (d.status == DecodeStatus::frame) {
      ++r.stats.frames_in;
      c.handler->on_frame(c, d.frame, blk);
      p += d.size;
      len -= d.size;
      continue;
    }
    if (d.status == DecodeStatus::error) {
      protocol_error(r, c, d, p, len);
      return;
    }
    const std::size_t cap = len >= kHeaderSize ? d.size : kHeaderSize;
    c.asm_block = BufRef::adopt(Block::heap(cap));
    std::memcpy(c.asm_block->data(), p, len);
    c.asm_len = len;
    c.asm_need = cap;
    return;
  }
}

// Finishes the frame carried over from earlier reads with the bytes at the
// front of [p, p+len); advances past what it used. False: stop reading
// (closed, or the frame is still not whole).
bool continue_assembly(ReactorImpl& r, Conn& c, const std::uint8_t*& p, std::size_t& len) {
  while (c.asm_block && len) {
    const std::size_t want = c.asm_need - c.asm_len;
    const std::size_t take = len < want ? len : want;
    std::memcpy(c.asm_block->data() + c.asm_len, p, take);
    c.asm_len += take;
    p += take;
    len -= take;
    if (c.asm_len < c.asm_need) {
      // Reject early: the id length is judged as soon as its two bytes are
      // in, not when the whole (maybe megabytes long) body is.
      DecodeResult early;
      early.error = check_prefix(c.asm_block->data(), c.asm_len, c.opts.decode, &early.error_offset);
      if (early.error != DecodeError::none) {
        early.status = DecodeStatus::error;
        protocol_error(r, c, early, c.asm_block->data(), c.asm_len);
      }
      return false;
    }
    const DecodeResult d = decode_frame(c.asm_block->data(), c.asm_len, c.opts.decode);
    if (d.status == DecodeStatus::error) {
      protocol_error(r, c, d, c.asm_block->data(), c.asm_len);
      c.asm_block.reset();
      return false;
    }
    if (d.status == DecodeStatus::need_more) {
      // Only the header was in: grow to the frame's full size.
      BufRef bigger = BufRef::adopt(Block::heap(d.size));
      std::memcpy(bigger->data(), c.asm_block->data(), c.asm_len);
      c.asm_block = std::move(bigger);
      c.asm_need = d.size;
      continue;
    }
    ++r.stats.assembled_frames;
    ++r.stats.frames_in;
    BufRef done = std::move(c.asm_block);
    c.asm_len = c.asm_need = 0;
    c.handler->on_frame(c, d.frame, done);
    if (c.has(kClosing)) return false;
  }
  return true;
}

}  // namespace

void ReactorImpl::on_data(Conn& c, BufRef blk, std::size_t n) {
  stats.bytes_in += n;
  if (c.has(kClosing) || c.mode == ConnMode::http_reply) return;
  const std::uint8_t* p = blk->data();
  std::size_t len = n;
  if (c.mode != ConnMode::frames && c.mode != ConnMode::bytes) {
    if (!handle_head(*this, c, p, len)) return;
    if (len == 0) return;
  }
  if (!c.handler) {
    conn_close(c, CloseReason::local, "no handler", true);
    return;
  }
  if (c.mode == ConnMode::bytes) {
    c.handler->on_bytes(c, p, len, blk);
    return;
  }
  if (!continue_assembly(*this, c, p, len)) return;
  if (len) feed_frames(*this, c, blk, p, len);
}

void ReactorImpl::on_recv_end(Conn& c, int res) {
  if (c.has(kClosing)) return;
  if (res == 0) {
    // Orderly EOF: what we still have to say goes out first.
    conn_close(c, CloseReason::peer_closed, "peer closed the connection", false);
    return;
  }
  const int e = -res;
  c.close_info.error = e;
  conn_close(c, e == ECONNRESET || e == EPIPE ? CloseReason::peer_closed : CloseReason::io_error,
             std::string("recv: ") + strerror(e), true);
}

}  // namespace hms
