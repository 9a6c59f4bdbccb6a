// The dock's own port: GET /, the 404 text, the client handshake, and the
// commands a client may and may not give, with the reference's texts; and
// the same commands from the hub, where the reference answers differently.
#include <netinet/in.h>

#include "dock/dock_run.hpp"
#include "dock/peers.hpp"

namespace hms::docktest {
namespace {

std::string http(std::uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST(ClientPortTest, HttpAnswers) {
  TempDir dir;
  FakeHub hub;
  DockRun dock(dir.file("dock"), hub.port());
  EXPECT_EQ(http(dock.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\nhms-dock 0.1.0\n");
  EXPECT_EQ(http(dock.port, "GET /web HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 23\r\nConnection: close\r\n\r\nCannot deploy to a dock");
  EXPECT_EQ(http(dock.port, "PUT /web HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 23\r\nConnection: close\r\n\r\nCannot deploy to a dock");
}

TEST(ClientPortTest, HandshakeAndCommands) {
  TempDir dir;
  FakeHub hub;
  DockRun dock(dir.file("dock"), hub.port(), {"--tag", "eu", "--tag", "web"});
  ASSERT_TRUE(hub.wait_dock());
  EXPECT_EQ(hub.last_handshake().rfind(R"({"type":"dock","version":"0.1.0","id":"d1","tags":["eu","web"],"default":false,)", 0), 0u)
      << hub.last_handshake();

  {
    Client c(dock.port, false);
    EXPECT_TRUE(c.call(Opcode::list, "").error("Command is not supported"));
    EXPECT_TRUE(c.call(Opcode::handshake, "", R"({"type":"client"})").error("Server and client do not speak the same protocol"));
    EXPECT_TRUE(c.call(Opcode::handshake, "", R"({"type":"dock","protocol":1})").error("Invalid handshake"));
    EXPECT_TRUE(c.call(Opcode::handshake, "", "not json").error("Server and client do not speak the same protocol"));
    const Got g = c.call(Opcode::handshake, "", R"({"type":"client","protocol":1})");
    ASSERT_TRUE(g.ok()) << g;
    EXPECT_EQ(g.text.rfind(R"({"type":"dock","version":"0.1.0","id":"d1","tags":["eu","web"],"default":false)", 0), 0u) << g.text;
    EXPECT_NE(g.text.find(R"("protocol":1})"), std::string::npos) << g.text;
    // Only one handshake, as the reference's once('handshake').
    EXPECT_TRUE(c.call(Opcode::handshake, "", R"({"type":"client","protocol":1})").error("Command is not supported"));
  }

  Client c(dock.port);
  ASSERT_TRUE(c.handshake_reply.ok());
  EXPECT_TRUE(c.call(Opcode::get, "nope").error("Service not found"));
  EXPECT_TRUE(c.call(Opcode::start, "nope").error("Service not found"));
  EXPECT_TRUE(c.call(Opcode::stop, "nope").error("Service not found"));
  EXPECT_TRUE(c.call(Opcode::restart, "nope").error("Service not found"));
  EXPECT_TRUE(c.call(Opcode::subscribe, "nope").error("Service not found"));
  EXPECT_TRUE(c.call(Opcode::sync, "nope", "{}").error("Cannot sync from a dock"));
  EXPECT_TRUE(c.call(Opcode::remove, "nope").error("Cannot remove on a dock"));
  EXPECT_TRUE(c.call(Opcode::update, "nope", "{}").error("Cannot update on a dock"));
  EXPECT_TRUE(c.call(Opcode::add, "nope", "{}").error("Command is not supported"));
  EXPECT_TRUE(c.call(Opcode::subscribe, "*").ok());
  EXPECT_TRUE(c.call(Opcode::unsubscribe, "nope").ok());
  EXPECT_EQ(c.call(Opcode::list, "").text, "[]");
  EXPECT_EQ(ps_stat(c.call(Opcode::ps, "").text, "framesSent"), 0);

  // The hub gets the reference's lenient answers for unknown ids.
  EXPECT_EQ(hub.call(Opcode::get, "nope").text, "null");
  EXPECT_TRUE(hub.start("nope").ok());
  EXPECT_TRUE(hub.stop("nope").ok());
  EXPECT_TRUE(hub.call(Opcode::update, "nope", "{}").ok());
  EXPECT_TRUE(hub.call(Opcode::remove, "nope").ok());
  EXPECT_TRUE(hub.subscribe("nope").ok());
  EXPECT_TRUE(hub.call(Opcode::add, "nope", "{}").error("Command is not supported"));

  // A service this dock's tags match, run and controlled from the client.
  hub.serve("api", script_tarball("echo up\nexec sleep 1000\n"));
  ASSERT_TRUE(hub.sync("api", service_json("api", "sh run.sh", "t1", "{}", R"(,"tags":["web"])")).ok());
  ASSERT_TRUE(c.call(Opcode::subscribe, "api").ok());
  ASSERT_TRUE(c.call(Opcode::start, "api").ok());
  ASSERT_TRUE(c.events().wait_bytes(Opcode::stdout_, "api", 3));
  EXPECT_EQ(c.events().bytes(Opcode::stdout_, "api"), "up\n");
  EXPECT_NE(c.call(Opcode::get, "api").text.find(R"("cwd":"builds/api@t1")"), std::string::npos);
  ASSERT_TRUE(c.call(Opcode::stop, "api").ok());
  EXPECT_EQ(ps_entry(c.call(Opcode::ps, "").text, "api").status, "stopped");
  // update from the hub changes start/env for the next start; tags are not
  // updated (only by sync), as the reference.
  ASSERT_TRUE(hub.call(Opcode::update, "api", R"({"start":"sh run.sh again","tags":["other"]})").ok());
  const std::string rec = c.call(Opcode::get, "api").text;
  EXPECT_NE(rec.find(R"("start":"sh run.sh again")"), std::string::npos) << rec;
  EXPECT_NE(rec.find(R"("tags":["web"])"), std::string::npos) << rec;
  // A service whose tags do not match: stored, but start does not run it.
  hub.serve("elsewhere", script_tarball("echo no\n"));
  ASSERT_TRUE(hub.sync("elsewhere", service_json("elsewhere", "sh run.sh", "t1", "{}", R"(,"tags":["us"])")).ok());
  ASSERT_TRUE(hub.start("elsewhere").ok());
  EXPECT_EQ(ps_entry(hub.ps().text, "elsewhere").status, "stopped");
  // remove from the hub: stopped, forgotten, deleted.
  ASSERT_TRUE(hub.call(Opcode::remove, "api").ok());
  EXPECT_FALSE(ps_entry(hub.ps().text, "api").found);
  EXPECT_TRUE(c.call(Opcode::get, "api").error("Service not found"));
  EXPECT_TRUE(dock->wait_for_text("[dock] [api] stopping and removing process"));
}

TEST(ClientPortTest, HubCommandsBeforeItsHandshakeReplyAreAnswered) {
  // A hub subscribes a (re)connecting dock to what its clients listen to
  // before it answers the handshake; the reference dock refused those.
  TempDir dir;
  FakeHub hub({"*"});
  DockRun dock(dir.file("dock"), hub.port());
  ASSERT_TRUE(hub.wait_dock());
  ASSERT_TRUE(dock->wait_for_text("[dock] [*] forwarding events and output")) << dock->transcript();
  hub.serve("api", script_tarball("echo early\nexec sleep 1000\n"));
  ASSERT_TRUE(hub.sync("api", service_json("api", "sh run.sh")).ok());
  ASSERT_TRUE(hub.start("api").ok());
  ASSERT_TRUE(hub.events().wait_bytes(Opcode::stdout_, "api", 6));
  EXPECT_EQ(hub.events().bytes(Opcode::stdout_, "api"), "early\n");
  ASSERT_TRUE(hub.stop("api").ok());
}

}  // namespace
}  // namespace hms::docktest
