// apps/cli/http_client: responses framed every way, interim answers,
// answers that come early, deadlines and malformed answers; against a
// scripted server on a unix socket.
#include "http_client.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace hms::cli {
namespace {

using namespace std::chrono_literals;

// Accepts one connection, reads the request head, then sends each piece
// with a pause between, and ends its side (or, with `hold`, keeps the
// connection open and silent until the client closes it).
class Server {
 public:
  Server(std::vector<std::string> pieces, std::chrono::milliseconds pause = 0ms, bool read_request = true,
         bool hold = false) {
    char tmpl[] = "/tmp/hms-cli-http-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/s.sock";
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::snprintf(un.sun_path, sizeof un.sun_path, "%s", path_.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
    listen(fd_, 1);
    thread_ = std::thread([this, pieces, pause, read_request, hold] {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      if (read_request) {
        char buf[4096];
        std::string got;
        while (got.find("\r\n\r\n") == std::string::npos) {
          const ssize_t n = read(c, buf, sizeof buf);
          if (n <= 0) break;
          got.append(buf, static_cast<std::size_t>(n));
        }
        request_ = got;
      }
      for (const auto& p : pieces) {
        if (send(c, p.data(), p.size(), MSG_NOSIGNAL) < 0) break;
        std::this_thread::sleep_for(pause);
      }
      if (!hold) shutdown(c, SHUT_WR);
      char sink[4096];
      while (read(c, sink, sizeof sink) > 0) {
      }
      close(c);
    });
  }
  ~Server() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    if (thread_.joinable()) thread_.join();
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  HttpRoute route() const {
    HttpRoute r;
    r.unix_path = path_;
    r.host_header = "localhost";
    return r;
  }
  std::string request_;

 private:
  std::string dir_, path_;
  int fd_ = -1;
  std::thread thread_;
};

struct Got {
  int status = 0;
  std::string body, error;
  Fields trailers;
};

Got get(Server& s, std::chrono::milliseconds idle = 2000ms) {
  Got g;
  auto c = HttpClient::connect(s.route(), std::chrono::steady_clock::now() + 2s);
  if (!c) return Got{0, "", c.error(), {}};
  if (auto w = c->send("GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n"); !w) return Got{0, "", w.error(), {}};
  auto h = c->read_head(idle);
  if (!h) return Got{0, "", h.error(), {}};
  g.status = h->status;
  auto t = c->read_body(h.value(), idle, [&](std::string_view p) {
    g.body.append(p);
    return true;
  });
  if (!t) g.error = t.error();
  else g.trailers = t.value();
  return g;
}

TEST(HttpClient, ChunkedWithTrailerInPieces) {
  Server s({"HTTP/1.1 200 OK\r\nTrailer: X-Status\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nhel", "lo\r\n",
            "0\r\nX-Status: 500\r\n\r\n"},
           20ms);
  const Got g = get(s);
  EXPECT_EQ(g.error, "");
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, "hello");
  ASSERT_EQ(g.trailers.size(), 1u);
  EXPECT_EQ(g.trailers[0].first, "x-status");
  EXPECT_EQ(g.trailers[0].second, "500");
  EXPECT_EQ(s.request_, "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

TEST(HttpClient, ContentLengthCloseDelimitedAndNoBody) {
  {
    Server s({"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\nService not found"});
    const Got g = get(s);
    EXPECT_EQ(g.status, 404);
    EXPECT_EQ(g.body, "Service not found");
  }
  {
    Server s({"HTTP/1.1 200 OK\r\n\r\nuntil ", "the end"}, 10ms);
    const Got g = get(s);
    EXPECT_EQ(g.body, "until the end");
    EXPECT_EQ(g.error, "");
  }
  {
    Server s({"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"});
    const Got g = get(s);
    EXPECT_EQ(g.status, 204);
    EXPECT_EQ(g.body, "");
  }
}

TEST(HttpClient, MalformedAnswers) {
  {
    Server s({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"});
    EXPECT_EQ(get(s).error, "Parse Error: bad_chunk_size");
  }
  {
    Server s({"SSH-2.0-OpenSSH\r\n\r\n"});
    EXPECT_EQ(get(s).error.rfind("Parse Error: ", 0), 0u);
  }
  {
    Server s({});
    EXPECT_EQ(get(s).error, "socket hang up");
  }
  {
    Server s({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"});
    EXPECT_EQ(get(s).error, "socket hang up");
  }
  {
    Server s({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"});
    EXPECT_EQ(get(s).error, "socket hang up");  // ended before the last chunk
  }
}

TEST(HttpClient, IdleDeadline) {
  // One chunk, then silence (the connection stays open).
  Server s({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n"}, 0ms, true, true);
  const auto t0 = std::chrono::steady_clock::now();
  const Got g = get(s, 200ms);
  EXPECT_EQ(g.error, "Timed out after 200 ms without an answer");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_EQ(g.body, "a");
}

TEST(HttpClient, AnEarlyAnswerIsSeen) {
  Server s({"HTTP/1.1 404 Not Found\r\nContent-Length: 23\r\n\r\nCannot deploy to a dock"}, 0ms);
  auto c = HttpClient::connect(s.route(), std::chrono::steady_clock::now() + 2s);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("PUT /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!c->answered() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(c->answered());
  auto h = c->read_head(1s);
  ASSERT_TRUE(h);
  auto text = c->read_text(h.value(), 1s, 64);
  ASSERT_TRUE(text);
  EXPECT_EQ(text.value(), "Cannot deploy to a dock");
}

TEST(HttpClient, ConnectErrors) {
  HttpRoute r;
  r.unix_path = "/tmp/hms-cli-no-such-socket";
  auto c = HttpClient::connect(r, std::chrono::steady_clock::now() + 1s);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), "connect ENOENT /tmp/hms-cli-no-such-socket");
}

}  // namespace
}  // namespace hms::cli
