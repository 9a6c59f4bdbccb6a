#include "response_body.hpp"

namespace hms::cli {

namespace {

using Step = ResponseBody::Step;

Step step(Step::Kind kind, std::size_t consumed, std::string_view data = {}) {
  Step s;
  s.kind = kind;
  s.consumed = consumed;
  s.data = data;
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

}  // namespace

ResponseBody::ResponseBody(const BodyFraming& head) : framing_(Framing::until_close) {
  // RFC 9112 §6.3: 1xx, 204 and 304 answers have no body; a Transfer-
  // Encoding ending in chunked is chunked, any other runs to the close
  // (and wins over a Content-Length); else Content-Length bytes; else the
  // body runs to the close.
  if (head.status == 204 || head.status == 304 || (head.status >= 100 && head.status < 200)) {
    framing_ = Framing::none;
  } else if (is_chunked(head.transfer_encoding)) {
    framing_ = Framing::chunked;
  } else if (head.transfer_encoding.empty() && head.has_content_length) {
    framing_ = Framing::length;
    length_.remaining = head.content_length;
  }
}

Step ResponseBody::next(const char* p, std::size_t n) {
  switch (framing_) {
    case Framing::none:
      return step(Step::Kind::done, 0);
    case Framing::chunked:
      return next_chunked(p, n);
    case Framing::length: {
      const BodyResult r = decode_length(length_, p, n);
      if (r.status == BodyStatus::data) return step(Step::Kind::data, r.consumed, r.bytes);
      return step(r.status == BodyStatus::complete ? Step::Kind::done : Step::Kind::need_more, 0);
    }
    case Framing::until_close:
      break;
  }
  if (n == 0) return step(Step::Kind::need_more, 0);
  return step(Step::Kind::data, n, std::string_view(p, n));
}

Step ResponseBody::next_chunked(const char* p, std::size_t n) {
  // Trailer fields are taken here, so a step is data, need_more, done or
  // error; `used` counts the trailer lines already taken.
  std::size_t used = 0;
  for (;;) {
    const BodyResult r = decode_chunked(chunked_, p + used, n - used);
    switch (r.status) {
      case BodyStatus::trailer:
        trailers_.emplace_back(lower(r.name), std::string(r.value));
        used += r.consumed;
        continue;
      case BodyStatus::data:
        return step(Step::Kind::data, used + r.consumed, r.bytes);
      case BodyStatus::complete:
        return step(Step::Kind::done, used + r.consumed);
      case BodyStatus::need_more:
        return step(Step::Kind::need_more, used + r.consumed);
      case BodyStatus::error:
        break;
    }
    Step s = step(Step::Kind::error, used);
    s.error = to_string(r.error);
    return s;
  }
}

}  // namespace hms::cli
