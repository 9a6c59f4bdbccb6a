// list and ps (the reference's commands/list.js and ps.js): trees of what
// the hub and the docks report, whatever shape it has.
#include <algorithm>

#include "commands.hpp"
#include "text.hpp"
#include "tree.hpp"

namespace hms::cli {

namespace {

const JsValue kUndefined;

const JsValue& member(const JsValue& obj, std::string_view key) {
  const JsValue* v = obj.is_object() ? obj.get(key) : nullptr;
  return v ? *v : kUndefined;
}

// [].concat(x): an array's items, or x itself.
std::vector<JsValue> concat(JsValue v) {
  if (v.is_array()) return std::move(v.items());
  return {std::move(v)};
}

void sort_by_id(std::vector<JsValue>& items) {
  std::stable_sort(items.begin(), items.end(), [](const JsValue& a, const JsValue& b) {
    return locale_compare(member(a, "id").to_js_string(), member(b, "id").to_js_string()) < 0;
  });
}

// command.join(' '): null and undefined items are empty.
std::string join(const JsValue& v, std::string_view sep) {
  if (!v.is_array()) return v.to_js_string();
  std::string out;
  for (std::size_t i = 0; i < v.items().size(); ++i) {
    if (i) out += sep;
    const JsValue& item = v.items()[i];
    if (!item.is_null() && !item.is_undefined()) out += item.to_js_string();
  }
  return out;
}

}  // namespace

int cmd_list(Context& cx) {
  auto remote = remote_arg(cx);
  if (!remote) return cx.term.fail(remote.error());
  const std::string id = service_arg(cx);
  auto link = connect(cx, remote.value());
  if (!link) return cx.term.fail(link.error());
  const Reply r = id.empty() ? link.value()->call(Opcode::list, {}, {}) : link.value()->call(Opcode::get, id, {});
  if (!r.ok) return cx.term.fail(r.text);
  JsParse p = parse_json(r.text);
  if (!p.ok()) return cx.term.fail("Invalid reply from the remote: " + p.error);

  std::vector<JsValue> services = concat(std::move(p.value));
  if (services.empty()) {
    cx.term.line(cx.term.paint(Color::grey, "(empty)"));
    return 0;
  }
  sort_by_id(services);
  std::string out;
  for (const JsValue& s : services) {
    JsValue leaf = JsValue::object();
    for (const char* key : {"start", "build", "revision"}) {
      if (member(s, key).truthy()) leaf.set(key, member(s, key));
    }
    if (member(s, "limit").is_number()) leaf.set("limit", member(s, "limit"));
    if (member(s, "tags").truthy()) leaf.set("tags", member(s, "tags"));
    if (member(s, "env").truthy()) leaf.set("env", member(s, "env"));
    TreeSpec spec;
    spec.label = tree_label(member(s, "id"));
    spec.leaf = &leaf;
    out += render_tree(cx.term, spec);
  }
  cx.term.out(out);
  return 0;
}

int cmd_ps(Context& cx) {
  auto remote = remote_arg(cx);
  if (!remote) return cx.term.fail(remote.error());
  const std::string id = service_arg(cx);
  auto link = connect(cx, remote.value());
  if (!link) return cx.term.fail(link.error());
  const Reply r = link.value()->call(Opcode::ps, {}, {});
  if (!r.ok) return cx.term.fail(r.text);
  JsParse p = parse_json(r.text);
  if (!p.ok()) return cx.term.fail("Invalid reply from the remote: " + p.error);

  const double now = now_ms();
  std::string out;
  for (const JsValue& dock : concat(std::move(p.value))) {
    std::vector<JsValue> procs;
    if (member(dock, "list").is_array()) procs = member(dock, "list").items();
    sort_by_id(procs);
    // The leaves must outlive the specs that point at them.
    std::vector<JsValue> leaves;
    leaves.reserve(procs.size());
    TreeSpec spec;
    spec.label = tree_label(member(dock, "id"));
    for (const JsValue& proc : procs) {
      if (!id.empty() && !(member(proc, "id").is_string() && member(proc, "id").as_string() == id)) continue;
      JsValue leaf = JsValue::object();
      leaf.set("status", member(proc, "status"));
      leaf.set("cwd", member(proc, "cwd"));
      if (const JsValue& c = member(proc, "command"); c.truthy()) leaf.set("command", JsValue::string(join(c, " ")));
      if (member(proc, "revision").truthy()) leaf.set("revision", member(proc, "revision"));
      if (member(proc, "pid").truthy()) leaf.set("pid", member(proc, "pid"));
      for (const char* key : {"started", "deployed"}) {
        if (!member(proc, key).truthy()) continue;
        const auto rel = relative_date(now - js_date_ms(member(proc, key)));
        leaf.set(key, rel ? JsValue::string(*rel) : JsValue());
      }
      if (cx.args.ps_env && member(proc, "env").truthy()) leaf.set("env", member(proc, "env"));
      leaves.push_back(std::move(leaf));
      TreeSpec node;
      node.label = tree_label(member(proc, "id"));
      spec.nodes.push_back(std::move(node));
    }
    for (std::size_t i = 0; i < leaves.size(); ++i) spec.nodes[i].leaf = &leaves[i];
    out += render_tree(cx.term, spec);
  }
  cx.term.out(out);
  return 0;
}

}  // namespace hms::cli
