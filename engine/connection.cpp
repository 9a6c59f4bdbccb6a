// Connection's methods and the send side: the output queue, its limits,
// gathered sends and their completions.
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hms/log.hpp"
#include "reactor_impl.hpp"

namespace hms {

namespace {

constexpr std::size_t kScratchBlock = 64 * 1024;
constexpr std::size_t kScratchFirst = 1024;

}  // namespace

// ---------------------------------------------------------------- accessors

void Connection::set_handler(ConnectionHandler* h) noexcept { Conn::of(*this).handler = h; }
ConnectionHandler* Connection::handler() const noexcept { return Conn::of(*this).handler; }
std::size_t Connection::queued_bytes() const noexcept { return Conn::of(*this).out.bytes(); }
std::size_t Connection::high_water() const noexcept { return Conn::of(*this).high_water; }
void Connection::set_high_water(std::size_t n) noexcept { Conn::of(*this).high_water = n; }
bool Connection::writable() const noexcept {
  const Conn& c = Conn::of(*this);
  return c.out.bytes() < c.high_water && !c.has(kClosing);
}
bool Connection::closing() const noexcept { return Conn::of(*this).has(kClosing); }
const std::string& Connection::peer_name() const noexcept { return Conn::of(*this).peer_name; }
std::uint64_t Connection::id() const noexcept { return Conn::of(*this).id; }
int Connection::fd() const noexcept { return Conn::of(*this).fd; }
bool Connection::upgraded() const noexcept {
  const Conn& c = Conn::of(*this);
  return c.mode == ConnMode::frames && c.has(kViaHttp);
}
void Connection::set_max_body(std::uint32_t n) noexcept { Conn::of(*this).opts.decode.max_body = n; }

void Connection::pause_reading() noexcept {
  Conn& c = Conn::of(*this);
  if (c.has(kPaused | kClosing | kReadEnded)) return;
  c.set(kPaused);
  c.loop->io().pause_recv(c);
}

void Connection::resume_reading() noexcept {
  Conn& c = Conn::of(*this);
  if (!c.has(kPaused)) return;
  c.clear(kPaused);
  if (c.has(kClosing | kReadEnded)) return;
  c.loop->io().unpause_recv(c);
}

bool Connection::reading_paused() const noexcept { return Conn::of(*this).has(kPaused); }

void ConnectionHandler::on_read_end(Connection& c) { c.close(CloseReason::peer_closed, "peer closed the connection"); }

void Connection::note_frames_out(std::size_t n) noexcept { Conn::of(*this).loop->stats.frames_out += n; }

void Connection::close(CloseReason reason, std::string message) {
  Conn& c = Conn::of(*this);
  c.loop->conn_close(c, reason, std::move(message), false);
}

void Connection::abort(CloseReason reason, std::string message) {
  Conn& c = Conn::of(*this);
  c.loop->conn_close(c, reason, std::move(message), true);
}

// ---------------------------------------------------------------- queueing

std::uint8_t* Connection::reserve(std::size_t n) {
  SendQueue& q = Conn::of(*this).out;
  if (!q.scratch || q.scratch->capacity() - q.scratch_used < n) {
    // Start small and double up to kScratchBlock: most of 10,000 docks only
    // ever send a handshake and a few replies, and must not cost 64 KiB each.
    std::size_t want = kScratchFirst;
    if (q.scratch) want = std::min<std::size_t>(q.scratch->capacity() * 2, kScratchBlock);
    q.scratch = BufRef::adopt(Block::heap(n > want ? n : want));
    q.scratch_used = 0;
  }
  return q.scratch->data() + q.scratch_used;
}

void Connection::commit(std::size_t n, std::size_t frames) {
  Conn& c = Conn::of(*this);
  if (c.has(kClosing) || n == 0) return;
  c.loop->stats.frames_out += frames;
  SendQueue& q = c.out;
  const std::uint8_t* p = q.scratch->data() + q.scratch_used;
  q.scratch_used += n;
  // Contiguous with the last segment in the same block: extend it. This is
  // safe even while that segment is in flight: completions advance by the
  // byte count the kernel reports, so the extension simply goes next time.
  if (!q.empty() && q.back().ref.get() == q.scratch.get() && q.back().data + q.back().len == p) {
    q.extend_back(n);
  } else if (q.push(q.scratch, p, n)) {
    c.loop->note_pinner(c);
  }
  c.loop->queued_more(c, n);
}

bool Connection::send_copy(const void* data, std::size_t n) {
  if (Conn::of(*this).has(kClosing)) return false;
  if (n == 0) return true;
  std::memcpy(reserve(n), data, n);
  commit(n);
  return true;
}

bool Connection::send_ref(const BufRef& storage, const std::uint8_t* data, std::size_t n) {
  Conn& c = Conn::of(*this);
  if (c.has(kClosing)) return false;
  if (n == 0) return true;
  // A pooled receive buffer pinned by a slow reader starves the ring that
  // every connection on its reactor reads into: when that pool runs low,
  // copy once into a heap block instead of taking a reference. (The pool
  // may be another reactor's: its count is readable from any thread.)
  if (!storage || BlockPool::pinning_hurts(*storage.get())) {
    if (storage) ++c.loop->stats.pinned_copies;
    return send_copy(data, n);
  }
  SendQueue& q = c.out;
  // Frames relayed back to back from one receive buffer are contiguous
  // there too: one iovec for all of them (safe while in flight, as in
  // commit(): completions advance by the bytes the kernel reports).
  if (!q.empty() && q.back().ref.get() == storage.get() && q.back().data + q.back().len == data) {
    q.extend_back(n);
  } else if (q.push(storage, data, n)) {
    c.loop->note_pinner(c);
  }
  c.loop->queued_more(c, n);
  return true;
}

// ---------------------------------------------------------------- limits

namespace {

void over_soft_limit(ReactorImpl& r, Conn& c) {
  const OutputLimits& lim = c.opts.limits;
  ++r.stats.slow_disconnects;
  r.conn_close(c, CloseReason::output_limit,
               "output queue over soft limit " + std::to_string(lim.soft) + " bytes for " +
                   std::to_string(lim.soft_seconds.count()) + " s",
               true);
}

// The queue went over the soft limit: a queue that stops growing is never
// checked in queued_more() again, so a timer looks once the period may have
// run out (Redis checks in its cron).
void arm_soft_timer(ReactorImpl& r, Conn& c, std::chrono::nanoseconds after) {
  if (c.soft_timer) return;  // one per connection, however often it crosses
  const std::uint64_t id = c.id;
  c.soft_timer = r.add_timer(after, {}, [&r, id] {
    Conn* cc = r.find(id);
    if (!cc) return;
    cc->soft_timer = 0;
    if (cc->has(kClosing) || cc->soft_since == std::chrono::steady_clock::time_point{}) return;
    const auto limit = cc->opts.limits.soft_seconds;
    const auto over = r.now - cc->soft_since;
    if (over >= limit) over_soft_limit(r, *cc);
    else arm_soft_timer(r, *cc, limit - over);  // it dipped and rose again since
  });
}

}  // namespace

// What waits behind the segment at the head of the queue (the one in flight,
// or next to go): what the output limits count, so that one frame as large
// as a limit still reaches a reader that keeps up.
static std::size_t waiting_bytes(Conn& c) noexcept { return c.out.empty() ? 0 : c.out.bytes() - c.out.at(0).len; }

bool ReactorImpl::enforce_output_limits(Conn& c) {
  const OutputLimits& lim = c.opts.limits;
  const std::size_t queued = waiting_bytes(c);
  if (lim.hard && queued > lim.hard) {
    ++stats.slow_disconnects;
    conn_close(c, CloseReason::output_limit,
               "output queue " + std::to_string(queued) + " bytes over hard limit " + std::to_string(lim.hard),
               true);
    return false;
  }
  if (lim.soft && queued > lim.soft) {
    if (c.soft_since == std::chrono::steady_clock::time_point{}) {
      c.soft_since = now;
      arm_soft_timer(*this, c, lim.soft_seconds);
    } else if (now - c.soft_since > lim.soft_seconds) {
      over_soft_limit(*this, c);
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- sending

void ReactorImpl::start_send(Conn& c) {
  constexpr std::size_t kMaxIov = 64;
  if (c.has(kSendActive) || c.out.empty() || c.fd < 0) return;
  if (!c.iov) c.iov = std::make_unique<iovec[]>(kMaxIov);
  std::size_t n = 0;
  for (; n < c.out.count() && n < kMaxIov; ++n) {
    const Segment& s = c.out.at(n);
    c.iov[n].iov_base = const_cast<std::uint8_t*>(s.data);
    c.iov[n].iov_len = s.len;
  }
  std::memset(&c.msg, 0, sizeof c.msg);
  c.msg.msg_iov = c.iov.get();
  c.msg.msg_iovlen = n;
  c.in_flight_segs = n;
  c.set(kSendActive);
  io_->send(c);
}

void ReactorImpl::on_room(Conn& c) {
  c.clear(kSendActive | kWantRoom | kCancelAsked);
  if (c.has(kAborted)) c.out.clear();
  // Send again; a wait that ended in an error shows it on that send.
  mark_dirty(c);
  if (c.has(kClosing)) maybe_finalize(c);
}

void ReactorImpl::on_send_done(Conn& c, int res) {
  c.clear(kSendActive);
  const bool cancelled = c.has(kCancelAsked);
  c.clear(kCancelAsked);
  if ((res == -EAGAIN || res == -EWOULDBLOCK) && !c.has(kAborted)) {
    // The socket is full (the reader is slow). Sending again at once would
    // spin: io_uring completes a send on a full non-blocking socket with
    // -EAGAIN rather than waiting. Wait for room instead.
    c.set(kSendActive | kWantRoom);
    io_->wait_room(c);
    return;
  }
  if (res < 0 && !c.has(kAborted) && (res == -EINTR || (res == -ECANCELED && cancelled))) {
    // Nothing went out. A send we cancelled to move pinned receive buffers
    // goes again after the unpin pass (it runs before the flush).
    mark_dirty(c);
    return;
  }
  if (res < 0) {
    c.out.clear();
    if (!c.has(kClosing)) {
      c.close_info.error = -res;
      conn_close(c, res == -EPIPE || res == -ECONNRESET ? CloseReason::peer_closed : CloseReason::io_error,
                 std::string("send: ") + strerror(-res), true);
    } else {
      maybe_finalize(c);
    }
    return;
  }
  const auto sent = static_cast<std::size_t>(res);
  stats.bytes_out += sent;
  c.out.consume(sent);
  if (c.has(kAborted)) c.out.clear();  // abort() dropped the rest
  if (waiting_bytes(c) <= c.opts.limits.soft) c.soft_since = {};
  if (!c.out.empty()) {
    mark_dirty(c);
  } else if (c.out.scratch && c.out.scratch->refs() == 1) {
    // Queue empty and no segment uses the scratch block: write from its
    // start again (warm cache), or let go of an oversized one.
    if (c.out.scratch->capacity() > kScratchBlock) c.out.scratch.reset();
    c.out.scratch_used = 0;
  }
  if (c.has(kAboveHigh) && c.out.bytes() < c.high_water / 2) {
    c.clear(kAboveHigh);
    if (!c.has(kClosing) && c.handler) c.handler->on_drain(c);
  }
  if (c.has(kClosing)) maybe_finalize(c);
}

}  // namespace hms
