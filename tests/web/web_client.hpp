// Web test harness: one-shot HTTP requests to the hub's page and API, and
// an event-stream reader (GET /api/logs/<id>), over the hub harness's raw
// blocking socket. Every read has a deadline; the hub closes each answer's
// connection (Connection: close), which is how an answer's end is found.
#pragma once

#include <cctype>

#include "hub/harness.hpp"

namespace hms::webtest {

using namespace hms::hubtest;

// An answer: its status code, head (status line and headers) and body.
struct HttpAnswer {
  int status = 0;
  std::string head;
  std::string body;

  // The value of header `name` (any case), or "" when absent.
  std::string header(std::string_view name) const {
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos + 2 < head.size()) {
      const std::size_t start = pos + 2;
      const std::size_t end = head.find("\r\n", start);
      const std::string_view line(head.data() + start, (end == std::string::npos ? head.size() : end) - start);
      const std::size_t colon = line.find(':');
      if (colon == name.size() && std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          })) {
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        return std::string(v);
      }
      pos = end;
    }
    return {};
  }
};

inline std::ostream& operator<<(std::ostream& os, const HttpAnswer& a) { return os << a.head << a.body; }

// Splits the bytes of a whole answer into status, head and body.
inline HttpAnswer parse_answer(const std::string& all) {
  HttpAnswer a;
  const std::size_t head_end = all.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    a.head = all;
    return a;
  }
  a.head = all.substr(0, head_end);
  a.body = all.substr(head_end + 4);
  if (a.head.starts_with("HTTP/1.1 ") && a.head.size() >= 12) a.status = std::atoi(a.head.substr(9, 3).c_str());
  return a;
}

// Sends `request` as it is (a whole request, or a deliberately broken one)
// and reads the answer to the end of the connection.
inline HttpAnswer raw_exchange(std::uint16_t port, const std::string& request) {
  RawSocket s(port);
  require(s.send_all(request), "sending the request failed");
  require(s.read_to_end(), "the hub did not close the connection after its answer");
  return parse_answer(s.buffer());
}

// method path, with extra header lines (each ending in CRLF) and a body
// (Content-Length set when the body is not empty or the method is POST).
inline HttpAnswer http(std::uint16_t port, const std::string& method, const std::string& path,
                       const std::string& headers = {}, const std::string& body = {}) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" + headers;
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  return raw_exchange(port, req);
}

// One event of an event stream.
struct SseEvent {
  std::string name;  // the `event:` field
  std::string data;  // the `data:` field
};

// An open event stream: GET /api/logs/<id> with optional extra headers.
class SseReader {
 public:
  SseReader(std::uint16_t port, const std::string& id, const std::string& headers = {}, int rcvbuf = 0)
      : sock_(port, rcvbuf) {
    require(sock_.send_all("GET /api/logs/" + id + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n" +
                           headers + "\r\n"),
            "sending the stream request failed");
  }

  // Reads the answer head; the answer as far as it is known (an error
  // answer comes whole, then the connection ends).
  HttpAnswer open(std::chrono::milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (sock_.buffer().find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < deadline)
      if (!sock_.read_some(50ms)) break;
    HttpAnswer a = parse_answer(sock_.buffer());
    const std::size_t head_end = sock_.buffer().find("\r\n\r\n");
    if (head_end != std::string::npos) sock_.buffer().erase(0, head_end + 4);
    if (a.status != 200) sock_.read_to_end(timeout), a.body = sock_.buffer();
    return a;
  }

  // The next event (comments and `retry:` skipped), or nullopt when none
  // came within `timeout` or the stream ended.
  std::optional<SseEvent> next(std::chrono::milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::string& buf = sock_.buffer();
      const std::size_t end = buf.find("\n\n");
      if (end != std::string::npos) {
        const std::string block = buf.substr(0, end + 1);
        buf.erase(0, end + 2);
        if (auto e = parse_block(block)) return e;
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      if (!sock_.read_some(20ms)) {
        ended_ = true;
        return std::nullopt;
      }
    }
  }
  bool ended() const { return ended_; }
  RawSocket& socket() { return sock_; }

 private:
  static std::optional<SseEvent> parse_block(const std::string& block) {
    SseEvent e;
    bool any = false;
    std::size_t pos = 0;
    while (pos < block.size()) {
      const std::size_t nl = block.find('\n', pos);
      const std::string line = block.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.starts_with("event: ")) e.name = line.substr(7), any = true;
      else if (line.starts_with("data: ")) e.data = line.substr(6), any = true;
    }
    if (!any) return std::nullopt;
    return e;
  }

  RawSocket sock_;
  bool ended_ = false;
};

}  // namespace hms::webtest
