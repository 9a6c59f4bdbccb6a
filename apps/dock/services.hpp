// What the dock does with its services, in the reference dock's terms
// (commands/dock.js): onmon (a service's record becomes the supervisor's
// spec), onstatuschange (start, stop, restart, and the `stopped` flag in
// the store), validService (whether this dock runs a service, by tags), the
// boot (services not marked stopped start again) and ps.
#pragma once

#include <string>

#include "dock/context.hpp"
#include "hms/frame.hpp"

namespace hms::dock {

class Services {
 public:
  explicit Services(Context& ctx) : ctx_(ctx) {}

  // Whether this dock runs `s`: its tags meet the dock's id or tags, or it
  // has none and the dock is --default (the reference's validService).
  bool valid(const Service& s) const;
  // The reference's onmon: needs `start` and `cwd`; returns whether the
  // supervisor's spec changed.
  bool define(const std::string& id, const Service& s);
  // start, stop or restart of a stored service (the caller checked that it
  // exists). `done` runs when the reply may go: for stop once the process
  // is gone, and always after the new `stopped` flag is on disk.
  void status_change(const std::string& id, Opcode op, Done done);
  // At start-up: every stored service not marked stopped starts.
  void boot();
  // The ps reply: [{"id":<dock>,"list":[...],"stats":{...}}].
  std::string ps_json() const;

 private:
  void save_stopped(const std::string& id, bool stopped, Done done);
  Context& ctx_;
};

}  // namespace hms::dock
