// A small HTTP/1.1 client for the two transfers the CLI makes on the hub's
// port: deploy (PUT /<id>, a chunked upload, the build's output streamed
// back with an `X-Status` trailer) and tarball (GET /<id>).
//
// One request per connection, blocking, every wait bounded: the connect by
// its deadline, each write by `io` (a peer that stops reading), each read by
// `idle` (no byte for that long; a build may be silent for minutes, so the
// caller picks it). Response bodies are framed by Transfer-Encoding:
// chunked (trailers kept), Content-Length, or the end of the connection;
// 1xx, 204 and 304 answers have none. Heads are parsed with hms'
// parse_response_head (the codec; 8 KiB, 64 fields at most).
//
// Kept behind this interface so the shared body codec
// (include/hms/http_body.hpp) can replace chunked.{hpp,cpp} later.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chunked.hpp"
#include "dial.hpp"
#include "link.hpp"

namespace hms::cli {

struct HttpHead {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> fields;  // names lower-cased
  // The first field of that (lower-case) name, or nullptr.
  const std::string* field(std::string_view lower_name) const;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  static Outcome<HttpClient> connect(const HttpRoute& route, Deadline d);

  void set_io_timeout(std::chrono::milliseconds t) { io_ = t; }

  // Raw bytes (a request head).
  Outcome<bool> send(std::string_view bytes);
  // One chunk of a chunked body (n > 0), header, data and CRLF in one write.
  Outcome<bool> send_chunk(const char* data, std::size_t n);
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
