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

}  // namespace hms::hub
