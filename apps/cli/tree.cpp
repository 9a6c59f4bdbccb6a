#include "tree.hpp"

#include <algorithm>
#include <string_view>

#include "text.hpp"

namespace hms::cli {

namespace {

// archy's input: a label (already coloured) and children.
struct Node {
  std::string label;
  std::vector<Node> nodes;
};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

// pretty-tree's leaf(obj).
std::vector<Node> leaf(const Term& t, const JsValue& obj) {
  if (obj.is_atomic()) return {Node{obj.to_js_string(), {}}};
  const bool is_array = obj.is_array();
  // (key, value) in Object.keys order: indices for arrays.
  std::vector<std::pair<std::string, const JsValue*>> entries;
  if (is_array) {
    for (std::size_t i = 0; i < obj.items().size(); ++i) entries.emplace_back(std::to_string(i), &obj.items()[i]);
  } else {
    for (const auto& [k, v] : obj.members()) entries.emplace_back(k, &v);
  }
  if (entries.empty()) return {Node{t.paint(Color::grey, "(empty)"), {}}};
  std::size_t pad = 1;  // the reducer starts from ' '
  for (const auto& [k, v] : entries)
    if (v->is_atomic()) pad = std::max(pad, js_length(k));
  std::vector<Node> out;
  const std::string indent = "\n  " + std::string(pad, ' ');
  for (const auto& [k, v] : entries) {
    if (!v->is_atomic()) continue;
    std::string val = v->to_js_string();
    replace_all(val, "\n", indent);
    if (is_array) {
      out.push_back(Node{std::move(val), {}});
      continue;
    }
    // key + ':' + pad.slice(key.length - pad.length - 1)
    const std::size_t klen = js_length(k);
    const std::size_t spaces = std::min(pad, pad - klen + 1);
    out.push_back(Node{t.paint(Color::cyan, k + ":" + std::string(spaces, ' ')) + val, {}});
  }
  for (const auto& [k, v] : entries) {
    if (v->is_atomic()) continue;
    out.push_back(Node{is_array ? std::string() : t.paint(Color::cyan, k), leaf(t, *v)});
  }
  return out;
}

// pretty-tree's visit(node).
Node visit(const Term& t, const TreeSpec& spec) {
  Node n;
  const bool labelled = spec.label && !spec.label->empty();
  if (labelled) n.label = t.paint(Color::yellow, *spec.label);
  for (const auto& child : spec.nodes) n.nodes.push_back(visit(t, child));
  if (spec.leaf) {
    for (auto& l : leaf(t, *spec.leaf)) n.nodes.push_back(std::move(l));
  }
  if (labelled && n.nodes.empty()) n.nodes.push_back(Node{t.paint(Color::grey, "(empty)"), {}});
  return n;
}

// archy(obj, prefix).
std::string archy(const Node& n, const std::string& prefix) {
  std::string out = prefix;
  const std::string splitter = "\n" + prefix + (n.nodes.empty() ? " " : "\u2502") + " ";
  std::string_view label = n.label;
  for (std::size_t p; (p = label.find('\n')) != std::string_view::npos;) {
    out += label.substr(0, p);
    out += splitter;
    label.remove_prefix(p + 1);
  }
  out += label;
  out += '\n';
  for (std::size_t i = 0; i < n.nodes.size(); ++i) {
    const Node& c = n.nodes[i];
    const bool last = i + 1 == n.nodes.size();
    const bool more = !c.nodes.empty();
    const std::string sub = prefix + (last ? " " : "\u2502") + " ";
    out += prefix;
    out += last ? "\u2514" : "\u251c";
    out += "\u2500";
    out += more ? "\u252c" : "\u2500";
    out += ' ';
    out += archy(c, sub).substr(sub.size());
  }
  return out;
}

// /([├└])─┬ \n[│ ]+(├|└)/g → "$1─┬" or "$1──" (pretty-tree's two regexes,
// one after the other).
void collapse(std::string& s, std::string_view last, std::string_view with) {
  static const std::string_view kFork = "\u2500\u252c \n";  // ─┬ \n
  const std::string_view bar = "\u2502";
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::string_view rest(s.data() + i, s.size() - i);
    const bool lead = rest.starts_with("\u251c") || rest.starts_with("\u2514");
    if (lead && rest.substr(3).starts_with(kFork)) {
      std::size_t j = 3 + kFork.size();
      const std::size_t run = j;
      while (j < rest.size()) {
        if (rest[j] == ' ') ++j;
        else if (rest.substr(j).starts_with(bar)) j += bar.size();
        else break;
      }
      if (j > run && rest.substr(j).starts_with(last)) {
        out.append(rest.substr(0, 3));
        out.append(with);
        i += j + last.size();
        continue;
      }
    }
    out += s[i++];
  }
  s = std::move(out);
}

}  // namespace

std::optional<std::string> tree_label(const JsValue& v) {
  if (!v.truthy()) return std::nullopt;
  return v.to_js_string();
}

std::string render_tree(const Term& t, const TreeSpec& spec) {
  std::string s = archy(visit(t, spec), "");
  collapse(s, "\u251c", "\u2500\u252c");
  collapse(s, "\u2514", "\u2500\u2500");
  std::string out;
  if (t.color()) {
    static const std::string_view chars[] = {"\u252c", "\u251c", "\u2500", "\u2514", "\u2502", "\u2510"};
    for (std::size_t i = 0; i < s.size();) {
      bool hit = false;
      for (auto c : chars) {
        if (std::string_view(s).substr(i).starts_with(c)) {
          t.paint_into(out, Color::grey, c);
          i += c.size();
          hit = true;
          break;
        }
      }
      if (!hit) out += s[i++];
    }
  } else {
    out = std::move(s);
  }
  std::string text(js_trim(out));
  text += "\n\n";
  return text;
}

}  // namespace hms::cli
