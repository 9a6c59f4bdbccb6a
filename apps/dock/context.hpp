// What the dock's parts share: its options and identity, and references to
// the pieces that hold state (store, supervisor, outputs, workers). Owned
// by run() (dock.cpp), which outlives every user. Reactor thread only, but
// for the Workers (any thread may post to them).
#pragma once

#include <functional>
#include <string>

#include "dock/options.hpp"
#include "hms/control.hpp"

namespace hms {
class Reactor;
}

namespace hms::dock {

class Store;
class Supervisor;
class Outputs;
class Workers;

// How a command ends: ok, or an error message for the requester.
using Done = std::function<void(bool ok, const std::string& error)>;

struct Context {
  const DockOptions& opts;
  std::string id;          // the dock's id: --id or the host name; the origin of its events
  HubAddress hub;
  Reactor& reactor;
  Store& store;
  Supervisor& supervisor;
  Outputs& outputs;
  Workers& io;             // downloads and unpacking, removing old builds
  JsonParser parser;       // the reactor thread's

  // The dock's handshake object (without "protocol"), as the reference's
  // `me`: {"type":"dock","version","id","tags","default"} and, for hubs
  // that show it, "hostname".
  std::string handshake_json() const;
};

}  // namespace hms::dock
