// Plain HTTP on the hub's port: the banner and the metrics.
#include "hub_impl.hpp"

namespace hms::hub {

HttpResponse HubImpl::on_http(const HttpRequest& req) {
  HttpResponse r;
  if (req.head.method == HttpMethod::get && req.head.target == "/metrics") {
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics();
  } else if (req.head.method == HttpMethod::get && req.head.target == "/") {
    r.body = version_banner_;
  } else {
    r.status = 404;
    r.body = "Not found\n";
  }
  return r;
}

}  // namespace hms::hub
