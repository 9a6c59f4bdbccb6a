// The hub's front door: the handshake and its error texts (byte for byte the
// reference terminal's), the access token, and the plain HTTP answers on the
// same port (GET / and GET /metrics).
#include <gtest/gtest.h>

#include "hub/harness.hpp"

namespace hms::hubtest {
namespace {

constexpr std::string_view kNotSupportedText = "Command is not supported";
constexpr std::string_view kBadProtocol = "Server and client do not speak the same protocol";
constexpr std::string_view kBadHandshake = "Invalid handshake";

struct HandshakeTest : ::testing::Test {
  TempDir dir;
  RunningHub hub{hub_options(dir)};
  LoopThread loop;
};

TEST_F(HandshakeTest, ClientAndDockGetTheTerminalReply) {
  TestClient c(loop, hub.port, ClientOpts().no_handshake());
  Got g = c.handshake(R"({"type":"client","version":"2.0.0","hostname":"h"})");
  ASSERT_TRUE(g.ok()) << g;
  EXPECT_EQ(g.text, kTerminalReply);
  TestDock d(loop, hub.port, "dock-a", DockOpts().no_handshake());
  g = d.handshake(R"({"type":"dock","id":"dock-a","tags":["eu"],"default":true,"version":"1"})");
  ASSERT_TRUE(g.ok()) << g;
  EXPECT_EQ(g.text, kTerminalReply);
}

TEST_F(HandshakeTest, ProtocolOtherThanOneIsRefused) {
  // Non-objects too: the reference reads `protocol` off whatever it parsed.
  // (Text that is not JSON at all would crash the reference; we give the
  // same answer, as hms/control.hpp documents.)
  for (const char* hs : {R"({"type":"client","protocol":2})", R"({"type":"client","protocol":"1"})",
                         R"({"type":"client"})", R"({"type":"dock","id":"d","protocol":0})", "null", "1", "[]",
                         R"("client")", "true", R"({"type":5})", R"({"protocol":1.5,"type":"client"})",
                         R"({"type":"client","protocol":1)"}) {
    SCOPED_TRACE(hs);
    TestClient c(loop, hub.port, ClientOpts().no_handshake());
    EXPECT_TRUE(c.raw_handshake(hs).error(kBadProtocol));
    // The reference listens for the handshake once: whatever comes next is
    // a command nobody handles, even a good handshake.
    EXPECT_TRUE(c.handshake(R"({"type":"client"})").error(kNotSupportedText));
    EXPECT_TRUE(c.list().error(kNotSupportedText));
  }
}

TEST_F(HandshakeTest, TypeNeitherDockNorClientIsInvalid) {
  for (const char* hs : {R"({"type":"terminal"})", R"({})", R"({"type":"Client"})", R"({"type":null})"}) {
    SCOPED_TRACE(hs);
    TestClient c(loop, hub.port, ClientOpts().no_handshake());
    EXPECT_TRUE(c.handshake(hs).error(kBadHandshake));
    EXPECT_TRUE(c.handshake(R"({"type":"client"})").error(kNotSupportedText));
    EXPECT_TRUE(c.add("web", "{}").error(kNotSupportedText));
  }
  // Nothing of that reached the registry.
  TestClient ok(loop, hub.port);
  EXPECT_EQ(ok.list().text, "[]");
}

TEST_F(HandshakeTest, SecondHandshakeIsNotSupported) {
  TestClient c(loop, hub.port);
  EXPECT_TRUE(c.handshake(R"({"type":"client"})").error(kNotSupportedText));
  EXPECT_TRUE(c.handshake(R"({"type":"dock","id":"x"})").error(kNotSupportedText));
  // Still a working client.
  EXPECT_TRUE(c.list().ok());
  TestDock d(loop, hub.port, "dock-a");
  EXPECT_TRUE(d.handshake(R"({"type":"dock","id":"dock-a"})").error(kNotSupportedText));
}

TEST_F(HandshakeTest, CommandsBeforeTheHandshakeAreNotSupported) {
  TestClient c(loop, hub.port, ClientOpts().no_handshake());
  EXPECT_TRUE(c.list().error(kNotSupportedText));
  EXPECT_TRUE(c.add("web", R"({"start":"x"})").error(kNotSupportedText));
  EXPECT_TRUE(c.get("web").error(kNotSupportedText));
  EXPECT_TRUE(c.subscribe("*").error(kNotSupportedText));
  EXPECT_TRUE(c.ps().error(kNotSupportedText));
  // The handshake is still open (nothing consumed it) and then it works.
  Got g = c.handshake(R"({"type":"client"})");
  ASSERT_TRUE(g.ok()) << g;
  EXPECT_TRUE(c.add("web", R"({"start":"x"})").ok());
  g = c.list();
  EXPECT_EQ(g.text, R"([{"id":"web","start":"x","env":{}}])");
}

TEST_F(HandshakeTest, DocksCannotSendClientCommands) {
  TestDock d(loop, hub.port, "dock-a");
  EXPECT_TRUE(d.ask([](Peer& p, ReplyCallback cb) { p.list(std::move(cb)); }).error(kNotSupportedText));
  EXPECT_TRUE(d.ask([](Peer& p, ReplyCallback cb) { p.add("web", "{}", std::move(cb)); }).error(kNotSupportedText));
  EXPECT_TRUE(d.ask([](Peer& p, ReplyCallback cb) { p.subscribe("*", std::move(cb)); }).error(kNotSupportedText));
}

TEST_F(HandshakeTest, RawFramesWithoutConnectWork) {
  // The seed's example: frames from the first byte, no HTTP.
  RawSocket s(hub.port);
  ASSERT_TRUE(s.send_all(message_frame(FrameType::request, 7, Opcode::handshake, "",
                                       R"({"type":"client","protocol":1})")));
  const std::string want = plain_frame(FrameType::reply, 7, kTerminalReply);
  ASSERT_TRUE(s.read_at_least(want.size()));
  EXPECT_EQ(s.buffer(), want);
  // An unknown command on the same connection, now a client's.
  ASSERT_TRUE(s.send_all(message_frame(FrameType::request, 8, static_cast<Opcode>(42), "x", "")));
  ASSERT_TRUE(s.read_at_least(want.size() + kHeaderSize + kNotSupportedText.size()));
  EXPECT_EQ(s.buffer().substr(want.size()), plain_frame(FrameType::error, 8, kNotSupportedText));
}

TEST_F(HandshakeTest, ConnectUpgradeAnswersWithTheReferenceHead) {
  RawSocket s(hub.port);
  std::string bytes = "CONNECT / HTTP/1.1\r\norigin: dock-a\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
  // Frames in the same write as the head already belong to the protocol.
  bytes += message_frame(FrameType::request, 0, Opcode::handshake, "", R"({"type":"client","protocol":1})");
  ASSERT_TRUE(s.send_all(bytes));
  const std::string head = "HTTP/1.1 101 Swiching Protocols\r\nUpgrade: hms-protocol\r\nConnection: Upgrade\r\n\r\n";
  ASSERT_TRUE(s.read_at_least(head.size() + kHeaderSize + kTerminalReply.size()));
  EXPECT_EQ(s.buffer().substr(0, head.size()), head);
  EXPECT_EQ(s.buffer().substr(head.size()), plain_frame(FrameType::reply, 0, kTerminalReply));
}

// ------------------------------------------------------------------ token

struct TokenTest : ::testing::Test {
  TempDir dir;
  RunningHub hub{[this] {
    auto o = hub_options(dir);
    o.token = "s3cret";
    return o;
  }()};
  LoopThread loop;
};

TEST_F(TokenTest, MissingOrWrongTokenIsRefusedAndClosed) {
  for (std::optional<std::string> token : {std::optional<std::string>{}, std::optional<std::string>{"s3cre"},
                                           std::optional<std::string>{"s3cret!"}, std::optional<std::string>{""}}) {
    SCOPED_TRACE(token.value_or("<none>"));
    TestClient c(loop, hub.port, ClientOpts().no_handshake());
    std::string hs = R"({"type":"client")";
    if (token) hs += R"(,"token":")" + *token + "\"";
    hs += "}";
    EXPECT_TRUE(c.handshake(hs).error("Invalid token"));
    EXPECT_TRUE(c.wait_closed()) << "a refused connection is closed";
  }
  TestDock d(loop, hub.port, "dock-a", DockOpts().no_handshake());
  EXPECT_TRUE(d.handshake(R"({"type":"dock","id":"dock-a","token":"nope"})").error("Invalid token"));
  EXPECT_TRUE(d.wait_closed());
  EXPECT_TRUE(eventually([&] { return metric(hub.hub->metrics(), "hms_handshake_errors_total") >= 5; }));
}

TEST_F(TokenTest, RightTokenIsAccepted) {
  TestClient c(loop, hub.port, ClientOpts().with_token("s3cret"));
  TestDock d(loop, hub.port, "dock-a", DockOpts().with_token("s3cret"));
  d.set_ps(R"([{"id":"dock-a","list":[]}])");
  EXPECT_TRUE(c.add("web", R"({"start":"x"})").ok());
  const Got g = c.ps();
  EXPECT_TRUE(g.ok()) << g;
  EXPECT_EQ(g.text, R"([{"id":"dock-a","list":[]}])");
  EXPECT_FALSE(c.is_closed());
}

// ------------------------------------------------------------------ HTTP

TEST_F(HandshakeTest, GetSlashAnswersTheVersion) {
  const auto [status, body] = http_get(hub.port, "/");
  EXPECT_EQ(status.substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(body, std::string("hms-terminal ") + hub::kHubVersion + "\n");
}

TEST_F(HandshakeTest, GetMetricsServesPrometheusText) {
  TestDock d(loop, hub.port, "dock-a");
  TestClient c1(loop, hub.port);
  TestClient c2(loop, hub.port);
  ASSERT_TRUE(c1.add("web", "{}").ok());
  const auto [status, body] = http_get(hub.port, "/metrics");
  EXPECT_EQ(status.substr(0, 12), "HTTP/1.1 200");
  EXPECT_NE(body.find("# TYPE hms_connections gauge\n"), std::string::npos) << body;
  EXPECT_EQ(metric(body, R"(hms_connections{kind="dock"})"), 1) << body;
  EXPECT_EQ(metric(body, R"(hms_connections{kind="client"})"), 2) << body;
  EXPECT_EQ(metric(body, "hms_services"), 1) << body;
  EXPECT_GE(metric(body, "hms_reactor_threads"), 1) << body;
  // Every line is a comment or `name[{labels}] value`.
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t e = body.find('\n', pos);
    ASSERT_NE(e, std::string::npos) << "text ends with a newline";
    const std::string line = body.substr(pos, e - pos);
    if (line[0] != '#') {
      const std::size_t sp = line.rfind(' ');
      ASSERT_NE(sp, std::string::npos) << line;
      EXPECT_EQ(line.substr(0, 4), "hms_") << line;
      char* end = nullptr;
      std::strtod(line.c_str() + sp + 1, &end);
      EXPECT_EQ(*end, '\0') << line;
    }
    pos = e + 1;
  }
  const auto [s404, b404] = http_get(hub.port, "/nope");
  EXPECT_EQ(s404.substr(0, 12), "HTTP/1.1 404");
}

}  // namespace
}  // namespace hms::hubtest
