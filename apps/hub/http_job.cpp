#include "http_job.hpp"

#include <algorithm>

namespace hms::hub {

HttpJob::HttpJob(Post post, Connection& c) : conn(&c), post_(std::move(post)) {}

// ---------------------------------------------------------------- worker side

long HttpJob::next_body(const void** data, std::chrono::milliseconds idle) {
  std::unique_lock lock(mu_);
  if (!body_error_.empty() && body_.empty()) return -1;  // it failed already: no second wait
  const bool came = cv_.wait_for(lock, idle, [&] { return !body_.empty() || body_ended_ || cancelled_; });
  if (cancelled_) {
    body_error_ = "the hub is stopping";
    return -1;
  }
  if (!came) {
    body_error_ = "no bytes of the upload for " + std::to_string(idle.count() / 1000) + " s";
    return -1;
  }
  if (body_.empty()) return body_error_.empty() ? 0 : -1;
  current_ = std::move(body_.front());
  body_.pop_front();
  body_bytes_ -= current_.size();
  if (paused_ && body_bytes_ < kBodyLow) {
    paused_ = false;
    post_([self = shared_from_this()] {
      if (self->conn) self->conn->resume_reading();
    });
  }
  *data = current_.data();
  return static_cast<long>(current_.size());
}

std::string HttpJob::body_error() const {
  std::lock_guard lock(mu_);
  return body_error_;
}

void HttpJob::send(std::string bytes) {
  if (bytes.empty() || gone()) return;
  backlog_.fetch_add(bytes.size(), std::memory_order_relaxed);
  post_([self = shared_from_this(), bytes = std::move(bytes)] {
    if (self->conn) self->conn->send_copy(bytes.data(), bytes.size());
    self->note_backlog();
  });
}

void HttpJob::end() {
  post_([self = shared_from_this()] {
    if (self->conn) self->conn->close();
  });
}

bool HttpJob::wait_for_room(std::size_t limit, Clock::time_point until) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, until, [&] {
    return cancelled_ || gone() || backlog_.load(std::memory_order_relaxed) <= limit;
  });
  return !cancelled_ && !gone() && backlog_.load(std::memory_order_relaxed) <= limit;
}

void HttpJob::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

bool HttpJob::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

// ---------------------------------------------------------------- shard side

void HttpJob::push_body(const char* p, std::size_t n) {
  if (n == 0) return;
  std::lock_guard lock(mu_);
  body_.emplace_back(p, n);
  body_bytes_ += n;
  if (!paused_ && body_bytes_ > kBodyHigh && conn) {
    paused_ = true;
    conn->pause_reading();
  }
  cv_.notify_all();
}

void HttpJob::end_body(std::string error) {
  std::lock_guard lock(mu_);
  if (body_ended_) return;
  body_ended_ = true;
  body_error_ = std::move(error);
  cv_.notify_all();
}

void HttpJob::on_closed() {
  conn = nullptr;
  end_body("the client went away before the whole upload arrived");
  std::lock_guard lock(mu_);
  gone_.store(true, std::memory_order_release);
  cv_.notify_all();
}

void HttpJob::on_drained() { note_backlog(); }

void HttpJob::note_backlog() {
  std::lock_guard lock(mu_);
  backlog_.store(conn ? conn->queued_bytes() : 0, std::memory_order_relaxed);
  cv_.notify_all();
}

// ---------------------------------------------------------------- the body

BodyReader::BodyReader(std::shared_ptr<HttpJob> job, bool chunked, std::uint64_t length)
    : job_(std::move(job)), chunked_(chunked) {
  length_.remaining = length;
  if (!chunked_ && length == 0) {
    done_ = true;
    job_->end_body({});
  }
}

void BodyReader::on_bytes(Connection& c, const std::uint8_t* p, std::size_t n, const BufRef&) {
  const char* at = reinterpret_cast<const char*>(p);
  // Until the decoder wants more: the end of a body is seen even when the
  // bytes that complete it were the last of this read.
  while (!done_) {
    const BodyResult r = chunked_ ? decode_chunked(chunks_, at, n) : decode_length(length_, at, n);
    at += r.consumed;
    n -= r.consumed;
    switch (r.status) {
      case BodyStatus::data:
        job_->push_body(r.bytes.data(), r.bytes.size());
        break;
      case BodyStatus::trailer:
        break;  // an upload's trailers mean nothing here
      case BodyStatus::complete:
        done_ = true;
        job_->end_body({});
        break;
      case BodyStatus::error:
        done_ = true;
        job_->end_body(std::string("bad chunked body (") + to_string(r.error) + ")");
        c.pause_reading();
        return;
      case BodyStatus::need_more:
        return;
    }
    if (r.status == BodyStatus::data && r.consumed == 0) return;
  }
  // Bytes after the body (a pipelined request) are not read: the answer
  // closes the connection.
  if (done_) c.pause_reading();
}

void BodyReader::on_read_end(Connection&) {
  // A half-close after the body is fine: the answer still goes out. Before
  // its end, the body is cut short.
  if (!done_) {
    done_ = true;
    job_->end_body("the client ended the upload early");
  }
}

void BodyReader::on_close(Connection&, const CloseInfo&) {
  job_->on_closed();
  delete this;
}

// ---------------------------------------------------------------- answers

namespace {

const char* reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace

std::string response_head(int status, std::string_view fields) {
  std::string out = "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason(status);
  out += "\r\n";
  out += fields;
  out += "\r\n";
  return out;
}

std::string plain_response(int status, std::string_view text) {
  std::string fields = "Content-Type: text/plain\r\nContent-Length: ";
  fields += std::to_string(text.size());
  fields += "\r\nConnection: close\r\n";
  std::string out = response_head(status, fields);
  out += text;
  return out;
}

std::string chunk(std::string_view data) {
  if (data.empty()) return {};
  char size[kMaxChunkHeader];
  const std::size_t n = encode_chunk_header(size, data.size());
  std::string out(size, n);
  out += data;
  out += kChunkEnd;
  return out;
}

}  // namespace hms::hub
