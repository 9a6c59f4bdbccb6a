// Asking docks (control shard): a call runs on the dock's own shard, its
// answer comes back to the control shard; for_each gathers many.
#include <algorithm>

#include "hub_impl.hpp"

namespace hms::hub {

void HubImpl::dock_call(const std::shared_ptr<DockInfo>& d, Issue issue, std::function<void(DockAnswer)> done) {
  run_on(*d->shard, [this, d, issue = std::move(issue), done = std::move(done)]() mutable {
    auto peer = d->peer.lock();
    if (!peer || peer->closed()) {
      to_control([done] { done(DockAnswer{Result::Status::closed, std::string(kDestroyed)}); });
      return;
    }
    issue(*peer, [this, done](const Result& r) {
      DockAnswer a{r.status, std::string(r.text)};
      to_control([done, a = std::move(a)] { done(a); });
    });
  });
}

void HubImpl::for_each(std::vector<std::shared_ptr<DockInfo>> list, const std::function<Issue(const DockInfo&)>& make,
                       Gathered cb) {
  if (list.empty()) {
    cb(true, {}, {});
    return;
  }
  struct State {
    std::size_t missing;
    bool done = false;
    std::vector<std::string> results;
    Gathered cb;
  };
  auto state = std::make_shared<State>();
  state->missing = list.size();
  state->cb = std::move(cb);
  for (auto& d : list) {
    dock_call(d, make(*d), [state](DockAnswer a) {
      if (state->done) return;  // the first error already answered
      if (!a.ok()) {
        state->done = true;
        state->cb(false, a.text, {});
        return;
      }
      state->results.push_back(std::move(a.text));
      if (--state->missing == 0) {
        state->done = true;
        state->cb(true, {}, std::move(state->results));
      }
    });
  }
}

std::vector<std::shared_ptr<DockInfo>> HubImpl::routed_docks(const std::optional<std::string>& route) const {
  if (!route) return docks_;
  std::vector<std::shared_ptr<DockInfo>> out;
  for (const auto& d : docks_)
    if (d->id == *route || std::find(d->tags.begin(), d->tags.end(), *route) != d->tags.end()) out.push_back(d);
  return out;
}

void HubImpl::dock_subscription(const std::shared_ptr<DockInfo>& d, const std::string& id, bool on) {
  // Fire and forget, as the reference: a dock that refuses still counts.
  dock_call(
      d,
      [id, on](Peer& p, ReplyCallback cb) {
        if (on) p.subscribe(id, std::move(cb));
        else p.unsubscribe(id, std::move(cb));
      },
      [](DockAnswer) {});
}

}  // namespace hms::hub
