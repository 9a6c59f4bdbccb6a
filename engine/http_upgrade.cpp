// The HTTP head in front of the frames: a server reads a CONNECT (answered
// with 101, then frames) or a plain request (answered and closed, or taken
// over by the listener's http_takeover); a client reads the 101 answer to
// its CONNECT.
#include <algorithm>
#include <string>

#include "hms/log.hpp"
#include "reactor_impl.hpp"

namespace hms {

namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

void refuse_head(ReactorImpl& r, Conn& c, const HttpResult& res) {
  ++r.stats.protocol_errors;
  HMS_LOG(warn, "%s: bad http head (%s at byte %zu): %s", c.peer_name.c_str(), to_string(res.error),
          res.error_offset,
          hex_sample(reinterpret_cast<const std::uint8_t*>(c.head.data()) + res.error_offset,
                     c.head.size() - res.error_offset)
              .c_str());
  if (c.mode == ConnMode::server_head) {
    static constexpr std::string_view k400 =
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    c.send_copy(k400.data(), k400.size());
  }
  r.conn_close(c, CloseReason::http_error, to_string(res.error), false);
}

void done_with_head(Conn& c) {
  c.head.clear();
  c.head.shrink_to_fit();
}

// A plain request: answered and closed, unless the listener takes it over.
bool plain_request(ReactorImpl& r, Conn& c, const RequestHead& req) {
  const ListenOptions* lo = c.listen_opts;
  if (lo && lo->http_takeover) {
    c.mode = ConnMode::bytes;
    if (lo->http_takeover(c, HttpRequest{req})) {
      done_with_head(c);
      return !c.has(kClosing);
    }
  }
  c.mode = ConnMode::http_reply;
  HttpResponse out;
  if (lo && lo->http) {
    out = lo->http(HttpRequest{req});
  } else if (req.method == HttpMethod::get && req.target == "/") {
    out.body = lo ? lo->banner : std::string("hms\n");
  } else if (c.handler) {
    out = c.handler->on_http(c, HttpRequest{req});
  } else {
    out.status = 404;
    out.body = "Not found\n";
  }
  std::string text = "HTTP/1.1 " + std::to_string(out.status) + " " + reason_phrase(out.status) +
                     "\r\nContent-Type: " + out.content_type +
                     "\r\nContent-Length: " + std::to_string(out.body.size()) +
                     "\r\nConnection: close\r\n\r\n";
  if (req.method_text != "HEAD") text += out.body;
  c.send_copy(text.data(), text.size());
  r.conn_close(c, CloseReason::local, "http request answered", false);
  return false;
}

}  // namespace

HttpResponse ConnectionHandler::on_http(Connection&, const HttpRequest& req) {
  HttpResponse r;
  if (req.head.method == HttpMethod::get && req.head.target == "/") {
    r.body = "hms\n";
  } else {
    r.status = 404;
    r.body = "Not found\n";
  }
  return r;
}

bool handle_head(ReactorImpl& r, Conn& c, const std::uint8_t*& p, std::size_t& len) {
  if (c.mode == ConnMode::detect) {
    c.mode = looks_like_http(p[0]) ? ConnMode::server_head : ConnMode::frames;
    if (c.mode == ConnMode::frames) return true;
  }
  const std::size_t prior = c.head.size();
  const std::size_t take = std::min(len, kMaxHeadSize + 1 - std::min(prior, kMaxHeadSize + 1));
  c.head.append(reinterpret_cast<const char*>(p), take);
  HttpResult res;
  RequestHead req;
  ResponseHead resp;
  if (c.mode == ConnMode::client_head)
    res = parse_response_head(c.head.data(), c.head.size(), &resp);
  else
    res = parse_request_head(c.head.data(), c.head.size(), &req);
  // A head past kMaxHeadSize without its blank line is the parser's
  // head_too_large error, so need_more stays bounded.
  if (res.status == HttpStatus::need_more) {
    len = 0;
    return true;
  }
  if (res.status == HttpStatus::error) {
    refuse_head(r, c, res);
    return false;
  }
  // Complete: bytes behind the head in this read already are frames.
  const std::size_t used = res.size - prior;
  p += used;
  len -= used;
  if (c.mode == ConnMode::client_head) {
    if (resp.status != 101) {
      r.conn_close(c, CloseReason::http_error, "upgrade refused: HTTP status " + std::to_string(resp.status),
                   true);
      return false;
    }
    c.mode = ConnMode::frames;
    c.set(kViaHttp);
    done_with_head(c);
    if (c.handler) c.handler->on_upgrade(c, nullptr);
    return !c.has(kClosing);
  }
  if (req.method == HttpMethod::connect) {
    c.mode = ConnMode::frames;
    c.set(kViaHttp);
    c.send_copy(kUpgradeResponse.data(), kUpgradeResponse.size());
    if (c.handler) c.handler->on_upgrade(c, &req);
    done_with_head(c);
    return !c.has(kClosing);
  }
  return plain_request(r, c, req);
}

}  // namespace hms
