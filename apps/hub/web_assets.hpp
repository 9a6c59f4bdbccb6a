// The page's files (apps/hub/web/: index.html, login.html, app.js,
// style.css), embedded into the binary at build time: web/embed.cmake
// writes them as byte arrays into a generated source (web/web.cmake wires
// it into the build). The files stay plain, editable sources; nothing is
// fetched or built for the page at run time.
#pragma once

#include <span>
#include <string_view>

namespace hms::hub::web {

struct Asset {
  std::string_view name;          // file name, e.g. "app.js"
  std::string_view content_type;  // from the extension
  std::string_view body;          // the file's bytes (static storage)
};

// Every embedded file (the generated source defines it).
std::span<const Asset> assets() noexcept;

// The file called `name`, or nullptr.
inline const Asset* find_asset(std::string_view name) noexcept {
  for (const Asset& a : assets())
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace hms::hub::web
