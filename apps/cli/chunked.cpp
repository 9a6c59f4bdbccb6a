#include "chunked.hpp"

#include <algorithm>
#include <cstdio>

namespace hms::cli {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_tchar(unsigned char c) {
  // RFC 9110 §5.6.2 token characters.
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace

ChunkedDecoder::Step ChunkedDecoder::fail(const char* why, std::size_t consumed) {
  state_ = State::failed;
  Step s;
  s.kind = Step::Kind::error;
  s.error = why;
  s.consumed = consumed;
  return s;
}

const std::string* ChunkedDecoder::trailer(std::string_view name) const noexcept {
  for (const auto& [k, v] : trailers_)
    if (k == name) return &v;
  return nullptr;
}

bool ChunkedDecoder::end_trailer_line() {
  // field-line = field-name ":" OWS field-value OWS
  const std::string& l = trailer_line_;
  const std::size_t colon = l.find(':');
  if (colon == 0 || colon == std::string::npos) return false;
  std::string name;
  for (std::size_t i = 0; i < colon; ++i) {
    const auto c = static_cast<unsigned char>(l[i]);
    if (!is_tchar(c)) return false;
    name += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  std::size_t b = colon + 1, e = l.size();
  while (b < e && (l[b] == ' ' || l[b] == '\t')) ++b;
  while (e > b && (l[e - 1] == ' ' || l[e - 1] == '\t')) --e;
  for (std::size_t i = b; i < e; ++i) {
    const auto c = static_cast<unsigned char>(l[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  if (trailers_.size() >= kMaxTrailerFields) return false;
  trailers_.emplace_back(std::move(name), l.substr(b, e - b));
  return true;
}

void ChunkedDecoder::end_size_line() {
  line_ = 0;
  digits_ = 0;
  if (size_ == 0) {
    state_ = State::trailer;
  } else {
    left_ = size_;
    state_ = State::data;
  }
  size_ = 0;
}

ChunkedDecoder::Step ChunkedDecoder::next(const char* p, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    const char c = p[i];
    switch (state_) {
      case State::size: {
        const int h = hex_value(c);
        if (h >= 0) {
          if (++digits_ > 15) return fail("chunk size too large", i);
          size_ = size_ * 16 + static_cast<unsigned>(h);
        } else if (digits_ == 0) {
          return fail("bad chunk size", i);
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::ext;  // extensions (and BWS before them) are skipped
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          end_size_line();
          ++i;
          break;
        } else {
          return fail("bad chunk size", i);
        }
        if (++line_ > kMaxLine) return fail("chunk size line too long", i);
        ++i;
        break;
      }
      case State::ext:
        if (c == '\r') state_ = State::size_lf;
        else if (c == '\n') {
          end_size_line();
          ++i;
          break;
        } else if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
          return fail("bad chunk extension", i);
        if (++line_ > kMaxLine) return fail("chunk size line too long", i);
        ++i;
        break;
      case State::size_lf:
        if (c != '\n') return fail("bad chunk size line end", i);
        end_size_line();
        ++i;
        break;
      case State::data: {
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left_, n - i));
        left_ -= take;
        if (left_ == 0) state_ = State::data_cr;
        Step s;
        s.kind = Step::Kind::data;
        s.data = std::string_view(p + i, take);
        s.consumed = i + take;
        return s;
      }
      case State::data_cr:
        if (c == '\r') state_ = State::data_lf;
        else if (c == '\n') state_ = State::size;
        else return fail("chunk data longer than its size", i);
        ++i;
        break;
      case State::data_lf:
        if (c != '\n') return fail("bad chunk data end", i);
        state_ = State::size;
        ++i;
        break;
      case State::trailer:
      case State::trailer_lf: {
        if (state_ == State::trailer_lf && c != '\n') return fail("bad trailer line end", i);
        if (c == '\r' && state_ == State::trailer) {
          state_ = State::trailer_lf;
          ++i;
          break;
        }
        if (c == '\n') {
          ++i;
          state_ = State::trailer;
          if (trailer_line_.empty()) {
            state_ = State::done;
            Step s;
            s.kind = Step::Kind::done;
            s.consumed = i;
            return s;
          }
          if (!end_trailer_line()) return fail("bad trailer field", i - 1);
          trailer_line_.clear();
          break;
        }
        if (++trailer_bytes_ > kMaxTrailers) return fail("trailer section too large", i);
        trailer_line_ += c;
        ++i;
        break;
      }
      case State::done: {
        Step s;
        s.kind = Step::Kind::done;
        s.consumed = i;
        return s;
      }
      case State::failed:
        return fail("chunked body already failed", i);
    }
  }
  Step s;
  s.kind = state_ == State::done ? Step::Kind::done : Step::Kind::need_more;
  s.consumed = i;
  return s;
}

std::string chunk_head(std::size_t n) {
  char buf[32];
  const int k = std::snprintf(buf, sizeof buf, "%zx\r\n", n);
  return std::string(buf, static_cast<std::size_t>(k));
}

}  // namespace hms::cli
