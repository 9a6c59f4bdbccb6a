// Placement: which docks run a service (sync, as the reference terminal).
//
// A pure function of the service, the docks connected and a random source,
// so it can be tested on its own.
#pragma once

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "hms/control.hpp"

namespace hms::hub {

struct DockCandidate {
  std::string_view id;
  const std::vector<std::string>* tags = nullptr;  // the dock's handshake tags
  bool is_default = false;
};

// Eligible docks: those whose id or tags intersect the service's tags, or,
// when it has no tags, those that said `default:true`. Without `limit`
// every eligible dock runs it (in dock order); with `limit`, the docks it
// runs on now (s.docks) that are still eligible stay, in that order, and
// the rest are filled at random up to the limit (a negative limit is 0).
// Returns dock ids; `docks` views must outlive the call only.
std::vector<std::string> choose_docks(const Service& s, const std::vector<DockCandidate>& docks, std::mt19937& rng);

}  // namespace hms::hub
