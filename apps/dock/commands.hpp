// The protocol surface of the dock: what it answers to the hub and to
// clients on its own port, with the reference's texts (reference.md 3.4).
//
//   message      from the hub                    from a client
//   get          unknown: null                   unknown: Service not found
//   sync         fetch + store (sync.hpp)        Cannot sync from a dock
//   list         every stored record             same
//   remove       stop, forget, delete            Cannot remove on a dock
//   update       merge start/build/env/docks     Cannot update on a dock
//   start/stop/  unknown: ok, nothing done       unknown: Service not found
//   restart      (services.hpp)                  same as the hub
//   ps           [{id, list, stats}]             same
//   subscribe    ok                              unknown id: Service not found
//   unsubscribe  ok                              ok
// Anything else (add, a second handshake) is "Command is not supported".
// Replies that change the store go out once the change is on disk.
#pragma once

#include <memory>

#include "dock/context.hpp"
#include "hms/peer.hpp"

namespace hms::dock {

class Services;
class Syncer;

class Commands {
 public:
  Commands(Context& ctx, Services& services, Syncer& syncer) : ctx_(ctx), services_(services), syncer_(syncer) {}

  // A handler table for peers of one kind (built once, shared by them).
  std::shared_ptr<HandlerTable> table(bool from_hub);

 private:
  void install(HandlerTable& t, bool from_hub);
  Context& ctx_;
  Services& services_;
  Syncer& syncer_;
  std::shared_ptr<HandlerTable> hub_, client_;
};

}  // namespace hms::dock
