#include "http_client.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>

#include "hms/http.hpp"
#include "text.hpp"

namespace hms::cli {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

// The field lines of a head the codec has accepted: "name: value" per line
// after the status line, up to the blank line.
std::vector<std::pair<std::string, std::string>> field_lines(std::string_view head) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = head.find('\n');
  while (pos != std::string_view::npos && pos + 1 < head.size()) {
    const std::size_t start = pos + 1;
    std::size_t end = head.find('\n', start);
    if (end == std::string_view::npos) end = head.size();
    std::string_view line = head.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      out.emplace_back(lower(line.substr(0, colon)), std::string(v));
    }
    pos = end;
  }
  return out;
}

}  // namespace

const std::string* HttpHead::field(std::string_view name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return &v;
  return nullptr;
}

Outcome<HttpClient> HttpClient::connect(const HttpRoute& route, Deadline d) {
  auto s = dial(DialTarget{route.host, route.port, route.unix_path}, d);
  if (!s) return Failure{s.error()};
  return HttpClient(std::move(s.value()));
}

Outcome<bool> HttpClient::send(std::string_view bytes) { return sock_.write_all(bytes, after(io_)); }

Outcome<bool> HttpClient::send_chunk(const char* data, std::size_t n) {
  const std::string head = chunk_head(n);
  iovec v[3] = {{const_cast<char*>(head.data()), head.size()},
                {const_cast<char*>(data), n},
                {const_cast<char*>(kChunkEnd.data()), kChunkEnd.size()}};
  return sock_.write_all(v, 3, after(io_));
}

Outcome<bool> HttpClient::send_last_chunk() { return send(kLastChunk); }

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
      h.fields = field_lines(avail.substr(0, r.size));
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
  if (head.status == 204 || head.status == 304 || (head.status >= 100 && head.status < 200)) return Fields{};
  const std::string* te = head.field("transfer-encoding");
  if (te && lower(*te).find("chunked") != std::string::npos) {
    ChunkedDecoder dec;
    for (;;) {
      while (in_pos_ < in_.size()) {
        const auto step = dec.next(in_.data() + in_pos_, in_.size() - in_pos_);
        in_pos_ += step.consumed;
        if (step.kind == ChunkedDecoder::Step::Kind::error) return Failure{std::string("Parse Error: ") + step.error};
        if (step.kind == ChunkedDecoder::Step::Kind::done) return dec.trailers();
        if (step.kind == ChunkedDecoder::Step::Kind::data && !sink(step.data)) return Fields{};
      }
      auto n = fill(idle);
      if (!n) return Failure{n.error()};
      if (n.value() == 0) return Failure{"socket hang up"};  // ended inside the body
    }
  }
  if (const std::string* cl = head.field("content-length")) {
    // The codec checked it is 1*DIGIT without overflow.
    std::uint64_t left = std::strtoull(cl->c_str(), nullptr, 10);
    for (;;) {
      const std::size_t have = std::min<std::uint64_t>(left, in_.size() - in_pos_);
      if (have) {
        const std::string_view piece(in_.data() + in_pos_, have);
        in_pos_ += have;
        left -= have;
        if (!sink(piece)) return Fields{};
      }
      if (left == 0) return Fields{};
      auto n = fill(idle);
      if (!n) return Failure{n.error()};
      if (n.value() == 0) return Failure{"socket hang up"};
    }
  }
  // Neither: the body ends with the connection.
  for (;;) {
    if (in_pos_ < in_.size()) {
      const std::string_view piece(in_.data() + in_pos_, in_.size() - in_pos_);
      in_pos_ = in_.size();
      if (!sink(piece)) return Fields{};
    }
    auto n = fill(idle);
    if (!n) return Failure{n.error()};
    if (n.value() == 0) return Fields{};
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
