// A small HTTP/1.1 client for the two transfers the CLI makes on the hub's
// port: deploy (PUT /<id>, a chunked upload, the build's output streamed
// back with an `X-Status` trailer) and tarball (GET /<id>).
//
// One request per connection, blocking, every wait bounded: the connect by
// its deadline, each write by `io` (a peer that stops reading), each read by
// `idle` (no byte for that long; a build may be silent for minutes, so the
// caller picks it). Heads are parsed with hms' parse_response_head (the
// codec; 8 KiB, 64 fields at most), bodies read by ResponseBody (the codec's
// chunked decoder and Content-Length counter; trailers kept).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "dial.hpp"
#include "link.hpp"
#include "response_body.hpp"

namespace hms::cli {

// A response head: what frames its body, and its bytes for field lookups.
struct HttpHead : BodyFraming {
  std::string raw;  // the head as received, blank line included
  // The first field of that name (any case), trimmed; a null view when
  // there is none. A view into `raw`: valid while this head is neither
  // changed, moved nor destroyed.
  std::string_view field(std::string_view name) const;
};

class HttpClient {
 public:
  static Outcome<HttpClient> connect(const HttpRoute& route, Deadline d);

  void set_io_timeout(std::chrono::milliseconds t) { io_ = t; }

  // Raw bytes (a request head).
  Outcome<bool> send(std::string_view bytes);
  // One chunk of a chunked body (n > 0), header, data and CRLF in one write.
  // An empty chunk would end the body, so n == 0 writes nothing.
  Outcome<bool> send_chunk(const char* data, std::size_t n);
  // The last chunk, no trailers: the body ends.
  Outcome<bool> send_last_chunk();
  // True when the server has started answering (or closed): data waits.
  bool answered() const;

  // The response head (1xx interim answers skipped).
  Outcome<HttpHead> read_head(std::chrono::milliseconds idle);
  // The body, piece by piece, to `sink` (return false to stop reading: the
  // result is then ok and the trailers empty). Returns the trailers.
  Outcome<Fields> read_body(const HttpHead& head, std::chrono::milliseconds idle,
                            const std::function<bool(std::string_view)>& sink);
  // The whole body, at most `limit` bytes kept (an error message).
  Outcome<std::string> read_text(const HttpHead& head, std::chrono::milliseconds idle, std::size_t limit);

 private:
  explicit HttpClient(Socket s) : sock_(std::move(s)) {}
  Outcome<std::size_t> fill(std::chrono::milliseconds idle);  // reads more into in_

  Socket sock_;
  std::chrono::milliseconds io_{60000};
  std::string in_;          // received, not consumed
  std::size_t in_pos_ = 0;  // consumed prefix of in_
};

}  // namespace hms::cli
