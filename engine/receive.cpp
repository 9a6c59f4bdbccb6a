// The receive side: bytes from the backend become frames (decoded in place,
// a frame that straddles reads assembled once) or plain bytes.
//
// ### Assembly and its budget
// A frame that does not end in the read it began in is copied into an
// assembly block. The block grows as the frame's bytes arrive (doubling,
// from 64 KiB, up to the frame's size), never to the size a header merely
// announces, and every byte of it counts against a process-wide budget
// (set_partial_budget): a peer that announces 16 MiB and sends 10 bytes
// holds 64 KiB, and many such peers cannot exhaust memory together.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "hms/log.hpp"
#include "reactor_impl.hpp"

namespace hms {

namespace {

constexpr std::size_t kFirstAssembly = 64 * 1024;

std::atomic<std::size_t> g_partial_bytes{0};  // relaxed: a tally, nothing published
std::atomic<std::size_t> g_partial_budget{std::size_t{256} << 20};

}  // namespace

void set_partial_budget(std::size_t bytes) noexcept { g_partial_budget.store(bytes, std::memory_order_relaxed); }
std::size_t partial_budget() noexcept { return g_partial_budget.load(std::memory_order_relaxed); }
std::size_t partial_bytes() noexcept { return g_partial_bytes.load(std::memory_order_relaxed); }

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

void release_assembly(Conn& c) noexcept {
  if (c.asm_reserved) g_partial_bytes.fetch_sub(c.asm_reserved, std::memory_order_relaxed);
  c.asm_reserved = 0;
  c.asm_block.reset();
  c.asm_len = c.asm_need = 0;
}

namespace {

// A request whose announced body is over the limit is answered with an
// error under its request id before the close, so the sender is told why
// (the handshake, say, of a client whose payload is past the limit that
// holds before a handshake).
void refuse_oversized_request(Conn& c, const std::uint8_t* p, std::size_t len) {
  if (len < kHeaderSize || p[0] != static_cast<std::uint8_t>(FrameType::request)) return;
  char text[128];
  const int n = std::snprintf(text, sizeof text, "Frame too large: %u bytes, the limit is %u bytes",
                              load_u32(p + 3), c.opts.decode.max_body);
  if (n <= 0) return;
  std::uint8_t frame[kHeaderSize + sizeof text];
  const auto body = static_cast<std::uint32_t>(std::min<int>(n, static_cast<int>(sizeof text) - 1));
  encode_header(frame, FrameType::error, load_u16(p + 1), body);
  std::memcpy(frame + kHeaderSize, text, body);
  c.send_copy(frame, kHeaderSize + body);
}

void protocol_error(ReactorImpl& r, Conn& c, const DecodeResult& d, const std::uint8_t* p, std::size_t len) {
  ++r.stats.protocol_errors;
  HMS_LOG(warn, "%s: protocol error %s at byte %zu of the frame: %s; closing", c.peer_name.c_str(),
          to_string(d.error), d.error_offset, hex_sample(p, len).c_str());
  if (d.error == DecodeError::body_too_long) refuse_oversized_request(c, p, len);
  c.close_info.decode = d.error;
  r.conn_close(c, CloseReason::protocol_error, std::string("protocol error: ") + to_string(d.error), false);
}

// A frame's handler ran out of memory: the connection whose frame it was
// closes, never the reactor. Cold: kept out of hand_over's inline body.
[[gnu::cold, gnu::noinline]] void close_for_handler_oom(ReactorImpl& r, Conn& c) {
  ++r.stats.oom_closes;
  HMS_LOG(warn, "%s: out of memory handling a frame; closing", c.peer_name.c_str());
  r.conn_close(c, CloseReason::local, "out of memory", true);
}

// Hands a frame over. False: stop feeding this connection (it closes).
inline bool hand_over(ReactorImpl& r, Conn& c, const FrameView& f, const BufRef& storage) {
  ++r.stats.frames_in;
  try {
    c.handler->on_frame(c, f, storage);
  } catch (const std::bad_alloc&) {
    close_for_handler_oom(r, c);
    return false;
  }
  return !c.has(kClosing);
}

// Makes room for `want` bytes in the assembly block (growing by doubling,
// never past the frame's size, or past `direct` when the backend reads
// straight into the block). False: closed (budget or memory).
bool make_room(ReactorImpl& r, Conn& c, std::size_t want, std::size_t direct = 0) {
  const std::size_t have = c.asm_block ? c.asm_block->capacity() : 0;
  if (want <= have) return true;
  std::size_t cap = have ? have * 2 : kFirstAssembly;
  if (cap < want) cap = want;
  if (cap < direct) cap = direct;
  const std::size_t most = c.asm_need > direct ? c.asm_need : direct;
  if (cap > most) cap = most;
  if (cap <= have) return true;  // as big as it may get: the caller reads less (never copy to the same size)
  const std::size_t more = cap - c.asm_reserved;
  const std::size_t before = g_partial_bytes.fetch_add(more, std::memory_order_relaxed);
  const std::size_t budget = g_partial_budget.load(std::memory_order_relaxed);
  // A first block (64 KiB at most) is always granted, as a receive buffer
  // is: a full budget refuses the connections that grow frames past it,
  // not a dock whose small frame happens to straddle two reads.
  if (budget && cap > kFirstAssembly && before + more > budget) {
    g_partial_bytes.fetch_sub(more, std::memory_order_relaxed);
    ++r.stats.budget_closes;
    HMS_LOG(warn, "%s: partial frames over the memory budget (%zu bytes); closing", c.peer_name.c_str(), budget);
    r.conn_close(c, CloseReason::local, "memory budget for partial frames exceeded", true);
    return false;
  }
  c.asm_reserved += more;
  Block* b = Block::try_heap(cap);
  if (!b) {
    ++r.stats.oom_closes;
    HMS_LOG(warn, "%s: out of memory for a %zu-byte frame; closing", c.peer_name.c_str(), c.asm_need);
    r.conn_close(c, CloseReason::local, "out of memory", true);
    return false;
  }
  if (c.asm_len) std::memcpy(b->data(), c.asm_block->data(), c.asm_len);
  c.asm_block = BufRef::adopt(b);
  return true;
}

// ### Direct reads (epoll)
// While a frame bigger than a receive buffer is assembled, the epoll
// backend reads straight into the assembly block, and on past the frame's
// end: the frames that follow in the same read are handed over in place
// (the block is their storage) and only the last, cut one is copied into
// the next block. A stream of 64 KiB frames straddles every 64 KiB receive
// buffer; this way it is copied once per several frames, not once each.
constexpr std::size_t kDirectFrames = 8;        // a direct block holds this many receive buffers' worth
constexpr std::size_t kDirectMinRoom = 16 * 1024;  // less room than this: a new block first

// The size an assembly block takes at once so that direct reads have room
// past the frame; 0 when there are no direct reads, or this connection has
// not sent a big frame whole yet (until then memory follows the bytes that
// arrived, not the size a header announces).
std::size_t direct_block(const ReactorImpl& r, const Conn& c) {
  if (!r.direct_reads || !c.has(kDirectStream) || c.asm_need <= r.pool.size()) return 0;
  return kDirectFrames * r.pool.size();
}

// Decodes the frames in [p, p+len) of `blk`, in place; a tail that is not a
// whole frame starts an assembly.
void feed_frames(ReactorImpl& r, Conn& c, const BufRef& blk, const std::uint8_t* p, std::size_t len) {
  while (len && !c.has(kClosing)) {
    const DecodeResult d = decode_frame(p, len, c.opts.decode);
    if (d.status == DecodeStatus::frame) {
      if (!hand_over(r, c, d.frame, blk)) return;
      p += d.size;
      len -= d.size;
      continue;
    }
    if (d.status == DecodeStatus::error) {
      protocol_error(r, c, d, p, len);
      return;
    }
    c.asm_need = len >= kHeaderSize ? d.size : kHeaderSize;
    if (!make_room(r, c, len, direct_block(r, c))) return;
    std::memcpy(c.asm_block->data(), p, len);
    c.asm_len = len;
    return;
  }
}

// Rejects early: a frame's id length is judged as soon as its two bytes
// are in, not when the whole (maybe megabytes long) body is.
void judge_prefix(ReactorImpl& r, Conn& c) {
  DecodeResult early;
  early.error = check_prefix(c.asm_block->data(), c.asm_len, c.opts.decode, &early.error_offset);
  if (early.error == DecodeError::none) return;
  early.status = DecodeStatus::error;
  protocol_error(r, c, early, c.asm_block->data(), c.asm_len);
}

// Finishes the frame carried over from earlier reads with the bytes at the
// front of [p, p+len); advances past what it used. False: stop reading
// (closed, or the frame is still not whole).
bool continue_assembly(ReactorImpl& r, Conn& c, const std::uint8_t*& p, std::size_t& len) {
  while (c.asm_block && len) {
    const std::size_t want = c.asm_need - c.asm_len;
    const std::size_t take = len < want ? len : want;
    if (!make_room(r, c, c.asm_len + take)) return false;
    std::memcpy(c.asm_block->data() + c.asm_len, p, take);
    c.asm_len += take;
    p += take;
    len -= take;
    if (c.asm_len < c.asm_need) {
      judge_prefix(r, c);
      return false;
    }
    const DecodeResult d = decode_frame(c.asm_block->data(), c.asm_len, c.opts.decode);
    if (d.status == DecodeStatus::error) {
      protocol_error(r, c, d, c.asm_block->data(), c.asm_len);
      release_assembly(c);
      return false;
    }
    if (d.status == DecodeStatus::need_more) {
      c.asm_need = d.size;  // only the header was in: now the frame's size is known
      continue;
    }
    ++r.stats.assembled_frames;
    BufRef done = std::move(c.asm_block);
    release_assembly(c);
    if (!hand_over(r, c, d.frame, done)) return false;
  }
  return true;
}

bool reading_a_head(const Conn& c) {
  return (c.mode == ConnMode::detect || c.mode == ConnMode::server_head || c.mode == ConnMode::client_head) &&
         !c.head.empty();
}

}  // namespace

void ReactorImpl::on_data(Conn& c, BufRef blk, std::size_t n) {
  stats.bytes_in += n;
  if (c.has(kClosing) || c.mode == ConnMode::http_reply) return;
  const std::uint8_t* p = blk->data();
  std::size_t len = n;
  if (c.mode != ConnMode::frames && c.mode != ConnMode::bytes) {
    const bool more = handle_head(*this, c, p, len);
    note_partial(c, reading_a_head(c));
    if (!more || len == 0) return;
  }
  if (!c.handler) {
    conn_close(c, CloseReason::local, "no handler", true);
    return;
  }
  if (c.mode == ConnMode::bytes) {
    try {
      c.handler->on_bytes(c, p, len, blk);
    } catch (const std::bad_alloc&) {
      ++stats.oom_closes;
      conn_close(c, CloseReason::local, "out of memory", true);
    }
    return;
  }
  if (continue_assembly(*this, c, p, len) && len) feed_frames(*this, c, blk, p, len);
  if (!c.asm_block) c.clear(kDirectStream);  // whole frames only: the receive buffers suffice
  note_partial(c, static_cast<bool>(c.asm_block));
}

bool ReactorImpl::direct_read_wanted(const Conn& c) const noexcept {
  return direct_reads && c.mode == ConnMode::frames && c.asm_block && !c.has(kClosing) &&
         c.asm_need > pool.size();
}

bool ReactorImpl::direct_read_room(Conn& c, std::uint8_t** dst, std::size_t* room) {
  if (c.asm_block->capacity() - c.asm_len < kDirectMinRoom &&
      !make_room(*this, c, c.asm_len + kDirectMinRoom, direct_block(*this, c)))
    return false;
  *dst = c.asm_block->data() + c.asm_len;
  *room = c.asm_block->capacity() - c.asm_len;
  return *room > 0;
}

void ReactorImpl::on_direct_data(Conn& c, std::size_t n) {
  stats.bytes_in += n;
  c.asm_len += n;
  if (c.asm_len < c.asm_need) {
    judge_prefix(*this, c);
    return;
  }
  ++stats.assembled_frames;
  c.set(kDirectStream);
  BufRef blk = std::move(c.asm_block);
  const std::size_t have = c.asm_len;
  release_assembly(c);
  feed_frames(*this, c, blk, blk->data(), have);
  note_partial(c, static_cast<bool>(c.asm_block));
}

void ReactorImpl::note_partial(Conn& c, bool partial) {
  if (!partial || c.has(kClosing)) {
    c.partial_since = {};
    return;
  }
  if (c.opts.read_timeout.count() <= 0 || c.partial_since != std::chrono::steady_clock::time_point{}) return;
  c.partial_since = now;
  if (!c.has(kInPartials)) {
    c.set(kInPartials);
    partials_.push_back(&c);
  }
}

void ReactorImpl::check_partials() {
  if (partials_.empty() || now - last_partial_sweep_ < std::chrono::milliseconds(250)) return;
  last_partial_sweep_ = now;
  std::size_t keep = 0;
  for (Conn* c : partials_) {
    const bool idle = c->has(kClosing | kFreed) || c->partial_since == std::chrono::steady_clock::time_point{};
    if (!idle && now - c->partial_since > c->opts.read_timeout) {
      ++stats.read_timeouts;
      HMS_LOG(info, "%s: a frame or head begun %lld ms ago is not finished; closing", c->peer_name.c_str(),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(now - c->partial_since).count()));
      conn_close(*c, CloseReason::local, "read timeout", true);
    } else if (!idle) {
      partials_[keep++] = c;
      continue;
    }
    c->clear(kInPartials);
  }
  partials_.resize(keep);
}

void ReactorImpl::on_recv_end(Conn& c, int res) {
  if (c.has(kClosing)) return;
  if (res == 0) {
    // Orderly EOF (maybe a half-close): nothing more to read. What is
    // still owed goes out first; the handler decides when to close.
    c.set(kReadEnded);
    io_->reads_stopped(c);
    if (c.handler) c.handler->on_read_end(c);
    if (c.has(kClosing)) return;
    if (!c.handler || c.opts.limits.close_timeout.count() <= 0) {
      conn_close(c, CloseReason::peer_closed, "peer closed the connection", false);
      return;
    }
    // The handler still owes answers; not for ever (close_timeout).
    const std::uint64_t id = c.id;
    c.close_timer = add_timer(c.opts.limits.close_timeout, {}, [this, id] {
      if (Conn* cc = find(id)) {
        cc->close_timer = 0;
        conn_close(*cc, CloseReason::peer_closed, "peer closed the connection; answers not done in time", false);
      }
    });
    return;
  }
  const int e = -res;
  c.close_info.error = e;
  conn_close(c, e == ECONNRESET || e == EPIPE ? CloseReason::peer_closed : CloseReason::io_error,
             std::string("recv: ") + strerror(e), true);
}

}  // namespace hms
