#include "dock/fetch.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "hms/http.hpp"

namespace hms::dock {

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
    in_start_ = r.size;
    // RFC 9112 6.3: chunked when the last coding is; else Content-Length;
    // else until the connection closes.
    if (is_chunked(rh.transfer_encoding)) {
      framing_ = Framing::chunked;
    } else if (rh.has_content_length) {
      framing_ = Framing::length;
      length_.remaining = rh.content_length;
    } else {
      framing_ = Framing::until_close;
    }
    return true;
  }
}

bool HttpBody::fill() {
  if (eof_) return false;
  if (in_start_ > 0) {
    // Keep the unconsumed tail at the front, make room behind it.
    std::memmove(in_.data(), in_.data() + in_start_, in_end_ - in_start_);
    in_end_ -= in_start_;
    in_start_ = 0;
  }
  if (in_end_ == in_.size()) return false;
  const long n = recv_some(fd_, in_.data() + in_end_, in_.size() - in_end_, next_deadline(), &error_);
  if (n < 0) return false;
  if (n == 0) {
    eof_ = true;
    return false;
  }
  in_end_ += static_cast<std::size_t>(n);
  return true;
}

long HttpBody::next(const void** data) {
  for (;;) {
    if (body_done_) return 0;
    const char* p = in_.data() + in_start_;
    const std::size_t avail = in_end_ - in_start_;
    if (framing_ == Framing::until_close) {
      if (avail) {
        *data = p;
        in_start_ = in_end_;
        return static_cast<long>(avail);
      }
    } else {
      const BodyResult r = framing_ == Framing::chunked ? decode_chunked(chunked_, p, avail)
                                                        : decode_length(length_, p, avail);
      switch (r.status) {
        case BodyStatus::data:
          in_start_ += r.consumed;
          *data = r.bytes.data();
          return static_cast<long>(r.bytes.size());
        case BodyStatus::trailer:
          in_start_ += r.consumed;  // the reference terminal sends none; ignored
          continue;
        case BodyStatus::complete:
          body_done_ = true;
          return 0;
        case BodyStatus::error:
          error_ = std::string("bad chunked body from the hub (") + to_string(r.error) + ")";
          return -1;
        case BodyStatus::need_more:
          in_start_ += r.consumed;
          break;
      }
    }
    // More bytes, please (the view handed out before stays valid until
    // now: fill() moves the buffer only on the next call).
    if (!fill()) {
      if (!error_.empty()) return -1;
      if (framing_ == Framing::until_close) {
        body_done_ = true;
        return 0;
      }
      error_ = "the hub closed the connection before the whole build was sent";
      return -1;
    }
  }
}

}  // namespace hms::dock
