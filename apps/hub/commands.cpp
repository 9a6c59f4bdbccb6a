// The client commands, on the control shard: one method each, behaving as
// the reference terminal (DESIGN.md section 4), texts byte for byte.
#include <algorithm>
#include <array>
#include <cstdlib>

#include "hms/log.hpp"
#include "hub_impl.hpp"
#include "placement.hpp"

namespace hms::hub {

namespace {

// What docks get before a start/stop/restart. The reference builds
// {start, build, env, tags, limit, docks} and JSON.stringify drops the
// absent members, so they go out in that order (to_json(Service) uses the
// registry's order, which puts env last).
std::string update_body(const Service& s) {
  std::string out;
  JsonWriter w(out);
  auto strings = [&w](const std::vector<std::string>& v) {
    w.begin_array();
    for (const auto& x : v) w.string(x);
    w.end_array();
  };
  w.begin_object();
  if (s.start) w.key("start").string(*s.start);
  if (s.build) w.key("build").string(*s.build);
  if (s.env) {
    w.key("env").begin_object();
    for (const auto& [k, v] : *s.env) w.key(k).string(v);
    w.end_object();
  }
  if (s.tags) {
    w.key("tags");
    strings(*s.tags);
  }
  if (s.limit) w.key("limit").number(*s.limit);
  else if (s.limit_raw) w.key("limit").raw(*s.limit_raw);
  if (s.docks) {
    w.key("docks");
    strings(*s.docks);
  }
  w.end_object();
  return out;
}

// Whether a JSON text is falsy in JavaScript once parsed (null, false, "",
// 0); an empty text (no reply body) counts as falsy too.
bool json_falsy(std::string_view t) {
  if (t.empty() || t == "null" || t == "false" || t == "\"\"") return true;
  if (t.front() == '-' || (t.front() >= '0' && t.front() <= '9')) return std::strtod(std::string(t).c_str(), nullptr) == 0;
  return false;
}

// As the reference's ps forEach: an array reply is spliced in, any other
// truthy value is one element, a falsy one is dropped.
std::string splice_ps(const std::vector<std::string>& parts) {
  std::string out = "[";
  bool first = true;
  for (const auto& part : parts) {
    const std::string_view t = trim_json_space(part);
    std::string_view item;
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']') item = trim_json_space(t.substr(1, t.size() - 2));
    else if (!json_falsy(t)) item = t;
    if (item.empty()) continue;
    if (!first) out += ',';
    first = false;
    out += item;
  }
  out += ']';
  return out;
}

std::string invalid_service(JsonError e) { return std::string("Invalid service: ") + to_string(e); }

}  // namespace

void HubImpl::answer(const ReplyTo& to, bool ok, std::string text) {
  auto reply = to.reply;
  run_on(*to.from, [reply, done = to.done, ok, text = std::move(text)] {
    if (done) done(ok, text);
    else if (ok) reply->ok(text);
    else reply->error(text);
  });
}

void HubImpl::handle(Request& req) {
  using Command = void (HubImpl::*)(Request&);
  static const std::array<Command, kOpcodeCount> table = [] {
    std::array<Command, kOpcodeCount> t{};
    auto at = [&t](Opcode op) -> Command& { return t[static_cast<std::size_t>(op)]; };
    at(Opcode::add) = &HubImpl::cmd_add;
    at(Opcode::update) = &HubImpl::cmd_update;
    at(Opcode::get) = &HubImpl::cmd_get;
    at(Opcode::list) = &HubImpl::cmd_list;
    at(Opcode::remove) = &HubImpl::cmd_remove;
    at(Opcode::start) = at(Opcode::stop) = at(Opcode::restart) = &HubImpl::cmd_status;
    at(Opcode::ps) = &HubImpl::cmd_ps;
    at(Opcode::sync) = &HubImpl::cmd_sync;
    at(Opcode::subscribe) = &HubImpl::cmd_subscribe;
    at(Opcode::unsubscribe) = &HubImpl::cmd_unsubscribe;
    return t;
  }();
  const auto i = static_cast<std::size_t>(req.op);
  if (i >= table.size() || !table[i]) return answer(req.to, false, std::string(kNotSupported));
  (this->*table[i])(req);
}

bool HubImpl::save(const std::string& id, const Service& opts, std::function<void(const std::string&)> done,
                   std::string* refused) {
  // xtend(stored || {id}, select(opts, keys)): only these keys are taken.
  Service s;
  if (const Service* cur = registry_->get(id)) s = *cur;
  s.id = id;
  if (opts.start) s.start = opts.start;
  if (opts.build) s.build = opts.build;
  if (opts.limit || opts.limit_raw) {
    s.limit = opts.limit;
    s.limit_raw = opts.limit_raw;
  }
  if (opts.docks) s.docks = opts.docks;
  if (opts.tags) s.tags = opts.tags;
  if (opts.revision) s.revision = opts.revision;
  if (opts.env) s.env = opts.env;
  // Merged records grow with every update: the limit holds for the result.
  if (s.env && s.env->size() > kMaxServiceEnv) {
    *refused = "Service env has too many variables (at most " + std::to_string(kMaxServiceEnv) + ")";
    return false;
  }
  if (to_json(s).size() > kMaxServiceBytes) {
    *refused = "Service is too large (at most " + std::to_string(kMaxServiceBytes) + " bytes)";
    return false;
  }
  registry_->put(s, std::move(done));
  services_.store(registry_->size(), std::memory_order_relaxed);
  return true;
}

std::string HubImpl::check_service(const Request& req, const Service* parsed) const {
  if (req.id.size() > kMaxServiceIdBytes)
    return "Service id is too long (at most " + std::to_string(kMaxServiceIdBytes) + " bytes)";
  if (req.payload.size() > kMaxServiceBytes)
    return "Service is too large (at most " + std::to_string(kMaxServiceBytes) + " bytes)";
  if (parsed && parsed->env && parsed->env->size() > kMaxServiceEnv)
    return "Service env has too many variables (at most " + std::to_string(kMaxServiceEnv) + ")";
  return {};
}

// ---------------------------------------------------------------- registry commands

void HubImpl::cmd_add(Request& req) {
  const std::string id(req.id);
  if (registry_->has(id)) return answer(req.to, false, std::string(kExists));
  if (!valid_service_name(id)) return answer(req.to, false, std::string(kBadName));
  if (std::string e = check_service(req, nullptr); !e.empty()) return answer(req.to, false, std::move(e));
  auto parsed = parse_service(control().parser, req.padded_payload());
  if (!parsed) return answer(req.to, false, invalid_service(parsed.error));
  if (std::string e = check_service(req, &*parsed.value); !e.empty()) return answer(req.to, false, std::move(e));
  Service opts = std::move(*parsed.value);
  // env = xtend(defaultEnv, opts.env)
  std::vector<std::pair<std::string, std::string>> env = opts_.default_env;
  if (opts.env) {
    for (auto& [k, v] : *opts.env) {
      auto it = std::find_if(env.begin(), env.end(), [&](auto& e) { return e.first == k; });
      if (it != env.end()) it->second = v;
      else env.emplace_back(k, v);
    }
  }
  opts.env = std::move(env);
  HMS_LOG(info, "[%s] adding new service", printable(id).c_str());
  std::string refused;
  if (!save(id, opts, [this, to = req.to](const std::string& e) { answer(to, e.empty(), e); }, &refused))
    answer(req.to, false, refused);
}

void HubImpl::cmd_update(Request& req) {
  const std::string id(req.id);
  if (!registry_->has(id)) return answer(req.to, false, std::string(kNotFound));
  if (std::string e = check_service(req, nullptr); !e.empty()) return answer(req.to, false, std::move(e));
  auto parsed = parse_service(control().parser, req.padded_payload());
  if (!parsed) return answer(req.to, false, invalid_service(parsed.error));
  if (std::string e = check_service(req, &*parsed.value); !e.empty()) return answer(req.to, false, std::move(e));
  const Service opts = std::move(*parsed.value);
  HMS_LOG(info, "[%s] updating service", printable(id).c_str());
  std::string refused;
  if (!save(id, opts, [this, to = req.to](const std::string& e) { answer(to, e.empty(), e); }, &refused))
    answer(req.to, false, refused);
}

void HubImpl::cmd_get(Request& req) {
  const Service* s = registry_->get(req.id);
  if (!s) return answer(req.to, false, std::string(kNotFound));
  answer(req.to, true, to_json(*s));
}

void HubImpl::cmd_list(Request& req) {
  std::string out = "[";
  bool first = true;
  for (const Service* s : registry_->list()) {
    if (!first) out += ',';
    first = false;
    out += to_json(*s);
  }
  out += ']';
  answer(req.to, true, std::move(out));
}

// ---------------------------------------------------------------- dock commands

void HubImpl::cmd_remove(Request& req) {
  const std::string id(req.id);
  HMS_LOG(info, "[%s] removing service", printable(id).c_str());
  for_each(
      routed_docks(req.route),
      [id](const DockInfo&) -> Issue { return [id](Peer& p, ReplyCallback cb) { p.remove(id, std::move(cb)); }; },
      [this, to = req.to, id](bool ok, std::string e, std::vector<std::string>) {
        if (!ok) return answer(to, false, std::move(e));
        registry_->del(id, [this, to](const std::string& err) { answer(to, err.empty(), err); });
        services_.store(registry_->size(), std::memory_order_relaxed);
      });
}

void HubImpl::cmd_status(Request& req) {
  const Opcode op = req.op;
  const std::string id(req.id);
  const Service* cur = registry_->get(id);
  if (!cur) return answer(req.to, false, std::string(kNotFound));
  Service s = *cur;
  s.stopped = op == Opcode::stop;
  const std::string body = update_body(s);
  HMS_LOG(info, "[%s] sending %s to docks", printable(id).c_str(), to_string(op));
  // The docks hear of it once the new state is on disk.
  registry_->put(s, [this, to = req.to, route = req.route, id, body, op](const std::string& err) {
    if (!err.empty()) return answer(to, false, err);
    for_each(
        routed_docks(route),
        [id, body, op](const DockInfo&) -> Issue {
          return [id, body, op](Peer& p, ReplyCallback cb) {
            std::weak_ptr<Peer> wp = p.weak_from_this();
            p.update(id, body, [wp, id, op, cb = std::move(cb)](const Result& r) mutable {
              auto sp = wp.lock();
              if (!r.ok() || !sp) return cb(r);
              sp->request(op, id, {}, std::move(cb));
            });
          };
        },
        [this, to](bool ok, std::string e, std::vector<std::string>) { answer(to, ok, std::move(e)); });
  });
}

void HubImpl::cmd_ps(Request& req) {
  gather(
      routed_docks(req.route),
      [](const DockInfo&) -> Issue { return [](Peer& p, ReplyCallback cb) { p.ps(std::move(cb)); }; },
      [this, to = req.to](Answers answers) {
        // Every dock is in the reply: its own entries, or one that says
        // why there are none (never its raw bytes when they are not a ps
        // list: one bad dock must not break the reply for everyone).
        std::vector<std::string> parts;
        for (auto& [dock, a] : answers) {
          if (a.ok() && !json_falsy(trim_json_space(a.text))) {
            if (parse_ps_copy(control().parser, a.text)) {
              parts.push_back(std::move(a.text));
              continue;
            }
            ++control().invalid_dock_answers;
            HMS_LOG(warn, "dock (%s) answered ps with something that is not a ps list", printable(dock->id).c_str());
            a.text = "Dock " + dock->id + " answered ps with something that is not a ps list";
          } else if (a.ok()) {
            continue;  // no processes: nothing to say (as the reference drops a falsy answer)
          }
          std::string entry;
          JsonWriter w(entry);
          w.begin_object().key("id").string(dock->id).key("error").string(a.text).key("list").begin_array().end_array();
          w.end_object();
          parts.push_back("[" + entry + "]");
        }
        answer(to, true, splice_ps(parts));
      });
}

void HubImpl::cmd_sync(Request& req) {
  auto parsed = parse_service_or_null(control().parser, req.padded_payload());
  if (!parsed) return answer(req.to, false, invalid_service(parsed.error));
  std::optional<Service> svc = std::move(*parsed.value);
  if (!svc) {
    const Service* cur = registry_->get(req.id);
    if (!cur) return answer(req.to, false, std::string(kNotFound));
    svc = *cur;
  }
  if (svc->id.empty()) svc->id = std::string(req.id);
  HMS_LOG(info, "[%s] syncing build to docks", printable(svc->id).c_str());
  place(req.to, std::move(*svc));
}

void HubImpl::place(const ReplyTo& to, Service service) {
  if (!service.deployed) return answer(to, true, {});  // never deployed: nothing to place
  std::vector<DockCandidate> candidates;
  for (const auto& d : docks_) candidates.push_back(DockCandidate{d->id, &d->tags, d->is_default});
  const std::vector<std::string> chosen = choose_docks(service, candidates, rng_);
  service.docks = chosen;
  std::string refused;
  // The docks hear of it once the placement is on disk (a copy: `service`
  // is read by save() itself).
  auto after = [this, to, placed = service, chosen](const std::string& err) mutable {
    if (!err.empty()) return answer(to, false, err);
    tell_docks(to, std::move(placed), chosen);
  };
  if (!save(service.id, service, std::move(after), &refused)) answer(to, false, refused);
}

void HubImpl::tell_docks(const ReplyTo& to, Service service, const std::vector<std::string>& chosen) {
  std::vector<std::shared_ptr<DockInfo>> selected, purged;
  for (const auto& id : chosen)
    for (const auto& d : docks_)
      if (d->id == id) {
        selected.push_back(d);
        break;
      }
  for (const auto& d : docks_)
    if (std::find(chosen.begin(), chosen.end(), d->id) == chosen.end()) purged.push_back(d);
  const std::string id = service.id;
  const std::string body = to_json(service);
  const bool stopped = service.stopped.value_or(false);

  auto purge = [this, to, id, purged](bool ok, std::string e, std::vector<std::string>) {
    if (!ok) return answer(to, false, std::move(e));
    for_each(
        purged,
        [id](const DockInfo&) -> Issue { return [id](Peer& p, ReplyCallback cb) { p.remove(id, std::move(cb)); }; },
        [this, to](bool ok2, std::string e2, std::vector<std::string>) { answer(to, ok2, std::move(e2)); });
  };
  for_each(
      selected,
      [id, body](const DockInfo&) -> Issue {
        return [id, body](Peer& p, ReplyCallback cb) { p.sync(id, body, std::move(cb)); };
      },
      [this, selected, id, stopped, purge](bool ok, std::string e, std::vector<std::string> r) {
        if (!ok || stopped) return purge(ok, std::move(e), std::move(r));
        for_each(
            selected,
            [id](const DockInfo&) -> Issue { return [id](Peer& p, ReplyCallback cb) { p.start(id, std::move(cb)); }; },
            purge);
      });
}

// ---------------------------------------------------------------- subscriptions

bool HubImpl::subscribe_key(std::uint64_t key, const std::string& id) {
  if (!registry_->has(id) && id != "*") return false;
  if (client_subs_[key].insert(id).second) {
    if (++sub_counts_[id] == 1) {
      HMS_LOG(info, "[%s] subscribing to service events and logs", printable(id).c_str());
      for (const auto& d : docks_) dock_subscription(d, id, true);
    }
  }
  return true;
}

void HubImpl::cmd_subscribe(Request& req) {
  const std::string id(req.id);
  if (!subscribe_key(req.key, id)) return answer(req.to, false, std::string(kNotFound));
  // The client's own shard records it, then answers.
  run_on(*req.to.from, [this, st = req.st, reply = req.to.reply, id] {
    if (st->peer) add_local(*st->shard, st.get(), id);
    reply->ok();
  });
}

void HubImpl::global_unsubscribe(const std::string& id) {
  auto it = sub_counts_.find(id);
  if (it == sub_counts_.end()) return;
  if (--it->second) return;
  sub_counts_.erase(it);
  HMS_LOG(info, "[%s] unsubscribing to service events and logs", printable(id).c_str());
  for (const auto& d : docks_) dock_subscription(d, id, false);
}

void HubImpl::cmd_unsubscribe(Request& req) {
  const std::string id(req.id);
  auto cs = client_subs_.find(req.key);
  if (cs != client_subs_.end() && cs->second.erase(id)) global_unsubscribe(id);
  run_on(*req.to.from, [this, st = req.st, reply = req.to.reply, id] {
    if (st->peer) remove_local(*st->shard, st.get(), id);
    reply->ok();
  });
}

void HubImpl::client_gone(std::uint64_t key) {
  auto cs = client_subs_.find(key);
  if (cs == client_subs_.end()) return;
  const auto ids = std::move(cs->second);
  client_subs_.erase(cs);
  for (const auto& id : ids) global_unsubscribe(id);
}

}  // namespace hms::hub
