// Downloading a build from the hub: `GET /<id>` with `origin: <dock id>`,
// as the reference dock asks (reference.md 3.5), read as a stream of body
// bytes for the unpacker. The body may be chunked (the reference terminal
// sends it so), carry a Content-Length, or run to the end of the
// connection; the codec (hms/http.hpp, hms/http_body.hpp) reads the head
// and the framing. Runs on a worker thread; every wait has a deadline.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dock/net.hpp"
#include "dock/options.hpp"
#include "hms/http_body.hpp"

namespace hms::dock {

struct FetchLimits {
  std::chrono::milliseconds connect{10000};  // TCP connect
  std::chrono::milliseconds idle{30000};     // longest wait for any byte
  std::chrono::milliseconds total{600000};   // the whole download
};

class HttpBody {
 public:
  HttpBody() = default;
  ~HttpBody();
  HttpBody(const HttpBody&) = delete;
  HttpBody& operator=(const HttpBody&) = delete;

  // Connects, sends the request and reads the response head. False with
  // error() on any failure (connect, timeout, a head that is not HTTP).
  bool open(const HubAddress& to, std::string_view path, std::string_view origin, const FetchLimits& limits,
            const std::atomic<bool>* cancel);
  int status() const noexcept { return status_; }

  // The next piece of the body, without copying: > 0 bytes at *data (valid
  // until the next call), 0 at the end of the body, -1 on error (error()):
  // a deadline, a broken chunk, a body cut short.
  long next(const void** data);
  const std::string& error() const noexcept { return error_; }

 private:
  enum class Framing : std::uint8_t { length, chunked, until_close };
  bool fill();  // more bytes into in_, from the socket
  Deadline next_deadline() const;

  int fd_ = -1;
  int status_ = 0;
  Framing framing_ = Framing::until_close;
  LengthState length_;
  ChunkedState chunked_;
  bool body_done_ = false;
  std::array<char, 64 * 1024> in_{};
  std::size_t in_start_ = 0, in_end_ = 0;
  bool eof_ = false;
  FetchLimits limits_;
  Clock::time_point until_{};
  const std::atomic<bool>* cancel_ = nullptr;
  std::string error_;
};

}  // namespace hms::dock
