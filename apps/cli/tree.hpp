// Trees as the reference prints them (ui.tree: pretty-tree 0.1.2 on archy
// 0.0.2), for list, ps and remotes:
//
//   hello                      label (yellow)
//   ├── start: node app.js     atomic leaf members first, keys padded to the
//   ├── limit: 1               longest atomic key (cyan, padding inside)
//   ├─┬ tags                   then nested objects/arrays (cyan key)
//   │ └── web                  array items bare
//   └─┬ env
//     └── (empty)              an empty object/array or a childless label
//
// Every ┬├─└│┐ is wrapped in grey on its own, the whole text is trimmed and
// ends with "\n\n" (console.log of tree + '\n'). Values with newlines are
// indented under their key. The two regexes pretty-tree runs for label-less
// array items are applied too, so odd shapes print as the reference prints
// them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jsvalue.hpp"
#include "term.hpp"

namespace hms::cli {

struct TreeSpec {
  // nullopt (or empty) for no label: archy prints an empty line.
  std::optional<std::string> label;
  std::vector<TreeSpec> nodes;    // rendered first, labels yellow
  const JsValue* leaf = nullptr;  // then these members, not owned
};

// The label for a JavaScript value: its text when truthy, else none (the
// reference colours and prints only truthy labels).
std::optional<std::string> tree_label(const JsValue& v);

// ui.tree(spec): the text console.log writes, final "\n" included.
std::string render_tree(const Term& term, const TreeSpec& spec);

}  // namespace hms::cli
