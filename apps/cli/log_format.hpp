// Log lines as the reference prints them (lib/log-stream.js), fast.
//
// For each stdout/stderr frame: the payload is decoded as UTF-8 (invalid
// bytes become U+FFFD, as Buffer#toString does), trimmed of whitespace at
// both ends, and split at '\n'; every piece is printed as
//
//   yellow(pad(service)) grey(pad(origin)) piece '\n'
//
// A column's width starts at 1 and becomes len + 1 whenever a value of
// length len >= width shows up; it never shrinks, so columns line up once
// every id has been seen (lengths in UTF-16 units, as JavaScript counts).
// spawn and exit frames print "Process spawned with pid <pid>" and
// "Process exited with code <code>" in cyan, aligned the same way. stdout
// and stderr look the same. A line split across two frames prints as two
// lines, as in the reference.
//
// Unlike the reference, the flags work: no id column, no origin column, no
// spawn/exit lines.
//
// Speed: the coloured, padded prefix of each service@origin is built once
// per width change and kept; a frame costs a UTF-8 check, a trim, a memchr
// per line and two memcpys per line into the caller's buffer.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hms::cli {

// A growable byte buffer without std::string's per-append bookkeeping.
class OutBuf {
 public:
  OutBuf() = default;
  ~OutBuf() { delete[] data_; }
  OutBuf(const OutBuf&) = delete;
  OutBuf& operator=(const OutBuf&) = delete;

  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  void clear() noexcept { size_ = 0; }
  std::string_view view() const noexcept { return {data_, size_}; }
  void append(const char* p, std::size_t n) {
    if (n == 0) return;  // memcpy must not see the null of an empty buffer
    if (cap_ - size_ < n) grow(n);
    std::memcpy(data_ + size_, p, n);
    size_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void push(char c) {
    if (cap_ == size_) grow(1);
    data_[size_++] = c;
  }

 private:
  void grow(std::size_t n);
  char* data_ = nullptr;
  std::size_t size_ = 0, cap_ = 0;
};

struct LogStyle {
  bool color = false;
  bool show_id = true;
  bool show_origin = true;
  bool show_events = true;
};

class LogFormatter {
 public:
  explicit LogFormatter(LogStyle style) : style_(style) {}

  // `id` is the frame's whole id field (service@origin), the cache key.
  void output(std::string_view id, std::string_view service, std::string_view origin,
              std::string_view data, OutBuf& out);
  // payload: the frame's JSON (a pid; an exit code, a signal name or null).
  void spawn(std::string_view id, std::string_view service, std::string_view origin,
             std::string_view payload, OutBuf& out);
  void exit(std::string_view id, std::string_view service, std::string_view origin,
            std::string_view payload, OutBuf& out);

 private:
  struct Prefix {
    std::size_t service_len = 0, origin_len = 0;  // JavaScript lengths
    std::size_t id_w = 0, origin_w = 0;           // widths `text` was built for
    std::string service, origin, text;
  };
  const std::string& prefix(std::string_view id, std::string_view service, std::string_view origin);
  void lines(const std::string& prefix, std::string_view text, OutBuf& out);
  void event(std::string_view id, std::string_view service, std::string_view origin,
             std::string_view what, std::string_view payload, OutBuf& out);

  LogStyle style_;
  std::size_t id_w_ = 1, origin_w_ = 1;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Prefix, Hash, std::equal_to<>> cache_;
  Prefix* last_ = nullptr;  // the previous frame's entry (stable: node-based map)
  std::string last_id_;
  std::string scratch_;
};

// The text JavaScript's `'' + JSON.parse(payload)` gives (5905, null,
// SIGTERM, ...); the payload itself when it is not JSON.
std::string js_text_of_json(std::string_view payload);

}  // namespace hms::cli
