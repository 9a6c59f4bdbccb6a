// One HTTP/1.1 response body as its bytes arrive, whatever frames it
// (RFC 9112 §6.3): none (1xx, 204, 304), chunked (the codec's decoder,
// include/hms/http_body.hpp; trailers kept), Content-Length bytes, or
// everything until the connection closes. Pure: bytes in, views out; no
// syscalls. HttpClient feeds it from its receive buffer.
//
// ### Steps
// next(p, n) takes the bytes received and not yet consumed and returns one
// step:
//   data       `data` is body bytes, a view into [p, p + consumed)
//   need_more  drop `consumed` bytes, keep the rest and call again with
//              them followed by what arrives next (what is kept is at most a
//              partial trailer line, never body data)
//   done       the body is over; bytes after `consumed` are not ours
//   error      `error` names why (the codec's BodyError name); the body
//              cannot be read further
// The steps do not depend on how the bytes were split (tested at every
// split). When the connection ends, closed() says whether that ended the
// body (a close-delimited one) or cut it short.
//
// ### Lifetime
// A step's `data` lives as long as the bytes passed to that next() call.
// trailers() are copies, owned by this object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hms/http_body.hpp"

namespace hms::cli {

// Header or trailer fields: names lower-cased, values as sent (trimmed).
using Fields = std::vector<std::pair<std::string, std::string>>;

// What a response head says about its body.
struct BodyFraming {
  int status = 0;
  std::string transfer_encoding;  // "" when absent
  bool has_content_length = false;
  std::uint64_t content_length = 0;
};

class ResponseBody {
 public:
  struct Step {
    enum class Kind : unsigned char { data, need_more, done, error } kind = Kind::need_more;
    std::size_t consumed = 0;
    std::string_view data;   // kind == data
    const char* error = "";  // kind == error, a static string
  };

  explicit ResponseBody(const BodyFraming& head);

  Step next(const char* p, std::size_t n);
  // The peer closed with the body unfinished: true when that is its end.
  bool closed() const noexcept { return framing_ == Framing::until_close; }
  // The trailer fields of a chunked body (names lower-cased), once done.
  const Fields& trailers() const noexcept { return trailers_; }

 private:
  enum class Framing : unsigned char { none, chunked, length, until_close };
  Step next_chunked(const char* p, std::size_t n);

  Framing framing_;
  ChunkedState chunked_;
  LengthState length_;
  Fields trailers_;
};

}  // namespace hms::cli
