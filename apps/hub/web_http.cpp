// One taken-over HTTP request (web_http.hpp): body, deadlines, one answer.
#include "web_http.hpp"

#include <algorithm>

#include "web_text.hpp"

namespace hms::hub::web {

namespace {

// Chunked bodies here are a few hundred bytes; the limits keep the bytes
// the decoder may leave unconsumed (a trailer line) small too.
ChunkedLimits chunk_limits(const ExchangeLimits& l) {
  ChunkedLimits c;
  c.max_chunk_size = std::max<std::size_t>(l.max_body, 1);
  c.max_line = 256;
  c.max_trailers = 16;
  c.max_trailer_size = 2048;
  return c;
}

}  // namespace

WebResponse json_error(int status, std::string_view message) {
  WebResponse r;
  r.status = status;
  r.body = "{\"error\":\"";
  append_json_escaped(r.body, message);
  r.body += "\"}";
  return r;
}

const char* reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

std::string render(const WebResponse& r, bool head_only) {
  std::string out;
  out.reserve(256 + r.headers.size() + (head_only ? 0 : r.body.size()));
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason_phrase(r.status);
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  // Answers are live state: never from a cache. nosniff: a JSON body is
  // never taken for a page.
  out += "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n";
  out += r.headers;
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

WebExchange::WebExchange(Reactor& r, Connection& c, const ExchangeLimits& limits)
    : reactor_(r), conn_(&c), limits_(limits) {}

WebExchange::~WebExchange() = default;

std::shared_ptr<WebExchange> WebExchange::start(Reactor& r, Connection& c, const RequestHead& head,
                                                const ExchangeLimits& limits, Action action) {
  std::shared_ptr<WebExchange> ex(new WebExchange(r, c, limits));
  ex->self_ = ex;
  ex->action_ = std::move(action);
  ex->head_only_ = head.method_text == "HEAD";
  c.set_handler(ex.get());
  // Which body (RFC 9112 §6.3); both framings at once is how requests are
  // smuggled past a proxy, so it is refused.
  if (head.transfer_encoding.data()) {
    ex->complete_ = true;  // nothing of such a body is read
    if (head.has_content_length) {
      ex->respond(json_error(400, "Transfer-Encoding and Content-Length together"));
      return ex;
    }
    if (!is_chunked(head.transfer_encoding)) {
      ex->respond(json_error(501, "Transfer-Encoding other than chunked"));
      return ex;
    }
    ex->complete_ = false;
    ex->kind_ = Body::chunked;
  } else if (head.has_content_length && head.content_length > 0) {
    ex->kind_ = Body::length;
    ex->length_.remaining = head.content_length;
    if (head.content_length > limits.max_body) {
      ex->respond(json_error(413, "Request body too large (at most " + std::to_string(limits.max_body) + " bytes)"));
      return ex;
    }
  }
  if (ex->kind_ == Body::none) {
    ex->body_complete();
    return ex;
  }
  // The client waits for this before it sends the body (RFC 9110 §10.1.1).
  if (expects_continue(head.expect)) c.send_copy(kContinueResponse.data(), kContinueResponse.size());
  ex->arm(limits.body_timeout, 408, "The request body did not arrive in time");
  return ex;
}

void WebExchange::answer(Reactor& r, Connection& c, const RequestHead& head, const WebResponse& resp) {
  start(r, c, head, ExchangeLimits{}, nullptr)->respond(resp);
}

void WebExchange::arm(std::chrono::milliseconds after, int status, const char* message) {
  if (timer_) reactor_.cancel_timer(timer_);
  std::weak_ptr<WebExchange> weak = weak_from_this();
  timer_ = reactor_.add_timer(after, [weak, status, message] {
    auto ex = weak.lock();
    if (!ex) return;
    ex->timer_ = 0;
    if (ex->answered_) {  // the drain ran out of time
      ex->draining_ = false;
      ex->finish();
      return;
    }
    ex->complete_ = true;  // no more of the body is wanted
    ex->respond(json_error(status, message));
  });
}

void WebExchange::respond(const WebResponse& resp) {
  if (answered_ || !conn_) return;
  answered_ = true;
  action_ = nullptr;
  if (timer_) {
    reactor_.cancel_timer(timer_);
    timer_ = 0;
  }
  const std::string text = render(resp, head_only_);
  conn_->send_copy(text.data(), text.size());
  // Answered before the body was read: read and drop a small rest first,
  // or closing with unread bytes would reset the connection under the
  // answer.
  const bool small = kind_ != Body::length || length_.remaining <= limits_.max_drain;
  if (!complete_ && !read_ended_ && small) {
    draining_ = true;
    arm(limits_.drain_timeout, 0, "");
    return;
  }
  finish();
}

void WebExchange::finish() {
  if (draining_ || !conn_) return;
  conn_->close();
}

void WebExchange::body_complete() {
  complete_ = true;
  pending_.clear();
  if (answered_) {
    draining_ = false;
    finish();
    return;
  }
  arm(limits_.answer_timeout, 504, "No answer in time");
  if (auto action = std::move(action_)) action(*this);
}

void WebExchange::take(const char* p, std::size_t n) {
  if (kind_ == Body::none || (complete_ && !draining_)) return;
  // The decoder may leave a few bytes (a partial trailer line) for the
  // next read: those go in front.
  std::string joined;
  std::string_view in(p, n);
  if (!pending_.empty()) {
    joined = std::move(pending_);
    joined.append(p, n);
    in = joined;
  }
  pending_.clear();
  const ChunkedLimits climits = chunk_limits(limits_);
  std::size_t off = 0;
  for (;;) {
    const BodyResult r = kind_ == Body::chunked
                             ? decode_chunked(chunked_, in.data() + off, in.size() - off, climits)
                             : decode_length(length_, in.data() + off, in.size() - off);
    off += r.consumed;
    switch (r.status) {
      case BodyStatus::data:
        if (draining_) {
          drained_ += r.bytes.size();
          if (drained_ > limits_.max_drain) {
            draining_ = false;
            finish();
            return;
          }
        } else if (!answered_ && body_.size() + r.bytes.size() > limits_.max_body) {
          respond(json_error(413, "Request body too large (at most " + std::to_string(limits_.max_body) + " bytes)"));
        } else if (!answered_) {
          body_.append(r.bytes);
        }
        continue;
      case BodyStatus::trailer:
        continue;
      case BodyStatus::complete:
        body_complete();
        return;
      case BodyStatus::need_more:
        pending_.assign(in.substr(off));
        return;
      case BodyStatus::error:
        if (answered_) {
          draining_ = false;
          finish();
        } else {
          complete_ = true;  // a broken body cannot be read past
          respond(json_error(400, std::string("Bad chunked body: ") + to_string(r.error)));
        }
        return;
    }
  }
}

void WebExchange::on_bytes(Connection&, const std::uint8_t* p, std::size_t n, const BufRef&) {
  take(reinterpret_cast<const char*>(p), n);
}

void WebExchange::on_read_end(Connection&) {
  read_ended_ = true;
  if (answered_) {
    draining_ = false;
    finish();
  } else if (!complete_) {
    complete_ = true;
    respond(json_error(400, "The request body was cut short"));
  }
  // Else the answer is on its way (within the answer deadline); it closes.
}

void WebExchange::on_close(Connection&, const CloseInfo&) {
  conn_ = nullptr;
  action_ = nullptr;
  if (timer_) {
    reactor_.cancel_timer(timer_);
    timer_ = 0;
  }
  // Last: this may be the last reference.
  auto keep = std::move(self_);
}

}  // namespace hms::hub::web
