#include "dock/context.hpp"

#include <unistd.h>

namespace hms::dock {

std::string Context::handshake_json() const {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("type").string("dock");
  w.key("version").string(kDockVersion);
  w.key("id").string(id);
  w.key("tags").begin_array();
  for (const auto& t : opts.tags) w.string(t);
  w.end_array();
  w.key("default").boolean(opts.is_default);
  w.key("hostname").string(default_dock_id());
  w.end_object();
  return out;
}

}  // namespace hms::dock
