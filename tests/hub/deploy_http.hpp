// Hub test harness for deploys: a source folder packed into a tarball, and
// PUT/GET exchanges read back whole (interim answer, head, chunked body,
// trailers) with the codec's own decoders.
#pragma once

#include <sys/stat.h>

#include "archive/pack.hpp"
#include "hms/http.hpp"
#include "hms/http_body.hpp"
#include "hub/raw_socket.hpp"

namespace hms::hubtest {

// A folder of files to deploy, and its tarball.
class Source {
 public:
  Source() { std::filesystem::create_directories(root()); }
  std::string root() const { return dir_.file("src"); }
  void write(const std::string& name, const std::string& text) {
    const std::filesystem::path p = std::filesystem::path(root()) / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }
  std::string tarball() {
    const std::string out = dir_.file("up.tgz");
    const archive::PackResult r = archive::pack_directory(root(), out);
    require(r.ok, "pack failed: " + archive::describe(r));
    std::ifstream in(out, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  TempDir dir_;
};

struct HttpAnswer {
  bool got_continue = false;  // an interim 100 came first
  int status = 0;
  std::string head;
  std::string body;
  std::map<std::string, std::string> trailers;
  bool complete = false;  // the body's framing ended properly
  std::string x_status() const {
    const auto it = trailers.find("X-Status");
    return it == trailers.end() ? "<none>" : it->second;
  }
};

// Parses a whole HTTP exchange as read from the socket.
inline HttpAnswer parse_answer(std::string all) {
  HttpAnswer a;
  if (all.rfind(kContinueResponse, 0) == 0) {
    a.got_continue = true;
    all.erase(0, kContinueResponse.size());
  }
  ResponseHead rh;
  const HttpResult r = parse_response_head(all.data(), all.size(), &rh);
  if (r.status != HttpStatus::complete) return a;
  a.status = rh.status;
  a.head = all.substr(0, r.size);
  const char* p = all.data() + r.size;
  std::size_t n = all.size() - r.size;
  if (is_chunked(rh.transfer_encoding)) {
    ChunkedState st;
    for (;;) {
      const BodyResult b = decode_chunked(st, p, n);
      p += b.consumed;
      n -= b.consumed;
      if (b.status == BodyStatus::data) a.body.append(b.bytes);
      else if (b.status == BodyStatus::trailer) a.trailers[std::string(b.name)] = std::string(b.value);
      else if (b.status == BodyStatus::complete) {
        a.complete = true;
        break;
      } else break;
    }
  } else {
    a.body.assign(p, n);
    a.complete = !rh.has_content_length || a.body.size() == rh.content_length;
  }
  return a;
}

// One request on a new connection; the answer read until the hub closes.
inline HttpAnswer http_exchange(std::uint16_t port, const std::string& request,
                           std::chrono::milliseconds timeout = 30s) {
  RawSocket s(port);
  require(s.send_all(request), "send failed");
  s.read_to_end(timeout);
  return parse_answer(s.buffer());
}

// PUT /<target> with `body`, by Content-Length or in chunks of `chunk`
// bytes; with `Expect: 100-continue` the body waits for the interim answer.
inline HttpAnswer put(std::uint16_t port, const std::string& target, const std::string& body,
                      std::size_t chunk = 0, bool expect = false) {
  RawSocket s(port);
  std::string head = "PUT " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (chunk) head += "Transfer-Encoding: chunked\r\n";
  else head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (expect) head += "Expect: 100-continue\r\n";
  head += "\r\n";
  require(s.send_all(head), "send failed");
  if (expect) require(s.read_at_least(kContinueResponse.size()), "no 100 Continue");
  if (!chunk) {
    require(s.send_all(body), "body send failed");
  } else {
    for (std::size_t at = 0; at < body.size(); at += chunk) {
      const std::string_view piece = std::string_view(body).substr(at, chunk);
      char size[kMaxChunkHeader];
      const std::size_t k = encode_chunk_header(size, piece.size());
      require(s.send_all(std::string_view(size, k)) && s.send_all(piece) && s.send_all(kChunkEnd), "chunk send failed");
    }
    require(s.send_all("0\r\n\r\n"), "last chunk send failed");
  }
  s.read_to_end(60s);
  return parse_answer(s.buffer());
}

inline HttpAnswer http_fetch(std::uint16_t port, const std::string& target) {
  return http_exchange(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

// The value of a string member of a JSON object, naively (test ids and
// dates hold no quotes), or "<none>".
inline std::string member(const std::string& json, const std::string& name) {
  const std::string key = "\"" + name + "\":\"";
  const std::size_t p = json.find(key);
  if (p == std::string::npos) return "<none>";
  return json.substr(p + key.size(), json.find('"', p + key.size()) - p - key.size());
}

}  // namespace hms::hubtest
