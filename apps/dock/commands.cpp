#include "dock/commands.hpp"

#include "dock/outputs.hpp"
#include "dock/say.hpp"
#include "dock/services.hpp"
#include "dock/store.hpp"
#include "dock/supervisor.hpp"
#include "dock/sync.hpp"

namespace hms::dock {

namespace {

constexpr std::string_view kNotFound = "Service not found";

// Reply is move-only; std::function needs a copyable callable.
Done answer(Reply r) {
  auto held = std::make_shared<Reply>(std::move(r));
  return [held](bool ok, const std::string& error) {
    if (ok) held->ok();
    else held->error(error);
  };
}

}  // namespace

std::shared_ptr<HandlerTable> Commands::table(bool from_hub) {
  auto& t = from_hub ? hub_ : client_;
  if (!t) {
    t = std::make_shared<HandlerTable>();
    install(*t, from_hub);
  }
  return t;
}

void Commands::install(HandlerTable& t, bool hub) {
  Context& ctx = ctx_;
  Services& services = services_;
  Syncer& syncer = syncer_;

  t.set(Opcode::get, [&ctx, hub](Peer&, const Message& m, Reply r) {
    const Service* s = ctx.store.get(m.service);
    if (!s) return hub ? r.ok("null") : r.error(kNotFound);
    r.ok(to_json(*s));
  });

  t.set(Opcode::list, [&ctx](Peer&, const Message&, Reply r) {
    std::vector<Service> all;
    for (const Service* s : ctx.store.list()) all.push_back(*s);
    r.ok(to_json(all));
  });

  t.set(Opcode::ps, [&services](Peer&, const Message&, Reply r) { r.ok(services.ps_json()); });

  t.set(Opcode::sync, [&ctx, &syncer, hub](Peer&, const Message& m, Reply r) {
    if (!hub) return r.error("Cannot sync from a dock");
    auto parsed = parse_service_or_null_copy(ctx.parser, m.payload);
    if (!parsed) return r.error(std::string("Invalid service: ") + to_string(parsed.error));
    if (!*parsed.value) return r.error("Service must be passed");
    syncer.sync(std::string(m.service), std::move(**parsed.value), answer(std::move(r)));
  });

  t.set(Opcode::remove, [&ctx, hub](Peer&, const Message& m, Reply r) {
    if (!hub) return r.error("Cannot remove on a dock");
    const std::string id(m.service);
    say(id, "stopping and removing process");
    ctx.supervisor.remove(id, [&ctx, id, done = answer(std::move(r))] { ctx.store.del(id, done); });
  });

  t.set(Opcode::update, [&ctx, hub](Peer&, const Message& m, Reply r) {
    if (!hub) return r.error("Cannot update on a dock");
    const Service* cur = ctx.store.get(m.service);
    if (!cur) return r.ok();
    auto parsed = parse_service_copy(ctx.parser, m.payload);
    if (!parsed) return r.error(std::string("Invalid service: ") + to_string(parsed.error));
    say(m.service, "updating process");
    // xtend(old, select(opts, ['start', 'build', 'env', 'docks'])): tags
    // change only with the next sync, as in the reference.
    Service s = *cur;
    const Service& o = *parsed.value;
    if (o.start) s.start = o.start;
    if (o.build) s.build = o.build;
    if (o.env) s.env = o.env;
    if (o.docks) s.docks = o.docks;
    ctx.store.put(s, answer(std::move(r)));
  });

  for (Opcode op : {Opcode::start, Opcode::stop, Opcode::restart}) {
    t.set(op, [&ctx, &services, hub, op](Peer&, const Message& m, Reply r) {
      if (!ctx.store.has(m.service)) return hub ? r.ok() : r.error(kNotFound);
      services.status_change(std::string(m.service), op, answer(std::move(r)));
    });
  }

  t.set(Opcode::subscribe, [&ctx, hub](Peer& p, const Message& m, Reply r) {
    if (!hub && m.service != "*" && !ctx.store.has(m.service)) return r.error(kNotFound);
    ctx.outputs.subscribe(m.service, p);
    r.ok();
  });

  t.set(Opcode::unsubscribe, [&ctx](Peer& p, const Message& m, Reply r) {
    ctx.outputs.unsubscribe(m.service, p);
    r.ok();
  });
}

}  // namespace hms::dock
