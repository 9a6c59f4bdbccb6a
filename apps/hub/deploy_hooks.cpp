// What deploys need of the hub (deploy.hpp's DeployHost), on the control
// shard: the stored service, and recording a new build then syncing it.
#include "hms/log.hpp"
#include "hub_impl.hpp"

namespace hms::hub {

DeployHost HubImpl::deploy_host() {
  DeployHost host;
  host.release = [this](Connection& c) { release_to_http(c); };
  host.to_control = [this](std::function<void()> fn) { to_control(std::move(fn)); };
  host.find = [this](const std::string& id) -> std::optional<Service> {
    if (const Service* s = registry_->get(id)) return *s;
    return std::nullopt;
  };
  host.record = [this](const std::string& id, Service build, std::function<void(std::string)> done) {
    record_deploy(id, std::move(build), std::move(done));
  };
  return host;
}

void HubImpl::record_deploy(const std::string& id, Service build, std::function<void(std::string)> done) {
  const Service* cur = registry_->get(id);
  if (!cur) return done(std::string(kNotFound));  // removed while it built
  Service s = *cur;
  s.cwd = build.cwd;
  s.deployed = build.deployed;
  s.revision = build.revision;  // absent when the upload named none, as the reference
  registry_->put(s, [this, s, done = std::move(done)](const std::string& error) {
    done(error);
    if (!error.empty()) return;
    // The docks get the new build (the reference's CLI asks for this sync
    // after a deploy; the hub does it itself, so any client's deploy lands).
    ReplyTo to;
    to.from = &control();
    to.done = [id = s.id](bool ok, const std::string& text) {
      if (!ok) HMS_LOG(warn, "[%s] sync after deploy failed: %s", printable(id).c_str(), printable(text).c_str());
    };
    HMS_LOG(info, "[%s] syncing build to docks", printable(s.id).c_str());
    place(to, s);
  });
}

}  // namespace hms::hub
