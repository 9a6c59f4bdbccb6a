// Plain HTTP on the hub's port: the banner and the metrics.
#include "hub_impl.hpp"

namespace hms::hub {

namespace {
// The path of a request target, without its query ("/metrics?x=1").
std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }
}  // namespace

HttpResponse HubImpl::on_http(const HttpRequest& req) {
  HttpResponse r;
  // HEAD is GET without the body (the engine leaves the body out).
  const bool get = req.head.method == HttpMethod::get || req.head.method_text == "HEAD";
  const std::string_view path = path_of(req.head.target);
  if (get && path == "/metrics") {
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics();
  } else if (get && path == "/") {
    r.body = version_banner_;
  } else {
    r.status = 404;
    r.body = "Not found\n";
  }
  return r;
}

bool HubImpl::on_takeover(Shard& s, Connection& c, const HttpRequest& req) {
  // Streaming routes register here (deploy, tarballs, the page's API).
  if (web_takeover(s, c, req)) return true;  // /ui, /api/ (web_routes.cpp)
  return deploys_->take(c, req, [this, &s](std::function<void()> fn) { run_on(s, std::move(fn)); });
}

void HubImpl::release_to_http(Connection& c) {
  auto* peer = dynamic_cast<Peer*>(c.handler());
  if (!peer) return;
  // What on_close would have done for a connection still handshaking.
  if (auto st = std::static_pointer_cast<ConnState>(peer->user)) {
    peer->on_close(nullptr);
    on_conn_close(*st);
  }
  peer->detach();
}

}  // namespace hms::hub
