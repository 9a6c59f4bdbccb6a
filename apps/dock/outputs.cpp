#include "dock/outputs.hpp"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "dock/say.hpp"
#include "hms/connection.hpp"
#include "hms/log.hpp"
#include "hms/peer.hpp"
#include "hms/reactor.hpp"

namespace hms::dock {

// One pipe of one child: its reads become frames.
class Outputs::PipeReader final : public ConnectionHandler {
 public:
  PipeReader(Outputs& o, std::string svc, Opcode opcode, OutputCounters& c)
      : outputs(o), service(std::move(svc)), op(opcode), counters(c) {}

  void on_frame(Connection&, const FrameView&, const BufRef&) override {}  // pipes carry no frames
  void on_bytes(Connection&, const std::uint8_t* data, std::size_t len, const BufRef& storage) override {
    outputs.send_output(*this, data, len, storage);
  }
  void on_close(Connection&, const CloseInfo&) override { outputs.reader_closed(this); }

  Outputs& outputs;
  const std::string service;
  const Opcode op;
  OutputCounters& counters;
  Targets cache;
};

Outputs::Outputs(Reactor& reactor, std::string origin, std::size_t queue_bound, std::uint32_t min_free_buffers)
    : reactor_(reactor), origin_(std::move(origin)), queue_bound_(queue_bound), min_free_buffers_(min_free_buffers) {
  // Read moderation (see the header): once per loop pass, after the reads.
  reactor_.add_before_flush([this] {
    if (pass_reads_ && pass_bytes_ < kSmallPass) std::this_thread::sleep_for(kReadModeration);
    pass_reads_ = 0;
    pass_bytes_ = 0;
  });
}

Outputs::~Outputs() = default;

// ---------------------------------------------------------------- subscriptions

void Outputs::subscribe(std::string_view id, Peer& p) {
  auto& list = subs_[std::string(id)];
  if (std::find(list.begin(), list.end(), &p) != list.end()) return;
  list.push_back(&p);
  if (id == "*") globbing_.insert(&p);
  ++gen_;
  if (list.size() == 1) say(id, "forwarding events and output");
}

void Outputs::unsubscribe(std::string_view id, Peer& p) {
  auto it = subs_.find(std::string(id));
  if (it == subs_.end()) return;
  auto& list = it->second;
  auto at = std::find(list.begin(), list.end(), &p);
  if (at == list.end()) return;
  list.erase(at);
  if (id == "*") globbing_.erase(&p);
  ++gen_;
  if (list.empty()) {
    subs_.erase(it);
    // (sic) the reference's wording
    say(id, "unforwarding event and output");
  }
}

void Outputs::clear(Peer& p) {
  batches_.erase(&p);  // its connection is gone: nothing held can be sent
  std::vector<std::string> ids;
  for (const auto& [id, list] : subs_)
    if (std::find(list.begin(), list.end(), &p) != list.end()) ids.push_back(id);
  for (const auto& id : ids) unsubscribe(id, p);
}

bool Outputs::has_subscribers(std::string_view service) const {
  return subs_.count(std::string(service)) || subs_.count("*");
}

const std::vector<Peer*>& Outputs::targets(const std::string& service, Targets& cache) {
  if (cache.gen == gen_) return cache.peers;
  cache.peers.clear();
  cache.gen = gen_;
  // First the subscribers of the id that do not also hold '*', then the
  // '*' subscribers: each gets an event once (subscriptions.js publish).
  if (auto it = subs_.find(service); it != subs_.end())
    for (Peer* p : it->second)
      if (!globbing_.count(p)) cache.peers.push_back(p);
  if (auto it = subs_.find("*"); it != subs_.end())
    for (Peer* p : it->second) cache.peers.push_back(p);
  return cache.peers;
}

// ---------------------------------------------------------------- output

OutputCounters& Outputs::counters_for(const std::string& service) { return counters_[service]; }

void Outputs::adopt(const std::string& service, int out_fd, int err_fd) {
  OutputCounters& c = counters_for(service);
  for (auto [fd, op] : {std::pair{out_fd, Opcode::stdout_}, std::pair{err_fd, Opcode::stderr_}}) {
    if (fd < 0) continue;
    auto r = std::make_unique<PipeReader>(*this, service, op, c);
    PipeReader* raw = r.get();
    readers_.emplace(raw, std::move(r));
    try {
      reactor_.adopt_stream(fd, raw);  // closes fd itself if it throws
      ++totals_.open_pipes;
    } catch (const std::exception& e) {
      HMS_LOG(error, "[%s] cannot read the process's output: %s", service.c_str(), e.what());
      readers_.erase(raw);
    }
  }
}

void Outputs::reader_closed(PipeReader* r) {
  --totals_.open_pipes;
  readers_.erase(r);  // deletes r: the engine does not touch it after on_close
}

void Outputs::send_output(PipeReader& r, const std::uint8_t* data, std::size_t len, const BufRef& storage) {
  OutputCounters& c = r.counters;
  ++pass_reads_;
  pass_bytes_ += len;
  c.bytes_read += len;
  totals_.bytes_read += len;
  const std::vector<Peer*>& peers = targets(r.service, r.cache);
  if (peers.empty()) return;  // nobody listens: drained and dropped, no frame built
  const std::size_t idlen = r.service.size() + 1 + origin_.size();
  const std::size_t head = message_head_size(idlen);
  // Frames queued by reference pin receive buffers: past this point the
  // engine would copy them, and a slow reader would starve every pipe.
  const bool pool_short = reactor_.free_recv_buffers() < min_free_buffers_;
  bool dropped = false, sent = false;
  for (Peer* p : peers) {
    Connection* conn = p->connection();
    if (!conn || conn->closing() || idlen > 0xffff) continue;
    FrameBatch& batch = batches_[p];
    if (pool_short || conn->queued_bytes() + batch.bytes() + head + len > queue_bound_) {
      c.dropped_bytes += len;
      ++c.dropped_frames;
      totals_.dropped_bytes += len;
      ++totals_.dropped_frames;
      c.episode_dropped += len;
      dropped = true;
      continue;
    }
    batch.add(r.op, r.service, origin_, storage, data, len);
    sent = true;
    ++c.frames_sent;
    ++totals_.frames_sent;
    totals_.payload_bytes_sent += len;
    if (batch.bytes() >= kBatchBytes) {
      flush_batch(p);
    } else if (!batch_timer_) {
      batch_timer_ = reactor_.add_timer(kBatchDelay, [this] {
        batch_timer_ = 0;
        flush_all_batches();
      });
    }
  }
  // One line when dropping starts and one when every subscriber takes
  // output again: a log line per read would be a flood of its own.
  if (dropped && !c.dropping) {
    c.dropping = true;
    say(r.service, pool_short ? "output is not read fast enough (receive buffers short): dropping output"
                              : "output is not read fast enough (queue full): dropping output");
  } else if (!dropped && sent && c.dropping) {
    c.dropping = false;
    say(r.service, "output flows again; dropped " + std::to_string(c.episode_dropped) + " bytes");
    c.episode_dropped = 0;
  }
}

void Outputs::flush_batch(Peer* p) {
  auto it = batches_.find(p);
  if (it == batches_.end() || it->second.empty()) return;
  Connection* conn = p->connection();
  if (!conn || conn->closing()) {
    it->second.clear();
    return;
  }
  totals_.copied_bytes += it->second.flush(*conn, reactor_.stats()).copied;
}

void Outputs::flush_all_batches() {
  for (auto& [p, batch] : batches_)
    if (!batch.empty()) flush_batch(p);
}

// ---------------------------------------------------------------- events

void Outputs::send_event(const std::string& service, Opcode op, std::string_view payload) {
  Targets fresh;
  const std::size_t idlen = service.size() + 1 + origin_.size();
  if (idlen > 0xffff) return;
  for (Peer* p : targets(service, fresh)) {
    // What is held for this subscriber goes first: events keep their place.
    flush_batch(p);
    Connection* conn = p->connection();
    if (!conn || conn->closing()) continue;
    // Events are a few bytes: copied into the frame, never dropped.
    const std::size_t head = message_head_size(idlen);
    std::uint8_t* h = conn->reserve(head + payload.size());
    if (encode_event_head(h, op, service, origin_, payload.size()) != head) continue;
    std::copy(payload.begin(), payload.end(), h + head);
    conn->commit(head + payload.size(), 1);
  }
}

void Outputs::spawn(const std::string& service, std::optional<pid_t> pid) {
  send_event(service, Opcode::spawn, pid ? std::to_string(*pid) : std::string("null"));
}

void Outputs::exit(const std::string& service, std::optional<int> code) {
  send_event(service, Opcode::exit, code ? std::to_string(*code) : std::string("null"));
}

// ---------------------------------------------------------------- counters

const OutputCounters* Outputs::counters(std::string_view service) const {
  auto it = counters_.find(std::string(service));
  return it == counters_.end() ? nullptr : &it->second;
}

OutputTotals Outputs::totals() const {
  OutputTotals t = totals_;
  t.copied_frames = reactor_.stats().pinned_copies;
  return t;
}

}  // namespace hms::dock
