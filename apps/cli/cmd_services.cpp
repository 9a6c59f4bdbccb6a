// add, update, remove (the reference's commands/{add,update,remove}.js).
#include <charconv>

#include "commands.hpp"
#include "service_fields.hpp"
#include "spinner.hpp"
#include "text.hpp"

namespace hms::cli {

namespace {

constexpr const char* kAddHelp = "You need to specify the following properties\n--start [start-script]";
constexpr const char* kUpdateHelp =
    "You need to specify one (or more) of the following\n"
    "--start [start-script]\n"
    "--build [build-script]\n"
    "--tag   [add-a-tag]\n"
    "--untag [remove-a-tag]\n"
    "--env   [NAME=var,NAME2=var2]";

// --limit N: a whole number (the hub places by it only when it is one).
Outcome<double> limit_of(const std::string& text) {
  unsigned long v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || v > (1ul << 53))
    return Failure{"--limit needs a whole number, not '" + text + "'"};
  return static_cast<double>(v);
}

// The add/update (the reference's updateable.js) fields, resolved: env
// merged over `current.env` or edited, start/build edited when asked.
// Returns an error text, or "" with `payload` filled.
std::string fill_fields(const Context& cx, const std::string& id, const JsValue& current, JsValue& payload) {
  const Args& a = cx.args;
  if (a.env_editor) {
    const JsValue* env = current.get("env");
    auto edited = edit_text(stringify_env(env ? *env : JsValue()), id + "-env");
    if (!edited) return edited.error();
    payload.set("env", parse_env(edited.value()));
  } else if (!a.env.empty()) {
    const JsValue* env = current.get("env");
    JsValue merged = env ? *env : JsValue::object();
    for (const auto& text : a.env) merged = merge_objects(merged, parse_env(text));
    payload.set("env", std::move(merged));
  } else if (a.no_env) {
    payload.set("env", JsValue::boolean(false));
  }
  for (const char* field : {"start", "build"}) {
    const bool is_start = field[0] == 's';
    const std::optional<std::string>& v = is_start ? a.start : a.build;
    const bool cleared = is_start ? a.no_start : a.no_build;
    if (v && *v == kAskEditor) {
      const JsValue* cur = current.get(field);
      auto edited = edit_text(cur && cur->truthy() ? cur->to_js_string() : std::string(),
                              id + "-" + field + ".sh");
      if (!edited) return edited.error();
      payload.set(field, JsValue::string(std::string(js_trim(edited.value()))));
    } else if (v) {
      payload.set(field, JsValue::string(*v));
    } else if (cleared) {
      payload.set(field, JsValue::boolean(false));
    }
  }
  return {};
}

}  // namespace

int cmd_add(Context& cx) {
  const Args& a = cx.args;
  if (!a.pos.empty()) {
    // The reference forgets the remote's cached service ids here.
    cx.config.drop_ids_cache(a.pos[0]);
    if (cx.config.entry(a.pos[0])) (void)cx.config.save();
  }
  auto remote = remote_arg(cx);
  if (!remote) return cx.term.fail(remote.error());
  const std::string id = service_arg(cx);
  if (id.empty()) return cx.term.fail("Service name required");
  if ((!a.start || a.start->empty()) && !a.no_start) return cx.term.fail(kAddHelp);
  JsValue payload = JsValue::object();
  if (a.limit) {
    auto n = limit_of(*a.limit);
    if (!n) return cx.term.fail(n.error());
    payload.set("limit", JsValue::number(n.value()));
  }

  Spinner spin(cx.term, "Adding " + id);
  if (std::string err = fill_fields(cx, id, JsValue::object(), payload); !err.empty()) return spin.fail(err);
  JsValue tags = JsValue::array();
  for (const auto& t : a.tags) tags.push(JsValue::string(t));
  payload.set("tags", std::move(tags));

  auto link = connect(cx, remote.value());
  if (!link) return spin.fail(link.error());
  const Reply r = link.value()->call(Opcode::add, id, payload.stringify(), &spin);
  return spin.finish(r.ok, r.text);
}

int cmd_update(Context& cx) {
  const Args& a = cx.args;
  auto remote = remote_arg(cx);
  if (!remote) return cx.term.fail(remote.error());
  const std::string id = service_arg(cx);
  if (id.empty()) return cx.term.fail("Service name required");
  const bool any = !a.env.empty() || a.env_editor || a.no_env || !a.tags.empty() || !a.untags.empty() || a.start ||
                   a.no_start || a.limit || a.no_limit || a.build || a.no_build;
  if (!a.force && !any) return cx.term.fail(kUpdateHelp);
  JsValue payload = JsValue::object();
  if (a.limit) {
    auto n = limit_of(*a.limit);
    if (!n) return cx.term.fail(n.error());
    payload.set("limit", JsValue::number(n.value()));
  } else if (a.no_limit) {
    payload.set("limit", JsValue::boolean(false));
  }

  Spinner spin(cx.term, "Updating " + id);
  auto link = connect(cx, remote.value());
  if (!link) return spin.fail(link.error());
  Link& l = *link.value();

  // Fields that depend on the current service need it first (a truthy
  // start/build/env or a tag change, as the reference decides).
  const bool needs_current = (!a.env.empty() || a.env_editor) || !a.tags.empty() || !a.untags.empty() ||
                             (a.start && !a.start->empty()) || (a.build && !a.build->empty());
  JsValue current = JsValue::object();
  if (needs_current) {
    const Reply got = l.call(Opcode::get, id, {}, &spin);
    if (!got.ok) return spin.fail(got.text);
    JsParse p = parse_json(got.text);
    if (p.ok() && p.value.is_object()) current = std::move(p.value);
    // New tags: the current ones and --tag, minus --untag, each once, in
    // JavaScript key order (they were an object's keys).
    JsValue seen = JsValue::object();
    const auto add_tag = [&](const std::string& t) {
      for (const auto& u : a.untags)
        if (u == t) return;
      seen.set(t, JsValue::number(1));
    };
    if (const JsValue* cur = current.get("tags")) {
      if (cur->is_array()) {
        for (const auto& t : cur->items()) add_tag(t.to_js_string());
      } else if (cur->truthy()) {
        add_tag(cur->to_js_string());
      }
    }
    for (const auto& t : a.tags) add_tag(t);
    JsValue tags = JsValue::array();
    for (const auto& [t, one] : seen.members()) tags.push(JsValue::string(t));
    payload.set("tags", std::move(tags));
  }
  if (std::string err = fill_fields(cx, id, current, payload); !err.empty()) return spin.fail(err);

  const Reply r = l.call(Opcode::update, id, payload.stringify(), &spin);
  if (spin.finish(r.ok, r.text)) return 1;
  if (!a.restart) return 0;
  Spinner again(cx.term, "Restarting " + id);
  const Reply rr = l.call(Opcode::restart, id, {}, &again);
  if (again.finish(rr.ok, rr.text)) return 1;
  if (a.no_log) return 0;
  // The reference prints the header and ends here (it never subscribes);
  // scripts rely on update returning, so it still does.
  cx.term.line("\nForwarding " + id + " output\n");
  return 0;
}

int cmd_remove(Context& cx) {
  const Args& a = cx.args;
  if (!a.pos.empty()) {
    cx.config.drop_ids_cache(a.pos[0]);
    if (cx.config.entry(a.pos[0])) (void)cx.config.save();
  }
  auto remote = remote_arg(cx);
  if (!remote) return cx.term.fail(remote.error());
  const std::string id = service_arg(cx);
  if (id.empty()) return cx.term.fail("Service name required");
  Spinner spin(cx.term, "Removing " + id);
  auto link = connect(cx, remote.value());
  if (!link) return spin.fail(link.error());
  const Reply r = link.value()->call(Opcode::remove, id, {}, &spin);
  return spin.finish(r.ok, r.text);
}

}  // namespace hms::cli
