// The client side: handshake, add the services, subscribe (one request at a
// time), then the receive loop that counts, checks and times stdout frames.
#include <cerrno>
#include <cstring>

#include "worker.hpp"

namespace hms::load {
namespace {

// A sequence number that is not the next one: a gap (frames lost), or one
// at or below the last (reordered or repeated). Exactly the accounting of a
// per-frame check; only the common case (the next number) stays inline.
// Returns the frames the gap skipped.
[[gnu::noinline]] std::uint64_t seq_jump(std::uint64_t& last, std::uint64_t seq, bool in, Counts& counts) {
  if (last == kNoSeq || seq > last) {
    const std::uint64_t gap = last == kNoSeq ? 0 : seq - last - 1;
    if (in) counts.lost += gap;
    last = seq;
    return gap;
  }
  if (in) ++counts.reordered;
  return 0;
}

}  // namespace

void Worker::open_client(Client& c) {
  c.fd = start_connect(sh_.hub);
  if (c.fd < 0) {
    client_failed(c, std::string("connect: ") + std::strerror(errno));
    return;
  }
  watch(c);
}

void Worker::client_connected(Client& c) {
  if (c.stream) return stream_connected(c);
  if (!sh_.opt.raw) {
    // The reference client's head: the dock's without an origin. The
    // handshake follows at once; bytes behind the head are protocol.
    const std::string head = connect_head(sh_.hub, {});
    c.state = Conn::State::upgrading;
    if (!send_bytes(c, head.data(), head.size())) {
      close_conn(c, std::string("send: ") + std::strerror(errno));
      return;
    }
  } else {
    c.state = Conn::State::open;
  }
  client_step(c);
}

// Handshake, then add every service, then subscribe: one request at a time.
void Worker::client_step(Client& c) {
  c.waiting_rid = c.next_rid++;
  scratch_.clear();
  if (c.step == 0) {
    // What the reference client sends: its options plus "protocol":1.
    append_message(scratch_, FrameType::request, c.waiting_rid, Opcode::handshake, {},
                   R"({"type":"client","protocol":1})");
  } else if (c.step <= sh_.opt.services) {
    append_message(scratch_, FrameType::request, c.waiting_rid, Opcode::add, service_name(c.step - 1),
                   R"({"start":"hms-load"})");
  } else {
    append_message(scratch_, FrameType::request, c.waiting_rid, Opcode::subscribe, sh_.opt.subscribe, {});
  }
  if (!send_bytes(c, scratch_.data(), scratch_.size()))
    close_conn(c, std::string("send: ") + std::strerror(errno));
}

std::size_t Worker::client_input(Client& c, const std::uint8_t* p, std::size_t n, std::int64_t now) {
  // The hot loop: millions of frames a second. Per stdout frame it reads the
  // length, type, opcode and id length, then the payload's sequence number
  // and dock index; the stamp only inside the window, and the histogram
  // only once per run of equal stamps (one dock batch, stamped once).
  const bool in = sh_.in_window(now);
  const std::size_t want = sh_.opt.payload;
  const std::uint32_t ndocks = sh_.opt.docks;
  // The last sequence number of the dock whose frames are being walked,
  // kept in a register: frames come in runs of one dock's batch, and a load
  // of last_seq[dock] right behind the store of the frame before would
  // chain every frame on a store-to-load forward. Written back when the
  // dock changes and at the end.
  std::uint64_t* last = c.last_seq.data();
  std::uint32_t cur = ~std::uint32_t{0};
  std::uint64_t cur_last = 0;
  auto write_back = [&] {
    if (cur != ~std::uint32_t{0}) last[cur] = cur_last;
  };
  std::uint64_t frames = 0, good = 0, gaps = 0;
  std::int64_t run_stamp = 0;
  std::uint64_t run = 0;
  auto flush_run = [&] {
    if (run) counts_.latency.record(now > run_stamp ? static_cast<std::uint64_t>(now - run_stamp) : 0, run);
  };
  std::size_t off = 0;
  while (n - off >= kHeaderSize) {
    const std::uint8_t* f = p + off;
    const std::uint32_t body = load_u32(f + 3);
    // Reject early: a bad type or an absurd length before waiting for it.
    if (f[0] > kMaxFrameType || body > kDefaultMaxBody) {
      write_back();
      protocol_error(c, f, n - off, f[0] > kMaxFrameType ? "bad_frame_type" : "body_too_long");
      return off;
    }
    const std::size_t total = kHeaderSize + body;
    if (n - off < total) {
      c.need = total;
      break;
    }
    if (f[0] == 0 && body >= kMessagePrefix && f[kHeaderSize] == static_cast<std::uint8_t>(Opcode::stdout_))
        [[likely]] {
      const std::size_t idlen = load_u16(f + kHeaderSize + 1);
      if (idlen > body - kMessagePrefix) {
        write_back();
        protocol_error(c, f, n - off, "id_overflow");
        return off;
      }
      ++frames;
      const std::uint8_t* pl = f + kHeaderSize + kMessagePrefix + idlen;
      std::uint32_t dock = 0;
      // Checked where counted: a frame that is not one a dock of ours sent
      // would make the numbers lie.
      if (body - kMessagePrefix - idlen == want) std::memcpy(&dock, pl + 16, 4);
      if (body - kMessagePrefix - idlen != want || dock >= ndocks) {
        ++counts_.malformed;
      } else {
        std::uint64_t seq;
        std::memcpy(&seq, pl + 8, 8);
        if (dock != cur) [[unlikely]] {
          write_back();
          cur = dock;
          cur_last = last[dock];
        }
        if (seq == cur_last + 1) [[likely]] cur_last = seq;  // also the first frame (seq 0 after kNoSeq)
        else gaps += seq_jump(cur_last, seq, in, counts_);
        ++good;
        if (in) {
          std::int64_t stamp;
          std::memcpy(&stamp, pl, 8);
          if (stamp != run_stamp) {
            flush_run();
            run_stamp = stamp;
            run = 0;
          }
          ++run;
        }
      }
    } else {
      write_back();
      cur = ~std::uint32_t{0};
      const DecodeResult r = decode_frame(f, total);
      if (r.status != DecodeStatus::frame) {
        protocol_error(c, f, n - off, to_string(r.error));
        return off;
      }
      client_frame(c, r.frame);
      if (c.state == Conn::State::closed) return off;
    }
    off += total;
  }
  write_back();
  flush_run();
  if (in) counts_.delivered += good;
  if (frames | gaps) {
    c.done_frames += frames + gaps;
    sh_.tally[c.index].done.store(c.done_frames, std::memory_order_relaxed);
    if (sh_.parked.load(std::memory_order_relaxed)) kick_parked();
  }
  return off;
}

void Worker::client_frame(Client& c, const FrameView& f) {
  switch (f.header.type) {
    case FrameType::message:
      return;  // stderr, spawn, exit: not ours to count
    case FrameType::request:
      // A hub asks clients nothing; answer as a peer without handlers does.
      reply(c, FrameType::error, f.header.request_id, kNotSupported);
      return;
    case FrameType::reply:
    case FrameType::error:
      client_reply(c, f);
      return;
    case FrameType::ping:
      reply(c, FrameType::reply, f.header.request_id, {});
      return;
  }
}

void Worker::client_reply(Client& c, const FrameView& f) {
  if (c.done || f.header.request_id != c.waiting_rid) return;
  const bool ok = f.header.type == FrameType::reply;
  const std::string text(f.body_text());
  if (c.step == 0) {
    if (!ok) return client_failed(c, "handshake: " + text);
  } else if (c.step <= sh_.opt.services) {
    // Every client adds every service; all but the first find it there.
    if (!ok && text != "Service already exist")
      return client_failed(c, "add " + service_name(c.step - 1) + ": " + text);
  } else {
    if (!ok) return client_failed(c, "subscribe " + sh_.opt.subscribe + ": " + text);
    c.done = true;
    sh_.tally[c.index].alive.store(true, std::memory_order_release);
    sh_.clients_up.fetch_add(1);
    return;
  }
  ++c.step;
  client_step(c);
}

void Worker::client_failed(Client& c, const std::string& why) {
  if (c.done) return;
  c.done = true;
  sh_.clients_failed.fetch_add(1);
  sh_.error("client " + std::to_string(c.index) + ": " + why);
  close_conn(c, why);
}

void Worker::client_closed(Client& c, const std::string& why) {
  const bool was_alive = sh_.tally[c.index].alive.exchange(false);
  if (!c.done) {
    client_failed(c, "closed during set-up: " + why);
  } else if (was_alive && !sh_.stopping.load()) {
    sh_.clients_lost.fetch_add(1);
    sh_.error("client " + std::to_string(c.index) + " closed: " + why);
  }
  // A pump may be parked waiting on this client's credit.
  if (sh_.parked.load()) kick_parked();
}

}  // namespace hms::load
