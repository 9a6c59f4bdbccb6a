#include "http_client.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>

#include "hms/http.hpp"
#include "hms/http_body.hpp"
#include "text.hpp"

namespace hms::cli {

std::string_view HttpHead::field(std::string_view name) const {
  return find_header(raw.data(), raw.size(), name);
}

Outcome<HttpClient> HttpClient::connect(const HttpRoute& route, Deadline d) {
  auto s = dial(DialTarget{route.host, route.port, route.unix_path}, d);
  if (!s) return Failure{s.error()};
  return HttpClient(std::move(s.value()));
}

Outcome<bool> HttpClient::send(std::string_view bytes) { return sock_.write_all(bytes, after(io_)); }

Outcome<bool> HttpClient::send_chunk(const char* data, std::size_t n) {
  char head[kMaxChunkHeader];
  const std::size_t head_size = encode_chunk_header(head, n);
  if (head_size == 0) return true;  // n == 0: nothing to send
  iovec v[3] = {{head, head_size},
                {const_cast<char*>(data), n},
                {const_cast<char*>(kChunkEnd.data()), kChunkEnd.size()}};
  return sock_.write_all(v, 3, after(io_));
}

Outcome<bool> HttpClient::send_last_chunk() {
  char last[8];
  const std::size_t size = encode_last_chunk(last, sizeof last, nullptr, 0);  // "0\r\n\r\n"
  return send(std::string_view(last, size));
}

bool HttpClient::answered() const {
  if (in_pos_ < in_.size()) return true;
  pollfd p{sock_.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

Outcome<std::size_t> HttpClient::fill(std::chrono::milliseconds idle) {
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > (64u << 10)) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  const std::size_t old = in_.size();
  in_.resize(old + (64u << 10));
  auto r = sock_.read_some(in_.data() + old, 64u << 10, after(idle));
  in_.resize(old + (r ? r.value() : 0));
  if (!r) return Failure{r.error() == "read ETIMEDOUT"
                             ? "Timed out after " + duration_text(idle) + " without an answer"
                             : r.error()};
  return r.value();
}

Outcome<HttpHead> HttpClient::read_head(std::chrono::milliseconds idle) {
  for (;;) {
    ResponseHead rh;
    const std::string_view avail(in_.data() + in_pos_, in_.size() - in_pos_);
    const HttpResult r = parse_response_head(avail.data(), avail.size(), &rh);
    if (r.status == HttpStatus::error) return Failure{std::string("Parse Error: ") + to_string(r.error)};
    if (r.status == HttpStatus::complete) {
      HttpHead h;
      h.status = rh.status;
      h.transfer_encoding = rh.transfer_encoding;
      h.has_content_length = rh.has_content_length;
      h.content_length = rh.content_length;
      h.raw = avail.substr(0, r.size);
      in_pos_ += r.size;
      if (h.status >= 100 && h.status < 200 && h.status != 101) continue;  // 100 Continue & co
      return h;
    }
    auto n = fill(idle);
    if (!n) return Failure{n.error()};
    if (n.value() == 0) return Failure{"socket hang up"};
  }
}

Outcome<Fields> HttpClient::read_body(const HttpHead& head, std::chrono::milliseconds idle,
                                      const std::function<bool(std::string_view)>& sink) {
  ResponseBody body(head);
  for (;;) {
    const ResponseBody::Step step = body.next(in_.data() + in_pos_, in_.size() - in_pos_);
    in_pos_ += step.consumed;
    switch (step.kind) {
      case ResponseBody::Step::Kind::data:
        if (!sink(step.data)) return Fields{};
        continue;
      case ResponseBody::Step::Kind::done:
        return body.trailers();
      case ResponseBody::Step::Kind::error:
        return Failure{std::string("Parse Error: ") + step.error};
      case ResponseBody::Step::Kind::need_more:
        break;
    }
    auto n = fill(idle);
    if (!n) return Failure{n.error()};
    if (n.value() == 0) {
      if (body.closed()) return Fields{};
      return Failure{"socket hang up"};  // ended inside the body
    }
  }
}

Outcome<std::string> HttpClient::read_text(const HttpHead& head, std::chrono::milliseconds idle,
                                           std::size_t limit) {
  std::string text;
  auto r = read_body(head, idle, [&](std::string_view piece) {
    text.append(piece.substr(0, limit - std::min(limit, text.size())));
    return true;
  });
  if (!r) return Failure{r.error()};
  return text;
}

}  // namespace hms::cli
