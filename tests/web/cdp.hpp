// Web test harness: headless Chromium driven over the Chrome DevTools
// Protocol (a WebSocket on loopback), just enough to load a page, evaluate
// JavaScript in it and take a screenshot.
//
// Chromium is started with --remote-debugging-port=0 and a private profile
// directory; it writes the port it chose into <profile>/DevToolsActivePort.
// The page target's WebSocket URL comes from GET /json/list. Every wait has
// a deadline; the browser is killed (by pid) when the Browser object goes.
#pragma once

#include <simdjson.h>

#include "web/web_client.hpp"

namespace hms::webtest {

// The Chromium binary: $HMS_CHROMIUM, else /usr/bin/chromium; "" when it is
// not an executable file (the browser tests then skip, saying so).
inline std::string chromium_path() {
  const char* env = std::getenv("HMS_CHROMIUM");
  const std::string path = env && *env ? env : "/usr/bin/chromium";
  return ::access(path.c_str(), X_OK) == 0 ? path : std::string();
}

// JSON string text (with quotes) of `s`.
inline std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

inline std::string base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  unsigned bits = 0;
  int nbits = 0;
  for (const char c : in) {
    const int v = value(c);
    if (v < 0) continue;  // '=' padding and line breaks
    bits = (bits << 6) | static_cast<unsigned>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out += static_cast<char>((bits >> nbits) & 0xff);
    }
  }
  return out;
}

// A client WebSocket (RFC 6455) on a blocking loopback socket: text frames
// out (masked, as a client must), whole messages in.
class WebSocket {
 public:
  WebSocket(std::uint16_t port, const std::string& path) : sock_(port) {
    require(sock_.send_all("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
            "websocket: sending the upgrade failed");
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    std::string& buf = sock_.buffer();
    while (buf.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < deadline)
      require(sock_.read_some(50ms), "websocket: connection closed during the upgrade");
    const std::size_t end = buf.find("\r\n\r\n");
    require(end != std::string::npos && buf.starts_with("HTTP/1.1 101"), "websocket: upgrade refused: " + buf);
    buf.erase(0, end + 4);
  }

  void send_text(std::string_view text) {
    std::string frame;
    frame += static_cast<char>(0x81);  // FIN, text
    const std::size_t n = text.size();
    if (n < 126) {
      frame += static_cast<char>(0x80 | n);
    } else if (n < 65536) {
      frame += static_cast<char>(0x80 | 126);
      frame += static_cast<char>(n >> 8);
      frame += static_cast<char>(n & 0xff);
    } else {
      frame += static_cast<char>(0x80 | 127);
      for (int i = 7; i >= 0; --i) frame += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff);
    }
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    frame.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < n; ++i) frame += static_cast<char>(text[i] ^ mask[i % 4]);
    require(sock_.send_all(frame), "websocket: send failed");
  }

  // The next whole message (continuations joined; control frames skipped),
  // or nullopt at the deadline or the end of the connection.
  std::optional<std::string> receive(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string message;
    for (;;) {
      std::string& buf = sock_.buffer();
      if (buf.size() >= 2) {
        const auto* b = reinterpret_cast<const unsigned char*>(buf.data());
        const bool fin = b[0] & 0x80;
        const int opcode = b[0] & 0x0f;
        std::uint64_t len = b[1] & 0x7f;
        std::size_t at = 2;
        if (len == 126 && buf.size() >= 4) len = (std::uint64_t{b[2]} << 8) | b[3], at = 4;
        else if (len == 127 && buf.size() >= 10) {
          len = 0;
          for (int i = 0; i < 8; ++i) len = (len << 8) | b[2 + i];
          at = 10;
        } else if (len >= 126) {
          at = 0;  // the length itself is not in yet
        }
        if (at && buf.size() >= at + len) {
          const std::string payload = buf.substr(at, len);
          buf.erase(0, at + len);
          if (opcode == 0x8) return std::nullopt;  // close
          if (opcode == 0x1 || opcode == 0x2 || opcode == 0x0) {
            message += payload;
            if (fin) return message;
          }
          continue;
        }
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      if (!sock_.read_some(20ms)) return std::nullopt;
    }
  }

 private:
  RawSocket sock_;
};

// Headless Chromium showing one page, driven through DevTools.
class Browser {
 public:
  // Starts the browser on `url` with a window of width x height.
  Browser(const std::string& binary, const std::string& url, int width = 1280, int height = 900) {
    chromium_ = std::make_unique<Child>(
        binary, std::vector<std::string>{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                         "--no-first-run", "--log-level=3", "--no-default-browser-check", "--disable-extensions",
                                         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                                         "--user-data-dir=" + profile_.file("profile"),
                                         "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                                         url});
    const std::uint16_t port = devtools_port();
    ws_ = std::make_unique<WebSocket>(port, page_target(port));
  }

  // Sends a DevTools command and returns its answer's `result` as JSON
  // text; throws HarnessFailure on an error answer or at the deadline.
  std::string call(const std::string& method, const std::string& params = "{}") {
    const int id = ++last_id_;
    ws_->send_text("{\"id\":" + std::to_string(id) + ",\"method\":\"" + method + "\",\"params\":" + params + "}");
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto msg = ws_->receive(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      require(msg.has_value(), "devtools: no answer to " + method);
      simdjson::dom::element doc;
      require(parser_.parse(*msg).get(doc) == simdjson::SUCCESS, "devtools: an answer that is not JSON");
      std::int64_t got = 0;
      if (doc["id"].get(got) != simdjson::SUCCESS || got != id) continue;  // an event, or another answer
      simdjson::dom::element result;
      require(doc["result"].get(result) == simdjson::SUCCESS, method + " failed: " + *msg);
      return simdjson::minify(result);
    }
    throw HarnessFailure("devtools: no answer to " + method + " in time");
  }

  // The value of a JavaScript expression, as a string (String(value));
  // a promise is awaited. An exception in the page is a harness failure.
  std::string eval(const std::string& expression) {
    const std::string result = call("Runtime.evaluate", "{\"expression\":" + json_quote("String(" + expression + ")") +
                                                             ",\"returnByValue\":true,\"awaitPromise\":true}");
    simdjson::dom::element doc;
    require(parser_.parse(result).get(doc) == simdjson::SUCCESS, "devtools: bad evaluate result");
    std::string_view value;
    require(doc["result"]["value"].get(value) == simdjson::SUCCESS, "page error in `" + expression + "`: " + result);
    return std::string(value);
  }

  // Polls a boolean expression until it holds or `timeout` passes.
  bool wait_for(const std::string& expression, std::chrono::milliseconds timeout = kWait) {
    return eventually([&] { return eval("!!(" + expression + ")") == "true"; }, timeout);
  }

  // A PNG of the page as it shows now.
  std::string screenshot() {
    const std::string result = call("Page.captureScreenshot", R"({"format":"png"})");
    simdjson::dom::element doc;
    std::string_view data;
    require(parser_.parse(result).get(doc) == simdjson::SUCCESS && doc["data"].get(data) == simdjson::SUCCESS,
            "devtools: no screenshot data");
    return base64_decode(data);
  }

 private:
  std::uint16_t devtools_port() {
    const std::string file = profile_.file("profile/DevToolsActivePort");
    std::uint16_t port = 0;
    const bool found = eventually(
        [&] {
          std::ifstream in(file);
          int p = 0;
          if (in >> p && p > 0 && p < 65536) port = static_cast<std::uint16_t>(p);
          return port != 0;
        },
        20s);
    require(found, "chromium did not write " + file + " in time");
    return port;
  }

  // GET on the DevTools HTTP server, which keeps the connection open: the
  // answer ends where its Content-Length says.
  static HttpAnswer devtools_get(std::uint16_t port, const std::string& path) {
    RawSocket s(port);
    require(s.send_all("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), "devtools: send failed");
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      const HttpAnswer a = parse_answer(s.buffer());
      const std::string length = a.header("Content-Length");
      if (a.status && !length.empty() && a.body.size() >= std::stoul(length)) return a;
      if (!s.read_some(50ms)) return parse_answer(s.buffer());
    }
    return {};
  }

  // The ws path of the page target (/devtools/page/<id>).
  std::string page_target(std::uint16_t port) {
    std::string path;
    const bool found = eventually(
        [&] {
          const HttpAnswer a = devtools_get(port, "/json/list");
          simdjson::dom::element doc;
          if (a.status != 200 || parser_.parse(a.body).get(doc) != simdjson::SUCCESS) return false;
          simdjson::dom::array targets;
          if (doc.get(targets) != simdjson::SUCCESS) return false;
          for (auto t : targets) {
            std::string_view type, ws;
            if (t["type"].get(type) == simdjson::SUCCESS && type == "page" &&
                t["webSocketDebuggerUrl"].get(ws) == simdjson::SUCCESS) {
              const std::size_t at = ws.find("/devtools/");
              if (at != std::string_view::npos) path = std::string(ws.substr(at));
              return !path.empty();
            }
          }
          return false;
        },
        kWait);
    require(found, "chromium has no page target");
    return path;
  }

  TempDir profile_;
  std::unique_ptr<Child> chromium_;
  std::unique_ptr<WebSocket> ws_;
  simdjson::dom::parser parser_;
  int last_id_ = 0;
};

}  // namespace hms::webtest
