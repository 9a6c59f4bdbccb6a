// Attacks on the HTTP side of the port: malformed request lines get a 400
// (they once got a silent close), HEAD and queries work, heads and bodies
// that are too big or never finish are closed, pipelined requests do not
// pile up.
#include "harness/attack.hpp"

namespace hms::attack {
namespace {

// Lower-case methods, a request that is only blank lines, and other
// request lines that are not HTTP: `400 Bad Request`, then closed. (One
// leading empty line is skipped, as RFC 9112 section 2.2 allows: a lone
// CRLF is an unfinished head, ended by the handshake deadline.)
HMS_ATTACK(Http, MalformedRequestLines, {}) {
  for (const std::string req : {"get / HTTP/1.1\r\nHost: x\r\n\r\n", "\r\n\r\n", "\n\n", "connect / HTTP/1.1\r\n\r\n",
                                "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET /  HTTP/1.1\r\n\r\n",
                                "G\x01T / HTTP/1.1\r\n\r\n"}) {
    const HttpAnswer a = http_request(env.port(), req, seconds(kDeadline.handshake) + slack());
    EXPECT_EQ(a.status, "HTTP/1.1 400 Bad Request") << "request " << printable(req) << " -> " << printable(a.head);
    EXPECT_TRUE(a.closed) << printable(req);
  }
  const HttpAnswer a = http_request(env.port(), "\r\n", seconds(kDeadline.handshake) + slack());
  EXPECT_TRUE(a.closed) << "a lone CRLF kept its connection open";
}

// HEAD / answers like GET / without the body; a query string does not
// hide /metrics.
HMS_ATTACK(Http, HeadAndQuery, {}) {
  HttpAnswer a = http_request(env.port(), "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(a.status, "HTTP/1.1 200 OK") << printable(a.head);
  // Read on a little: no body may follow the head.
  auto c = RawConn::open(env.port(), RawConn::Options{.connect_head = false});
  ASSERT_TRUE(c);
  c->send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
  c->wait_closed(2s);
  const std::string& raw = c->raw();
  const std::size_t end = raw.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << printable(raw);
  EXPECT_EQ(raw.size(), end + 4) << "HEAD got a body: " << printable(raw.substr(end + 4));
  a = http_request(env.port(), "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(a.status, "HTTP/1.1 200 OK") << printable(a.head);
  EXPECT_NE(a.body.find("hms_connections"), std::string::npos) << printable(a.body);
  a = http_request(env.port(), "GET /?a=b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(a.status, "HTTP/1.1 200 OK") << printable(a.head);
}

// Heads of 1 MB (one long header, many headers, a long target), ten at
// once: answered with an error or closed promptly, never buffered.
HMS_ATTACK(Http, HugeHeads, {}) {
  std::string many;
  for (int i = 0; i < 20000; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
  const std::vector<std::string> heads = {
      "GET / HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n",
      "CONNECT / HTTP/1.1\r\n" + many + "\r\n",
      "GET /" + std::string(1 << 20, 'p') + " HTTP/1.1\r\n\r\n",
  };
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 10; ++i) {
    for (const auto& h : heads) {
      auto c = RawConn::open(env.port(), RawConn::Options{.connect_head = false});
      ASSERT_TRUE(c);
      c->send(h, 2s);
      conns.push_back(std::move(c));
    }
  }
  EXPECT_EQ(closed_within(conns, slack()), conns.size());
  for (const auto& c : conns) {
    const std::string status = c->raw().substr(0, c->raw().find("\r\n"));
    EXPECT_TRUE(status.empty() || status.compare(0, 10, "HTTP/1.1 4") == 0) << printable(status);
  }
}

// A request body announced and never sent (or trickled): the read
// deadline closes it.
HMS_ATTACK(Http, BodyNeverComes, {}) {
  std::vector<std::unique_ptr<RawConn>> conns;
  for (const std::string h : {"PUT /svc HTTP/1.1\r\nContent-Length: 100000\r\n\r\nabc",
                              "PUT /svc HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
                              "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"}) {
    for (int i = 0; i < 5; ++i) {
      auto c = RawConn::open(env.port(), RawConn::Options{.connect_head = false});
      ASSERT_TRUE(c);
      c->send(h);
      conns.push_back(std::move(c));
    }
  }
  EXPECT_EQ(closed_within(conns, seconds(kDeadline.read) + slack()), conns.size());
}

// 10,000 GET / pipelined in one write: the hub answers and closes; the
// rest is not queued up.
HMS_ATTACK(Http, PipelinedRequests, {}) {
  std::string burst;
  for (int i = 0; i < 10000; ++i) burst += "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int k = 0; k < 10; ++k) {
    auto c = RawConn::open(env.port(), RawConn::Options{.connect_head = false});
    ASSERT_TRUE(c);
    c->send(burst, 2s);
    EXPECT_TRUE(c->wait_closed(slack()));
    EXPECT_EQ(c->raw().compare(0, 15, "HTTP/1.1 200 OK"), 0) << printable(c->raw());
  }
}

// Requests that are HTTP but not ours: unknown methods and paths, bad
// escapes, CONNECT with garbage behind it. Answered or closed, promptly.
HMS_ATTACK(Http, OddRequests, {}) {
  for (const std::string req : {"BREW /pot HTTP/1.1\r\n\r\n", "GET /%zz HTTP/1.1\r\n\r\n", "DELETE / HTTP/1.1\r\n\r\n",
                                "GET /metrics HTTP/1.0\r\n\r\n", "OPTIONS * HTTP/1.1\r\n\r\n",
                                "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                                "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"}) {
    const HttpAnswer a = http_request(env.port(), req, slack());
    EXPECT_TRUE(a.closed) << printable(req) << " -> " << printable(a.head);
    EXPECT_TRUE(a.status.empty() || a.status.compare(0, 9, "HTTP/1.1 ") == 0) << printable(a.status);
  }
  auto c = RawConn::open(env.port(), RawConn::Options{.connect_head = false});
  ASSERT_TRUE(c);
  c->send(kConnectHead + std::string(64, '\xee'));
  EXPECT_TRUE(c->wait_closed(slack())) << "garbage after CONNECT was not a protocol error";
}

}  // namespace
}  // namespace hms::attack
