// Log fan-out: a dock's stdout/stderr/spawn/exit frame goes to every client
// subscribed to its service or to '*', once each, as the same refcounted
// bytes it arrived in.
#include <algorithm>

#include "hub_impl.hpp"
#include "web_stream.hpp"

namespace hms::hub {

void HubImpl::publish(Shard& s, const FrameView& f, const BufRef& storage) {
  if (s.local_entries.load(std::memory_order_relaxed)) deliver(s, f, storage);
  if (!mesh_) return;
  for (auto& other : shards_) {
    if (other.get() == &s || !other->local_entries.load(std::memory_order_relaxed)) continue;
    // The other shard gets a reference to the same bytes, not a copy, in
    // its ring from us (drained in batches on its next pass). A shard that
    // cannot keep up has log frames dropped past the mesh's bound, counted
    // here: a dock is never slowed down by it.
    Envelope e;
    e.kind = static_cast<std::uint32_t>(Handoff::log_frame);
    e.ref = storage;
    e.data = f.body - kHeaderSize;
    e.len = static_cast<std::uint32_t>(kHeaderSize + f.header.length);
    if (!mesh_->send(s.index, other->index, e, /*droppable=*/true)) ++s.handoff_drops;
  }
}

void HubImpl::deliver(Shard& s, const FrameView& f, const BufRef& storage) {
  const MessageView& m = f.message;
  // The dock's frame is exactly what the reference would send the client
  // (one-way, id service@origin): relay the same bytes. Anything else (a
  // request-typed event, an id without '@') is re-encoded as the reference
  // re-encodes it.
  const bool as_is = f.header.type == FrameType::message && f.header.request_id == 0 && m.has_origin;
  std::string reencoded_id;
  if (!as_is) reencoded_id = std::string(m.service) + "@" + std::string(m.origin);
  web::EventText text;  // the frame as event-stream text, made once if a stream wants it
  auto send = [&](ConnState* c) {
    if (c->stream) return web_deliver(s, *c->stream, f, text);
    if (!c->peer) return;
    ++s.deliveries;
    if (as_is) c->peer->relay(f, storage);
    else c->peer->send_message(static_cast<Opcode>(m.opcode), reencoded_id, m.payload_text());
  };
  if (!s.subs.empty()) {  // skip hashing the id when only '*' is wanted
    auto it = s.subs.find(m.service);
    if (it != s.subs.end())
      for (ConnState* c : it->second)
        if (!c->globbing) send(c);  // '*' subscribers get it below, once
  }
  for (ConnState* c : s.star) send(c);
}

void HubImpl::add_local(Shard& s, ConnState* st, const std::string& id) {
  if (id == "*") {
    if (st->globbing) return;
    st->globbing = true;
    s.star.push_back(st);
  } else {
    if (!st->local_subs.insert(id).second) return;
    s.subs[id].push_back(st);
  }
  s.local_entries.fetch_add(1, std::memory_order_relaxed);
}

void HubImpl::remove_local(Shard& s, ConnState* st, const std::string& id) {
  auto drop = [st](std::vector<ConnState*>& v) {
    auto it = std::find(v.begin(), v.end(), st);
    if (it == v.end()) return false;
    *it = v.back();
    v.pop_back();
    return true;
  };
  bool removed = false;
  if (id == "*") {
    if (!st->globbing) return;
    st->globbing = false;
    removed = drop(s.star);
  } else {
    if (!st->local_subs.erase(id)) return;
    auto it = s.subs.find(id);
    if (it != s.subs.end()) {
      removed = drop(it->second);
      if (it->second.empty()) s.subs.erase(it);
    }
  }
  if (removed) s.local_entries.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace hms::hub
