#include "dock/fetch.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "hms/http.hpp"

namespace hms::dock {

namespace {

// The value of header `name` in a complete response head, or an empty view
// (the codec validates the head but does not hand out response fields).
std::string_view header(std::string_view head, std::string_view name) {
  std::size_t pos = head.find('\n');
  while (pos != std::string_view::npos && pos + 1 < head.size()) {
    const std::size_t start = pos + 1;
    const std::size_t end = head.find('\n', start);
    std::string_view line = head.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t colon = line.find(':');
    if (colon == name.size()) {
      bool same = true;
      for (std::size_t i = 0; i < colon && same; ++i)
        same = std::tolower(static_cast<unsigned char>(line[i])) == std::tolower(static_cast<unsigned char>(name[i]));
      if (same) {
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        return v;
      }
    }
    pos = end;
  }
  return {};
}

bool contains_token(std::string_view v, std::string_view token) {
  std::string lower(v);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find(token) != std::string::npos;
}

}  // namespace

HttpBody::~HttpBody() {
  if (fd_ >= 0) ::close(fd_);
}

Deadline HttpBody::next_deadline() const {
  return Deadline{std::min(until_, Clock::now() + limits_.idle), cancel_};
}

bool HttpBody::open(const HubAddress& to, std::string_view path, std::string_view origin,
                    const FetchLimits& limits, const std::atomic<bool>* cancel) {
  limits_ = limits;
  cancel_ = cancel;
  until_ = Clock::now() + limits.total;
  fd_ = connect_tcp(to, Deadline{std::min(until_, Clock::now() + limits.connect), cancel}, &error_);
  if (fd_ < 0) return false;
  // As the reference dock's http.get, but asking the server to close after
  // the answer: one download per connection.
  std::string req = "GET ";
  req.append(path);
  req += " HTTP/1.1\r\norigin: ";
  req.append(origin);
  req += "\r\nHost: " + to.text() + "\r\nConnection: close\r\n\r\n";
  if (!send_all(fd_, req, next_deadline(), &error_)) return false;
  // The head: read until its blank line (bytes behind it stay in in_).
  for (;;) {
    if (in_end_ == in_.size() || !fill()) {
      if (error_.empty()) error_ = in_end_ == in_.size() ? "response head too long" : "socket hang up";
      return false;
    }
    ResponseHead rh;
    const HttpResult r = parse_response_head(in_.data(), in_end_, &rh, in_.size());
    if (r.status == HttpStatus::error) {
      error_ = std::string("bad response from the hub (") + to_string(r.error) + ")";
      return false;
    }
    if (r.status == HttpStatus::need_more) continue;
    status_ = rh.status;
    const std::string_view head(in_.data(), r.size);
    in_start_ = r.size;
    const std::string_view te = header(head, "transfer-encoding");
    const std::string_view cl = header(head, "content-length");
    if (!te.empty() && contains_token(te, "chunked")) {
      framing_ = Framing::chunked;
    } else if (!cl.empty()) {
      framing_ = Framing::length;
      remaining_ = 0;
      for (char c : cl) {
        if (c < '0' || c > '9' || remaining_ > (std::uint64_t{1} << 60)) {
          error_ = "bad Content-Length from the hub";
          return false;
        }
        remaining_ = remaining_ * 10 + static_cast<std::uint64_t>(c - '0');
      }
    } else {
      framing_ = Framing::until_close;
    }
    return true;
  }
}

bool HttpBody::fill() {
  if (eof_) return false;
  if (in_start_ == in_end_) in_start_ = in_end_ = 0;
  if (in_end_ == in_.size()) {
    // Keep the unread tail, make room behind it.
    std::memmove(in_.data(), in_.data() + in_start_, in_end_ - in_start_);
    in_end_ -= in_start_;
    in_start_ = 0;
    if (in_end_ == in_.size()) return false;
  }
  const long n = recv_some(fd_, in_.data() + in_end_, in_.size() - in_end_, next_deadline(), &error_);
  if (n < 0) return false;
  if (n == 0) {
    eof_ = true;
    return false;
  }
  in_end_ += static_cast<std::size_t>(n);
  return true;
}

long HttpBody::read(void* buf, std::size_t n) {
  if (n == 0) return 0;
  for (;;) {
    if (in_start_ == in_end_) {
      if (framing_ == Framing::length && remaining_ == 0) return 0;
      if (framing_ == Framing::chunked && chunks_.done()) return 0;
      if (!fill()) {
        if (!error_.empty()) return -1;
        // End of stream: fine only where the framing says the body is over.
        if (framing_ == Framing::until_close) return 0;
        error_ = "the hub closed the connection before the whole build was sent";
        return -1;
      }
    }
    const char* p = in_.data() + in_start_;
    const std::size_t avail = in_end_ - in_start_;
    switch (framing_) {
      case Framing::until_close: {
        const std::size_t k = std::min(avail, n);
        std::memcpy(buf, p, k);
        in_start_ += k;
        body_bytes_ += k;
        return static_cast<long>(k);
      }
      case Framing::length: {
        if (remaining_ == 0) return 0;
        const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>({avail, n, remaining_}));
        std::memcpy(buf, p, k);
        in_start_ += k;
        remaining_ -= k;
        body_bytes_ += k;
        return static_cast<long>(k);
      }
      case Framing::chunked: {
        if (chunks_.done()) return 0;
        const ChunkedDecoder::Step st = chunks_.step(p, std::min(avail, n));
        if (chunks_.failed()) {
          error_ = std::string("bad chunked body from the hub: ") + chunks_.error();
          return -1;
        }
        if (st.body_len) {
          std::memmove(buf, p + st.body_off, st.body_len);
          in_start_ += st.used;
          body_bytes_ += st.body_len;
          return static_cast<long>(st.body_len);
        }
        in_start_ += st.used;
        if (chunks_.done()) return 0;
        if (st.used == 0 && in_start_ != in_end_) {
          // The decoder wants more than is buffered: read more.
          if (!fill()) {
            if (error_.empty()) error_ = "the hub closed the connection in the middle of a chunk";
            return -1;
          }
        }
        continue;
      }
    }
  }
}

}  // namespace hms::dock
