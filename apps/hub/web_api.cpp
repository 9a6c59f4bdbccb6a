// The page's API behind the routes (web_routes.cpp), on the control shard:
// the same command paths as protocol clients (handle(): list, ps, start,
// stop, restart), the dock list, and event streams subscribed like a
// client.
//
// ### Answers
// 200 with the command's JSON (list, ps: exactly what a protocol client
// gets; start/stop/restart: {"ok":true}); 404 {"error":"Service not found"};
// 502 {"error":"<the first error>"} when a dock (or the registry) failed the
// command, with that error's text.
#include "hms/log.hpp"
#include "hub_impl.hpp"
#include "web_http.hpp"
#include "web_stream.hpp"

namespace hms::hub {

void HubImpl::web_command(Shard& s, Opcode op, std::string id, WebAnswer to) {
  to_control([this, &s, op, id = std::move(id), to = std::move(to)] {
    // The request lives for this call: commands keep what they need.
    Request req;
    req.op = op;
    req.id = id;
    req.to.from = &s;
    req.to.done = [op, to](bool ok, std::string text) {
      if (!ok) return to(text == kNotFound ? 404 : 502, web::json_error(0, text).body);
      if (op == Opcode::list || op == Opcode::ps) return to(200, text.empty() ? "[]" : std::move(text));
      to(200, "{\"ok\":true}");
    };
    handle(req);
  });
}

void HubImpl::web_docks(Shard& s, WebAnswer to) {
  to_control([this, &s, to = std::move(to)] {
    std::string out;
    JsonWriter w(out);
    w.begin_array();
    for (const auto& d : docks_) {
      w.begin_object();
      w.key("id").string(d->id).key("hostname").string(d->hostname).key("version").string(d->version);
      w.key("tags").begin_array();
      for (const auto& t : d->tags) w.string(t);
      w.end_array();
      w.key("default").boolean(d->is_default).key("address").string(d->address);
      w.key("since").integer(d->since_ms);
      w.end_object();
    }
    w.end_array();
    run_on(s, [to, out = std::move(out)]() mutable { to(200, std::move(out)); });
  });
}

void HubImpl::web_open_stream(Shard& s, Connection& c, std::string id) {
  // A subscriber of this shard's fan-out tables, counted by the control
  // shard under its own key, exactly as a protocol client's subscribe.
  auto st = std::make_shared<ConnState>();
  st->shard = &s;
  st->kind = ConnState::Kind::stream;
  st->key = next_key_.fetch_add(1, std::memory_order_relaxed);
  st->stream = &c;
  streams_connected_.fetch_add(1, std::memory_order_relaxed);
  auto* es = new web::EventStream(*s.reactor, c, [this, &s, st, id] {
    // The connection is gone: out of the tables (a no-op if it never got
    // in), and the control shard forgets the subscription (queued behind
    // the subscribe below, if that has not run yet).
    st->stream = nullptr;
    streams_connected_.fetch_sub(1, std::memory_order_relaxed);
    remove_local(s, st.get(), id);
    to_control([this, key = st->key] { client_gone(key); });
  });
  to_control([this, &s, st, es, id] {
    const bool ok = subscribe_key(st->key, id);
    run_on(s, [this, &s, st, es, id, ok] {
      Connection* conn = st->stream;
      if (!conn) return;  // closed meanwhile: `es` is gone too
      if (!ok) {
        const std::string text = web::render(web::json_error(404, kNotFound), false);
        conn->send_copy(text.data(), text.size());
        conn->close();
        return;
      }
      // The head goes out before any event: both happen on this thread,
      // and the stream is in the tables only from here on.
      if (es->start()) add_local(s, st.get(), id);
      HMS_LOG(debug, "page: event stream %s for [%s]", conn->peer_name().c_str(), printable(id).c_str());
    });
  });
}

}  // namespace hms::hub
