// apps/cli/tree: ui.tree() byte for byte, against renderings by the
// reference's pretty-tree (tests/cli/data/trees.json).
#include "tree.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "data_file.hpp"

namespace hms::cli {
namespace {

// The pretty-tree input {label, nodes, leaf} as a TreeSpec; leaves are kept
// in `store` (the spec points at them).
TreeSpec spec_of(const JsValue& in, std::deque<JsValue>& store) {
  TreeSpec s;
  if (const JsValue* l = in.get("label")) s.label = tree_label(*l);
  if (const JsValue* n = in.get("nodes"))
    for (const JsValue& c : n->items()) s.nodes.push_back(spec_of(c, store));
  if (const JsValue* leaf = in.get("leaf")) {
    store.push_back(*leaf);
    s.leaf = &store.back();
  }
  return s;
}

TEST(Tree, AsTheReferenceRendersIt) {
  const JsValue data = data_file("trees.json");
  Term plain(Term::Setup{false, false});
  Term color(Term::Setup{true, true});
  int n = 0;
  for (const JsValue& c : data.get("cases")->items()) {
    std::deque<JsValue> store;
    const TreeSpec spec = spec_of(*c.get("input"), store);
    const std::string name = c.get("name")->as_string();
    EXPECT_EQ(render_tree(plain, spec), c.get("plain")->as_string()) << name;
    EXPECT_EQ(render_tree(color, spec), c.get("color")->as_string()) << name;
    ++n;
  }
  EXPECT_GE(n, 10);
}

TEST(Tree, LabelOfValues) {
  EXPECT_EQ(tree_label(JsValue::string("web")).value(), "web");
  EXPECT_EQ(tree_label(JsValue::number(5)).value(), "5");
  EXPECT_FALSE(tree_label(JsValue::string("")));
  EXPECT_FALSE(tree_label(JsValue()));
  EXPECT_FALSE(tree_label(JsValue::null()));
}

}  // namespace
}  // namespace hms::cli
