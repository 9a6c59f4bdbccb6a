// The dock side: connecting in a bounded window, the handshake, answering
// the hub's commands, following its subscriptions, and writing stdout
// frames in batches.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "worker.hpp"

namespace hms::load {

bool Worker::docks_to_connect() const noexcept {
  return next_dock_ < sh_.opt.docks && sh_.docks_go.load(std::memory_order_acquire) &&
         !sh_.stopping.load(std::memory_order_relaxed);
}

void Worker::connect_docks() {
  for (unsigned made = 0; made < kConnectChunk && next_dock_ < sh_.opt.docks; ++made) {
    // Bounded: connected docks whose handshake is unanswered may still sit
    // in the hub's accept queue, and a full queue drops SYNs (the connect
    // then waits a whole retransmit timeout). Other workers count too; the
    // loop comes back within a millisecond.
    if (sh_.connecting.load() >= static_cast<std::int32_t>(sh_.opt.connect_window)) return;
    open_dock(next_dock_);
    next_dock_ += static_cast<std::uint32_t>(sh_.opt.threads);
  }
}

void Worker::open_dock(std::uint32_t index) {
  docks_.push_back(std::make_unique<Dock>());
  Dock& d = *docks_.back();
  d.is_dock = true;
  d.index = index;
  d.service = service_name(index % sh_.opt.services);
  d.origin = "dock-" + std::to_string(index);
  // The first frame of the template: stdout of service@origin, payload
  // stamp | sequence | dock index | filler. Stamp and sequence are patched
  // per frame; the rest never changes.
  d.head_bytes = message_head_size(d.service.size() + 1 + d.origin.size());
  d.frame_bytes = d.head_bytes + sh_.opt.payload;
  d.frames.assign(d.frame_bytes, 'x');
  encode_event_head(d.frames.data(), Opcode::stdout_, d.service, d.origin, sh_.opt.payload);
  std::memset(d.frames.data() + d.head_bytes, 0, 16);
  std::memcpy(d.frames.data() + d.head_bytes + 16, &index, 4);
  d.built = 1;

  sh_.connecting.fetch_add(1);
  std::int64_t expected = 0;
  sh_.first_connect.compare_exchange_strong(expected, mono_ns());
  d.fd = start_connect(sh_.hub);
  if (d.fd < 0) {
    d.state = Conn::State::connecting;  // so close_conn() counts it as failed
    close_conn(d, std::string("connect: ") + std::strerror(errno));
    return;
  }
  watch(d);
}

void Worker::dock_connected(Dock& d) {
  // The CONNECT head and the handshake in one write: bytes behind the head
  // already belong to the protocol (the engine's Peer sends them so too).
  std::string head;
  if (!sh_.opt.raw) head = connect_head(sh_.hub, d.origin);
  const std::string hs = R"({"type":"dock","id":")" + d.origin + R"(","hostname":")" + sh_.hostname +
                         R"(","tags":[],"default":false,"version":"hms-load","protocol":1})";
  scratch_.assign(head.begin(), head.end());
  append_message(scratch_, FrameType::request, 0, Opcode::handshake, {}, hs);
  d.state = sh_.opt.raw ? Conn::State::open : Conn::State::upgrading;
  if (!send_bytes(d, scratch_.data(), scratch_.size()))
    close_conn(d, std::string("send: ") + std::strerror(errno));
}

std::size_t Worker::dock_input(Dock& d, const std::uint8_t* p, std::size_t n) {
  // Docks receive only commands: rare, small, any type. The codec decodes
  // them whole (views into the read buffer, used before the next read).
  std::size_t off = 0;
  while (off < n) {
    const DecodeResult r = decode_frame(p + off, n - off);
    if (r.status == DecodeStatus::need_more) {
      d.need = r.size;
      break;
    }
    if (r.status == DecodeStatus::error) {
      protocol_error(d, p + off, n - off, to_string(r.error));
      return off;
    }
    dock_frame(d, r.frame);
    if (d.state == Conn::State::closed) return off;
    off += r.size;
  }
  return off;
}

void Worker::dock_frame(Dock& d, const FrameView& f) {
  switch (f.header.type) {
    case FrameType::message:
    case FrameType::request: {
      const auto op = static_cast<Opcode>(f.message.opcode);
      const bool sub = op == Opcode::subscribe, unsub = op == Opcode::unsubscribe;
      // The peer's subscriptions are recorded whether or not it asked for
      // a reply (as the reference does). An omitted id means '*'.
      if (sub || unsub) {
        const std::string_view id = f.message.service;
        if (id.empty() || id == "*") d.sub_all = sub;
        if (id == d.service) d.sub_mine = sub;
      }
      if (f.header.type == FrameType::request) {
        // A dock that runs nothing: every command succeeds, ps and list
        // are empty, anything else is not a command a dock serves.
        switch (op) {
          case Opcode::add: case Opcode::update: case Opcode::remove: case Opcode::start:
          case Opcode::stop: case Opcode::restart: case Opcode::sync: case Opcode::get:
          case Opcode::subscribe: case Opcode::unsubscribe:
            reply(d, FrameType::reply, f.header.request_id, {});
            break;
          case Opcode::ps: case Opcode::list:
            reply(d, FrameType::reply, f.header.request_id, "[]");
            break;
          default:
            reply(d, FrameType::error, f.header.request_id, kNotSupported);
            break;
        }
        if (d.state == Conn::State::closed) return;
      }
      if (sub || unsub) update_streaming(d);
      return;
    }
    case FrameType::reply:
    case FrameType::error:
      // Our one request: the handshake, request id 0.
      if (d.up || d.failed || f.header.request_id != 0) return;
      sh_.connecting.fetch_sub(1);
      sh_.last_handshake.store(mono_ns());
      if (f.header.type == FrameType::error) {
        d.failed = true;
        sh_.docks_failed.fetch_add(1);
        close_conn(d, "handshake: " + std::string(f.body_text()));
        sh_.error(d.origin + ": handshake: " + std::string(f.body_text()));
        return;
      }
      d.up = true;
      sh_.docks_up.fetch_add(1);
      update_streaming(d);
      return;
    case FrameType::ping:
      reply(d, FrameType::reply, f.header.request_id, {});
      return;
  }
}

void Worker::dock_closed(Dock& d, const std::string& why) {
  if (d.streaming) sh_.streaming.fetch_sub(1);
  d.streaming = false;  // the pump and the schedule drop it
  if (d.failed) return;
  if (!d.up) {
    d.failed = true;
    sh_.connecting.fetch_sub(1);
    sh_.docks_failed.fetch_add(1);
    sh_.error(d.origin + ": " + why);
  } else if (!sh_.stopping.load()) {
    sh_.docks_lost.fetch_add(1);
    sh_.error(d.origin + " closed: " + why);
  }
}

void Worker::dock_writable(Dock& d) {
  // EPOLLOUT: the kernel has room again (and what was queued went).
  if (!d.out_empty()) return;
  d.blocked = false;
  if (sh_.opt.rate == 0 && d.streaming && !d.in_ready) {
    d.in_ready = true;
    ready_.push_back(&d);
  }
}

void Worker::update_streaming(Dock& d) {
  // A real dock only sends what its peer listens to.
  const bool want = d.up && d.state == Conn::State::open && (d.sub_all || d.sub_mine);
  if (want == d.streaming) return;
  d.streaming = want;
  if (want) sh_.streaming.fetch_add(1);
  else sh_.streaming.fetch_sub(1);
  if (!want) return;  // the pump and the schedule drop non-streaming docks
  if (sh_.opt.rate == 0) {
    if (!d.in_ready && !d.blocked && d.out_empty()) {
      d.in_ready = true;
      ready_.push_back(&d);
    }
    return;
  }
  if (d.in_heap) return;
  // Docks are spread evenly over one period (dock i at i/N of it), so 10,000
  // docks at 1/s make a steady 10,000 frames/s, not one burst a second.
  const std::int64_t period = sh_.period_ns;
  const auto phase = static_cast<std::int64_t>(static_cast<double>(period) * d.index /
                                               std::max(1u, sh_.opt.docks));
  const std::int64_t now = mono_ns();
  const std::int64_t base = sh_.t0 + phase;
  const std::int64_t k = now > base ? (now - base + period - 1) / period : 0;
  d.next_due = base + k * period;
  d.in_heap = true;
  schedule_.emplace(d.next_due, &d);
}

std::uint64_t Worker::send_frames(Dock& d, std::uint64_t n, std::int64_t now) {
  if (n == 0 || d.blocked || !d.out_empty() || d.state != Conn::State::open) return 0;
  const std::size_t fb = d.frame_bytes;
  if (d.built < n) {
    d.frames.resize(n * fb);
    for (std::size_t i = d.built; i < n; ++i)
      std::memcpy(d.frames.data() + i * fb, d.frames.data(), fb);
    d.built = n;
  }
  std::uint8_t* p = d.frames.data() + d.head_bytes;
  std::uint64_t seq = d.seq;
  for (std::uint64_t i = 0; i < n; ++i, ++seq, p += fb) {
    std::memcpy(p, &now, 8);
    std::memcpy(p + 8, &seq, 8);
  }
  const std::size_t bytes = n * fb;
  ssize_t w;
  do {
    w = ::send(d.fd, d.frames.data(), bytes, MSG_NOSIGNAL);
  } while (w < 0 && errno == EINTR);
  if (w < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) d.blocked = true;
    else close_conn(d, std::string("send: ") + std::strerror(errno));
    return 0;
  }
  std::uint64_t sent = n;
  if (static_cast<std::size_t>(w) < bytes) {
    // The kernel cut the batch: the frames it started are sent (the rest of
    // the one cut in two waits in `out`), the others are not.
    d.blocked = true;
    sent = (static_cast<std::size_t>(w) + fb - 1) / fb;
    d.out.assign(d.frames.data() + w, d.frames.data() + sent * fb);
    d.out_off = 0;
  }
  d.seq += sent;
  if (sh_.in_window(now)) counts_.sent += sent;
  return sent;
}

}  // namespace hms::load
