// Connections on a shard: accepted, handshaken (dock or client), their
// commands handed to the control shard, and their end.
#include <algorithm>

#include "hms/log.hpp"
#include "hub_impl.hpp"

namespace hms::hub {

void HubImpl::setup_shard(Shard& s) {
  s.pre = std::make_shared<HandlerTable>();
  s.client = std::make_shared<HandlerTable>();
  s.dock = std::make_shared<HandlerTable>();
  s.pre->set(Opcode::handshake,
             [this, &s](Peer& p, const Message& m, Reply r) { on_handshake(s, p, m, std::move(r)); });
  // A second handshake gets what the reference's once('handshake') gives.
  for (Opcode op : {Opcode::add, Opcode::update, Opcode::remove, Opcode::get, Opcode::list, Opcode::sync,
                    Opcode::start, Opcode::stop, Opcode::restart, Opcode::ps, Opcode::subscribe,
                    Opcode::unsubscribe}) {
    s.client->set(op, [this, &s](Peer& p, const Message& m, Reply r) { on_client_request(s, p, m, std::move(r)); });
  }
  for (Opcode op : {Opcode::stdout_, Opcode::stderr_, Opcode::spawn, Opcode::exit}) {
    s.dock->set(op, [this, &s](Peer&, const Message& m, Reply) {
      ++s.log_frames;
      publish(s, *m.frame, *m.storage);
    });
  }
}

void HubImpl::on_accept(Shard& s, Connection& c) {
  auto peer = Peer::attach(c);
  peer->set_handlers(s.pre);
  auto st = std::make_shared<ConnState>();
  st->shard = &s;
  st->peer = peer.get();
  st->key = next_key_.fetch_add(1, std::memory_order_relaxed);
  peer->user = st;
  pending_connected_.fetch_add(1, std::memory_order_relaxed);
  st->accepted_at = s.reactor->now();
  st->slot = s.conns.size();
  s.conns.push_back(st.get());
  ConnState* raw = st.get();
  peer->on_close([this, raw](const CloseInfo& info) {
    HMS_LOG(debug, "connection %llu closed: %s", static_cast<unsigned long long>(raw->key), info.message.c_str());
    on_conn_close(*raw);
  });
}

void HubImpl::on_conn_close(ConnState& st) {
  Shard& s = *st.shard;
  // Out of the liveness list (swap with the last).
  s.conns[st.slot] = s.conns.back();
  s.conns[st.slot]->slot = st.slot;
  s.conns.pop_back();
  switch (st.kind) {
    case ConnState::Kind::pending:
    case ConnState::Kind::failed:
      pending_connected_.fetch_sub(1, std::memory_order_relaxed);
      break;
    case ConnState::Kind::client: {
      clients_connected_.fetch_sub(1, std::memory_order_relaxed);
      const std::vector<std::string> ids(st.local_subs.begin(), st.local_subs.end());
      for (const auto& id : ids) remove_local(s, &st, id);
      if (st.globbing) remove_local(s, &st, "*");
      const std::uint64_t key = st.key;
      to_control([this, key] { client_gone(key); });
      break;
    }
    case ConnState::Kind::stream:
      break;  // never here: an event stream ends in web_api.cpp
    case ConnState::Kind::dock: {
      docks_connected_.fetch_sub(1, std::memory_order_relaxed);
      auto d = st.dock;
      HMS_LOG(info, "connection to dock (%s) dropped", printable(d->id).c_str());
      to_control([this, d] {
        auto it = std::find(docks_.begin(), docks_.end(), d);
        if (it != docks_.end()) docks_.erase(it);
      });
      break;
    }
  }
  st.peer = nullptr;
}

namespace {

std::string terminal_handshake_reply() {
  std::string reply;
  JsonWriter w(reply);
  w.begin_object().key("type").string("terminal").key("version").string(kHubVersion).end_object();
  return reply;
}

}  // namespace

void HubImpl::on_handshake(Shard& s, Peer& p, const Message& m, Reply r) {
  auto* st = static_cast<ConnState*>(p.user.get());
  if (st->kind != ConnState::Kind::pending) {
    r.error(kNotSupported);
    return;
  }
  auto fail = [&](std::string_view why, bool close) {
    st->kind = ConnState::Kind::failed;
    handshake_errors_.fetch_add(1, std::memory_order_relaxed);
    HMS_LOG(info, "%s: handshake refused: %s", p.connection() ? p.connection()->peer_name().c_str() : "?",
            printable(why).c_str());
    r.error(why);
    if (close) p.close();
  };
  // The payload lives in a receive buffer with padding behind it.
  Parsed<Handshake> hs;
  if (trim_json_space(m.payload) == "null")
    hs = parse_handshake_copy(s.parser, "{}");
  else
    hs = parse_handshake(s.parser, PaddedText{m.payload.data(), m.payload.size()});
  if (!hs) {
    // The reference reads `protocol` from whatever JSON.parse gave, so a
    // non-object handshake gets the protocol error; bad JSON would throw
    // there, and a known member of the wrong type is our stricter parse.
    // All answer the protocol error (as hms/control.hpp documents).
    HMS_LOG(info, "handshake is not usable JSON: %s at byte %zu", to_string(hs.error), hs.error_offset);
    fail(kBadProtocol, false);
    return;
  }
  const Handshake& h = *hs.value;
  if (!h.protocol || *h.protocol != 1) return fail(kBadProtocol, false);
  if (opts_.token && !(h.token && constant_time_equal(*h.token, *opts_.token))) return fail(kBadToken, true);
  // Known now: frames up to the hub's limit, and the ping schedule starts.
  if (Connection* c = p.connection()) c->set_max_body(opts_.max_frame);
  st->next_ping = s.reactor->now() + opts_.ping_interval;
  if (h.type == "dock") {
    auto d = std::make_shared<DockInfo>();
    d->id = h.id;
    d->hostname = h.hostname;
    d->version = h.version;
    d->tags = h.tags;
    d->is_default = h.is_default;
    d->shard = &s;
    d->peer = p.weak_from_this();
    if (Connection* c = p.connection()) d->address = c->peer_name();
    d->since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    st->kind = ConnState::Kind::dock;
    st->dock = d;
    pending_connected_.fetch_sub(1, std::memory_order_relaxed);
    docks_connected_.fetch_add(1, std::memory_order_relaxed);
    p.set_handlers(s.dock);
    HMS_LOG(info, "connection to dock (%s) established", printable(d->id).c_str());
    // The dock hears "ok" only once the control shard knows it, as with the
    // single-threaded reference: a command sent after the handshake (from
    // any shard) finds the dock.
    to_control([this, d, &s, reply = std::make_shared<Reply>(std::move(r))] {
      docks_.push_back(d);
      run_on(s, [reply] { reply->ok(terminal_handshake_reply()); });
      // Then (in the same ring, so after the reply) it hears about every id
      // somebody already listens to.
      for (const auto& [id, n] : sub_counts_) dock_subscription(d, id, true);
    });
    return;
  }
  if (h.type == "client") {
    st->kind = ConnState::Kind::client;
    st->route = h.route;
    pending_connected_.fetch_sub(1, std::memory_order_relaxed);
    clients_connected_.fetch_add(1, std::memory_order_relaxed);
    p.set_handlers(s.client);
    r.ok(terminal_handshake_reply());
    return;
  }
  fail(kBadHandshake, false);
}

// Every connection of the shard, a few times a second: a connection that
// has not handshaken in time goes; a peer that does not answer a ping in
// time goes (a dock that is gone, stopped or half-open), as the reference
// does. Both are counted; the ping shares the peer's request ids.
void HubImpl::sweep(Shard& s) {
  const auto now = s.reactor->now();
  // A close here only marks the connection: on_close (which edits
  // s.conns) runs later in the loop pass, not during this walk.
  for (ConnState* st : s.conns) {
    if (!st->peer || st->peer->closed()) continue;
    Connection* c = st->peer->connection();
    if (!c || c->closing()) continue;
    if (st->kind == ConnState::Kind::pending || st->kind == ConnState::Kind::failed) {
      if (now - st->accepted_at >= opts_.handshake_timeout) {
        ++s.handshake_timeouts;
        HMS_LOG(info, "%s: no handshake within %lld ms; closing", c->peer_name().c_str(),
                static_cast<long long>(opts_.handshake_timeout.count()));
        c->abort(CloseReason::local, "handshake timeout");
      }
      continue;
    }
    if (st->ping_out) {
      if (now - st->ping_sent >= opts_.ping_timeout) {
        ++s.ping_timeouts;
        HMS_LOG(info, "%s: %s%s%s did not answer a ping within %lld ms; dropping it", c->peer_name().c_str(),
                st->kind == ConnState::Kind::dock ? "dock (" : "client",
                st->kind == ConnState::Kind::dock ? printable(st->dock->id).c_str() : "",
                st->kind == ConnState::Kind::dock ? ")" : "", static_cast<long long>(opts_.ping_timeout.count()));
        c->abort(CloseReason::local, "ping timeout");
      }
      continue;
    }
    if (now < st->next_ping) continue;
    st->ping_out = true;
    st->ping_sent = now;
    st->peer->ping([this, st, &s](const Result& r) {
      if (r.status == Result::Status::closed) return;
      st->ping_out = false;
      st->next_ping = s.reactor->now() + opts_.ping_interval;
    });
  }
}

void HubImpl::on_client_request(Shard& s, Peer& p, const Message& m, Reply r) {
  auto req = std::make_unique<Request>();
  auto st = std::static_pointer_cast<ConnState>(p.user);
  req->op = static_cast<Opcode>(m.opcode);
  req->storage = *m.storage;
  req->id = m.service;
  req->payload = m.payload;
  req->to = ReplyTo{std::make_shared<Reply>(std::move(r)), &s, {}};
  req->route = st->route;
  req->key = st->key;
  req->st = std::move(st);
  if (&s == &control() || !mesh_) {
    handle(*req);
    return;
  }
  Envelope e;
  e.kind = static_cast<std::uint32_t>(Handoff::request);
  e.ptr = req.release();
  mesh_->send(s.index, control().index, e);
}

}  // namespace hms::hub
