// The page's routes on the hub's port: /ui (the page, its files, the login
// form) and /api/ (JSON and event streams, web_api.cpp). Every request of
// theirs is taken over from the engine and answered by a WebExchange or
// becomes an EventStream.
//
// ### Who may
// Without --token, anyone who reaches the port, as for the protocol. With
// it, a request carries `Authorization: Bearer <token>` or the cookie the
// login form sets (POST /ui/login with the token): HttpOnly (no script
// reads it), SameSite=Strict (no other site's page sends it), its value a
// random secret of this hub run, not the token. The login form and the
// style sheet it uses are open. A POST whose Origin names another host is
// refused either way (a page elsewhere must not make a browser here start
// or stop services, token or not).
#include <sys/random.h>

#include <array>
#include <random>

#include "hms/log.hpp"
#include "hub_impl.hpp"
#include "web_assets.hpp"
#include "web_http.hpp"
#include "web_text.hpp"

namespace hms::hub {

namespace {

constexpr std::string_view kCookie = "hms_session";
constexpr std::string_view kApiPrefix = "/api/";

// What the page's documents may do: only this hub, no inline script, no
// frames around them.
constexpr std::string_view kPageHeaders =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
    "Referrer-Policy: no-referrer\r\n";

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

web::WebResponse asset_response(const web::Asset& a) {
  web::WebResponse r;
  r.content_type = std::string(a.content_type);
  r.body = std::string(a.body);
  if (a.content_type.starts_with("text/html")) r.headers = std::string(kPageHeaders);
  return r;
}

// The login form, with a message where the page has <!--message-->.
web::WebResponse login_page(int status, std::string_view message) {
  const web::Asset* a = web::find_asset("login.html");
  web::WebResponse r = a ? asset_response(*a) : web::json_error(500, "login.html is not embedded");
  r.status = status;
  constexpr std::string_view kSlot = "<!--message-->";
  const std::size_t at = r.body.find(kSlot);
  if (at != std::string::npos && !message.empty())
    r.body.replace(at, kSlot.size(), "<p class=\"error\">" + std::string(message) + "</p>");
  return r;
}

web::WebResponse see_other(std::string_view location, std::string_view cookie) {
  web::WebResponse r;
  r.status = 303;
  r.content_type = "text/plain; charset=utf-8";
  r.headers = "Location: " + std::string(location) + "\r\n";
  if (!cookie.empty()) r.headers += "Set-Cookie: " + std::string(cookie) + "\r\n";
  return r;
}

web::WebResponse not_allowed(std::string_view allow) {
  web::WebResponse r = web::json_error(405, "Method not allowed (allowed: " + std::string(allow) + ")");
  r.headers = "Allow: " + std::string(allow) + "\r\n";
  return r;
}

// A POST from a page of another site (its Origin is not this Host): a
// browser sends Origin with every cross-origin POST. No Origin (curl, a
// script) is fine: they can send any header anyway.
bool cross_site(const RequestHead& h) {
  if (!h.origin.data()) return false;
  std::string_view o = h.origin;
  const std::size_t scheme = o.find("://");
  if (scheme == std::string_view::npos) return true;  // "null" and the like
  o.remove_prefix(scheme + 3);
  return o != h.host;
}

}  // namespace

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    const ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < bytes) {  // no getrandom (old kernel): the C++ library's source
    std::random_device rd;
    for (std::size_t i = got; i < bytes; ++i) raw[i] = static_cast<char>(rd());
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool HubImpl::web_authorized(const RequestHead& head) const {
  if (!opts_.token) return true;
  const std::string_view bytes = web::head_bytes(head);
  const std::string_view auth = find_header(bytes.data(), bytes.size(), "Authorization");
  if (auth.data()) {
    const std::string_view t = web::bearer_token(auth);
    if (t.data() && constant_time_equal(t, *opts_.token)) return true;
  }
  const std::string_view cookies = find_header(bytes.data(), bytes.size(), "Cookie");
  if (cookies.data()) {
    const std::string_view v = web::cookie_value(cookies, kCookie);
    if (v.data() && constant_time_equal(v, web_session_)) return true;
  }
  return false;
}

bool HubImpl::web_takeover(Shard& s, Connection& c, const HttpRequest& req) {
  const RequestHead& h = req.head;
  const std::string_view path = path_of(h.target);
  const bool ui = path == "/ui" || path.starts_with("/ui/");
  const bool api = path == "/api" || path.starts_with(kApiPrefix);
  if (!ui && !api) return false;
  ++s.web_requests;
  release_to_http(c);
  Reactor& r = *s.reactor;
  const bool get = h.method == HttpMethod::get || h.method_text == "HEAD";
  const bool post = h.method_text == "POST";
  auto answer = [&](const web::WebResponse& resp) { web::WebExchange::answer(r, c, h, resp); };

  if (post && cross_site(h)) return answer(web::json_error(403, "Cross-site request refused")), true;

  // ---- open to all: the login form, its style sheet, logging in and out.
  if (path == "/ui/login") {
    if (get) return answer(login_page(200, {})), true;
    if (!post) return answer(not_allowed("GET, HEAD, POST")), true;
    web::WebExchange::start(r, c, h, {}, [this](web::WebExchange& ex) {
      if (!opts_.token) return ex.respond(see_other("/ui", {}));
      const auto token = web::form_field(ex.body(), "token");
      if (!token || !constant_time_equal(*token, *opts_.token)) {
        HMS_LOG(info, "page: a login with a wrong token");
        return ex.respond(login_page(401, "That is not the hub's token."));
      }
      ex.respond(see_other("/ui", std::string(kCookie) + "=" + web_session_ + "; Path=/; HttpOnly; SameSite=Strict"));
    });
    return true;
  }
  if (path == "/ui/logout") {
    if (!post) return answer(not_allowed("POST")), true;
    return answer(see_other("/ui", std::string(kCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")), true;
  }
  if (path == "/ui/style.css" && !get) return answer(not_allowed("GET, HEAD")), true;
  if (path == "/ui/style.css") return answer(asset_response(*web::find_asset("style.css"))), true;

  if (!web_authorized(h)) {
    ++s.web_refused;
    if (ui && get) return answer(login_page(401, {})), true;
    web::WebResponse resp = web::json_error(
        401, "A token is needed: send Authorization: Bearer <token>, or log in at /ui/login");
    resp.headers = "WWW-Authenticate: Bearer realm=\"hms\"\r\n";
    return answer(resp), true;
  }

  // ---- the page
  if (ui) {
    std::string_view name = path == "/ui" || path == "/ui/" ? "index.html" : path.substr(4);
    const web::Asset* a = name == "login.html" ? nullptr : web::find_asset(name);
    if (!a) {
      web::WebResponse nf;
      nf.status = 404;
      nf.content_type = "text/plain; charset=utf-8";
      nf.body = "Not found\n";
      return answer(nf), true;
    }
    if (!get) return answer(not_allowed("GET, HEAD")), true;
    return answer(asset_response(*a)), true;
  }

  // ---- the API: /api/services, /api/docks, /api/ps, /api/logs/<id>,
  // /api/services/<id>/<start|stop|restart>
  std::string_view rest = path.substr(std::min(path.size(), kApiPrefix.size()));
  auto json_to = [](const std::shared_ptr<web::WebExchange>& ex) -> WebAnswer {
    return [ex](int status, std::string body) {
      web::WebResponse resp;
      resp.status = status;
      resp.body = std::move(body);
      ex->respond(resp);
    };
  };
  auto segment_id = [](std::string_view seg, std::string* id) {
    // Service ids are [a-zA-Z0-9.-]; '*' may come as %2A.
    return web::percent_decode(seg, id, false) && (*id == "*" || valid_service_name(*id));
  };
  if (rest == "services" || rest == "ps" || rest == "docks") {
    if (!get) return answer(not_allowed("GET, HEAD")), true;
    auto ex = web::WebExchange::start(r, c, h, {}, nullptr);
    if (rest == "docks") web_docks(s, json_to(ex));
    else web_command(s, rest == "ps" ? Opcode::ps : Opcode::list, {}, json_to(ex));
    return true;
  }
  if (rest.starts_with("logs/")) {
    if (h.method != HttpMethod::get) return answer(not_allowed("GET")), true;
    std::string id;
    if (!segment_id(rest.substr(5), &id)) return answer(web::json_error(404, kNotFound)), true;
    web_open_stream(s, c, std::move(id));
    return true;
  }
  if (rest.starts_with("services/")) {
    const std::string_view tail = rest.substr(9);
    const std::size_t slash = tail.find('/');
    const std::string_view action = slash == std::string_view::npos ? std::string_view{} : tail.substr(slash + 1);
    Opcode op = Opcode::start;
    if (action == "start") op = Opcode::start;
    else if (action == "stop") op = Opcode::stop;
    else if (action == "restart") op = Opcode::restart;
    else return answer(web::json_error(404, "No such API route (want /api/services/<id>/start|stop|restart)")), true;
    if (!post) return answer(not_allowed("POST")), true;
    std::string id;
    if (!segment_id(tail.substr(0, slash), &id) || id == "*") return answer(web::json_error(404, kNotFound)), true;
    // The body (if any) is read and ignored: the action is in the path.
    web::WebExchange::start(r, c, h, {}, [this, &s, op, id, json_to](web::WebExchange& ex) {
      web_command(s, op, id, json_to(ex.shared_from_this()));
    });
    return true;
  }
  answer(web::json_error(404, "No such API route"));
  return true;
}

}  // namespace hms::hub
