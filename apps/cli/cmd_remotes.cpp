// remotes [add|remove|list] (the reference's commands/remotes.js). The
// names live in ~/.hms.json (see remote.hpp).
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "commands.hpp"
#include "text.hpp"
#include "tree.hpp"

namespace hms::cli {

namespace {

int add(Context& cx, const std::string& name, const std::string& url) {
  const Args& a = cx.args;
  if (name.empty()) return cx.term.fail("Remote is required");
  if (url.empty()) return cx.term.fail("Remote url is required");
  // xtend(existing entry, command line): an existing key/passphrase stays
  // unless given again.
  std::optional<std::string> key = a.key, passphrase = a.passphrase;
  if (const JsValue* e = cx.config.entry(name); e && e->is_object()) {
    if (const JsValue* k = e->get("key"); k && k->truthy() && !key) key = k->to_js_string();
    if (const JsValue* p = e->get("passphrase"); p && p->truthy() && !passphrase) passphrase = p->to_js_string();
  }
  if (key && !key->empty()) {
    struct stat st;
    if (::stat(key->c_str(), &st) != 0) return cx.term.fail("Key file does not exist");
    char real[PATH_MAX];
    if (::realpath(key->c_str(), real)) key = std::string(real);
  }
  auto remote = parse_remote(url, a.port);
  if (!remote) return cx.term.fail(remote.error());
  remote->key = key;
  remote->passphrase = passphrase;
  // The reference checks the remote answers a list before saving it.
  auto link = connect(cx, remote.value());
  if (!link) return cx.term.fail(link.error());
  const Reply r = link.value()->call(Opcode::list, {}, {});
  if (!r.ok) return cx.term.fail(r.text);

  JsValue entry = JsValue::object();
  entry.set("url", JsValue::string(url));
  if (key && !key->empty()) entry.set("key", JsValue::string(*key));
  if (passphrase && !passphrase->empty()) entry.set("passphrase", JsValue::string(*passphrase));
  TreeSpec spec;
  spec.label = name;
  spec.leaf = &entry;
  cx.term.out(render_tree(cx.term, spec));
  cx.config.put(name, entry);
  if (auto saved = cx.config.save(); !saved) return cx.term.fail(saved.error());
  return 0;
}

int remove(Context& cx, const std::string& name) {
  if (name.empty()) return cx.term.fail("Remote is required");
  if (!cx.config.entry(name)) return cx.term.fail("Remote not found");
  cx.config.erase(name);
  if (auto saved = cx.config.save(); !saved) return cx.term.fail(saved.error());
  cx.term.line(cx.term.success_mark() + " Remote was removed");
  return 0;
}

int list(Context& cx) {
  const JsValue& all = cx.config.all();
  if (all.members().empty()) {
    cx.term.line(cx.term.paint(Color::grey, "(empty)"));
    return 0;
  }
  std::string out;
  for (const auto& [name, entry] : all.members()) {
    TreeSpec spec;
    spec.label = name;
    spec.leaf = &entry;
    out += render_tree(cx.term, spec);
  }
  cx.term.out(out);
  return 0;
}

}  // namespace

int cmd_remotes(Context& cx) {
  const auto& pos = cx.args.pos;
  const std::string cmd = pos.size() > 0 ? pos[0] : "";
  const std::string name = pos.size() > 1 ? pos[1] : "";
  const std::string url = pos.size() > 2 ? pos[2] : "";
  if (cmd == "add") return add(cx, name, url);
  if (cmd == "remove") return remove(cx, name);
  return list(cx);  // "list", nothing, or anything else
}

}  // namespace hms::cli
