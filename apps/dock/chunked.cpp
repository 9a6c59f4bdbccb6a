#include "dock/chunked.hpp"

namespace hms::dock {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

ChunkedDecoder::Step ChunkedDecoder::step(const char* in, std::size_t len) noexcept {
  Step s;
  std::size_t i = 0;
  auto bad = [&](const char* why) {
    fail(why);
    s.used = i;
    return s;
  };
  while (i < len) {
    const char c = in[i];
    switch (state_) {
      case State::size: {
        const int h = hex(c);
        if (h >= 0) {
          if (++digits_ > 15) return bad("chunk size too large");
          size_ = size_ * 16 + static_cast<std::uint64_t>(h);
          ++i;
          break;
        }
        if (digits_ == 0) return bad("bad chunk size line");
        if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::ext;
          line_ = digits_;
          break;
        }
        state_ = State::size_lf;
        if (c == '\r') ++i;
        break;
      }
      case State::ext:
        if (c == '\r' || c == '\n') {
          state_ = State::size_lf;
          if (c == '\r') ++i;
          break;
        }
        if (++line_ > kMaxLine) return bad("chunk extension too long");
        ++i;
        break;
      case State::size_lf:
        if (c != '\n') return bad("bad chunk size line");
        ++i;
        digits_ = 0;
        if (size_ == 0) {
          state_ = State::trailer;
          line_ = 0;
          trailer_empty_ = true;
        } else {
          left_ = size_;
          state_ = State::data;
        }
        break;
      case State::data: {
        // One run of body bytes per step: the caller takes it, then calls
        // again with the rest.
        const std::size_t n = static_cast<std::size_t>(left_ < len - i ? left_ : len - i);
        s.body_off = i;
        s.body_len = n;
        left_ -= n;
        i += n;
        if (left_ == 0) {
          state_ = State::data_cr;
          size_ = 0;
        }
        s.used = i;
        return s;
      }
      case State::data_cr:
        if (c == '\r') {
          state_ = State::data_lf;
          ++i;
        } else if (c == '\n') {
          state_ = State::size;
          ++i;
        } else {
          return bad("chunk data longer than its size");
        }
        break;
      case State::data_lf:
        if (c != '\n') return bad("chunk data longer than its size");
        state_ = State::size;
        ++i;
        break;
      case State::trailer:
        if (c == '\r') {
          state_ = State::trailer_lf;
          ++i;
          break;
        }
        if (c == '\n') {
          ++i;
          if (trailer_empty_) {
            state_ = State::done;
            s.used = i;
            return s;
          }
          line_ = 0;
          trailer_empty_ = true;
          break;
        }
        if (++line_ > kMaxLine) return bad("trailer line too long");
        trailer_empty_ = false;
        ++i;
        break;
      case State::trailer_lf:
        if (c != '\n') return bad("bad trailer line");
        ++i;
        if (trailer_empty_) {
          state_ = State::done;
          s.used = i;
          return s;
        }
        state_ = State::trailer;
        line_ = 0;
        trailer_empty_ = true;
        break;
      case State::done:
      case State::failed:
        s.used = i;
        return s;
    }
  }
  s.used = i;
  return s;
}

}  // namespace hms::dock
