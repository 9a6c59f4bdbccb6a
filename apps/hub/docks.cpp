// Asking docks (control shard): a call runs on the dock's own shard within
// the dock deadline, its answer comes back to the control shard; for_each
// stops at the first error, gather waits for every dock.
#include <algorithm>
#include <cstdio>

#include "hms/log.hpp"
#include "hub_impl.hpp"

namespace hms::hub {

namespace {

std::string seconds_text(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

// What a client is told when a dock cannot answer: the dock by name.
DockAnswer dock_gone(const std::string& id) {
  return DockAnswer{Result::Status::closed, "Dock " + id + " is gone (" + std::string(kDestroyed) + ")"};
}

void log_dock_timeout(Shard& s, const std::string& dock, const std::string& secs) {
  const std::uint64_t told = s.dock_timeout_log.note(std::chrono::steady_clock::now());
  if (told > 1)
    HMS_LOG(warn, "dock (%s) did not answer within %s s (%llu more requests missed their deadline since the last such line)",
            printable(dock).c_str(), secs.c_str(), static_cast<unsigned long long>(told - 1));
  else if (told == 1)
    HMS_LOG(warn, "dock (%s) did not answer within %s s", printable(dock).c_str(), secs.c_str());
}

}  // namespace

void HubImpl::dock_call(const std::shared_ptr<DockInfo>& d, Issue issue, std::function<void(DockAnswer)> done) {
  run_on(*d->shard, [this, d, issue = std::move(issue), done = std::move(done)]() mutable {
    Shard& s = *d->shard;
    auto peer = d->peer.lock();
    if (!peer || peer->closed()) {
      to_control([done, a = dock_gone(d->id)] { done(a); });
      return;
    }
    // Whichever comes first answers: the dock, or the deadline.
    struct Call {
      std::function<void(DockAnswer)> done;
      bool over = false;
      TimerId timer = 0;
    };
    auto call = std::make_shared<Call>();
    call->done = std::move(done);
    call->timer = s.reactor->add_timer(opts_.dock_timeout, [this, call, d, &s] {
      if (call->over) return;
      call->over = true;
      ++s.dock_timeouts;
      const std::string secs = seconds_text(opts_.dock_timeout);
      log_dock_timeout(s, d->id, secs);
      DockAnswer a{Result::Status::error, "Dock " + d->id + " did not answer in time (" + secs + " s)"};
      to_control([done = call->done, a = std::move(a)] { done(a); });
    });
    issue(*peer, [this, call, d, &s](const Result& r) {
      if (call->over) return;  // late: the deadline has answered
      call->over = true;
      s.reactor->cancel_timer(call->timer);
      DockAnswer a = r.status == Result::Status::closed || r.status == Result::Status::rejected
                         ? dock_gone(d->id)
                         : DockAnswer{r.status, std::string(r.text)};
      to_control([done = call->done, a = std::move(a)] { done(a); });
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

void HubImpl::gather(std::vector<std::shared_ptr<DockInfo>> list, const std::function<Issue(const DockInfo&)>& make,
                     std::function<void(Answers)> cb) {
  if (list.empty()) {
    cb({});
    return;
  }
  struct State {
    std::size_t missing;
    Answers answers;
    std::function<void(Answers)> cb;
  };
  auto state = std::make_shared<State>();
  state->missing = list.size();
  state->cb = std::move(cb);
  for (auto& d : list) {
    dock_call(d, make(*d), [state, d](DockAnswer a) {
      state->answers.emplace_back(d, std::move(a));
      if (--state->missing == 0) state->cb(std::move(state->answers));
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
