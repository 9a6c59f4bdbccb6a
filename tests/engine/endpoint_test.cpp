// Endpoints: parsing, Unix sockets, IPv6 loopback, and the errors listen
// and connect throw.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <system_error>

#include "engine/loop.hpp"
#include "engine/wire.hpp"
#include "hms/peer.hpp"

using namespace hms;
using namespace hms::test;

namespace {

std::string temp_socket_path(const char* tag) {
  static int n = 0;
  return "/tmp/hms-engine-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n) +
         ".sock";
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Serves get -> "\"<id>\"" on `endpoint` and asks it once from a client on
// the same reactor; returns the server connection's peer name.
std::string round_trip(const std::string& listen_on, const std::function<std::string(std::uint16_t)>& dial) {
  Waiter<std::string> got;
  std::string peer_name;
  std::shared_ptr<Peer> server, client;
  LoopThread loop;
  loop.call([&] {
    auto& l = loop.reactor().listen(listen_on, ListenOptions{}, [&](Connection& c) {
      peer_name = c.peer_name();
      server = Peer::attach(c);
      server->on(Opcode::get, [](Peer&, const Message& m, Reply r) { r.ok(as_json_string(m.id)); });
    });
    client = Peer::connect(loop.reactor(), dial(loop.reactor().listen_port(l)));
    client->get("web", [&](const Result& r) { got.set(std::string(r.text)); });
  });
  EXPECT_TRUE(got.wait_for([](const std::string& s) { return !s.empty(); }));
  EXPECT_EQ(got.get(), "\"web\"");
  const std::string name = loop.call([&] { return peer_name; });
  loop.stop();
  return name;
}

TEST(Endpoints, Parse) {
  Endpoint ep;
  std::string err;
  ASSERT_TRUE(Endpoint::parse("127.0.0.1:10002", &ep, &err));
  EXPECT_EQ(ep.kind, Endpoint::Kind::tcp);
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 10002);
  ASSERT_TRUE(Endpoint::parse("[::1]:80", &ep, &err));
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 80);
  EXPECT_EQ(ep.to_string(), "[::1]:80");
  ASSERT_TRUE(Endpoint::parse("unix:/tmp/x.sock", &ep, &err));
  EXPECT_EQ(ep.kind, Endpoint::Kind::unix_path);
  EXPECT_EQ(ep.path, "/tmp/x.sock");
  EXPECT_EQ(ep.to_string(), "unix:/tmp/x.sock");
  ASSERT_TRUE(Endpoint::parse("/run/hms.sock", &ep, &err));
  EXPECT_EQ(ep.kind, Endpoint::Kind::unix_path);
  ASSERT_TRUE(Endpoint::parse(":9000", &ep, &err));
  EXPECT_EQ(ep.host, "0.0.0.0");
  EXPECT_EQ(ep.port, 9000);
  for (const char* bad : {"host:", "host:65536", "host:12a", "[::1]", "[::1]80", "unix:", "127.0.0.1:123456"})
    EXPECT_FALSE(Endpoint::parse(bad, &ep, &err)) << bad;
}

TEST(Endpoints, UnixSocket) {
  const std::string path = temp_socket_path("unix");
  EXPECT_EQ(round_trip("unix:" + path, [&](std::uint16_t port) {
              EXPECT_EQ(port, 0);  // not a TCP listener
              return "unix:" + path;
            }),
            "unix");
  // The socket file goes with the listener.
  EXPECT_FALSE(exists(path));
}

TEST(Endpoints, UnixSocketByBarePath) {
  const std::string path = temp_socket_path("bare");
  EXPECT_EQ(round_trip(path, [&](std::uint16_t) { return path; }), "unix");
  EXPECT_FALSE(exists(path));
}

TEST(Endpoints, UnixSocketFromARawPeer) {
  // A socket file left over by a dead process is replaced, not an error.
  const std::string path = temp_socket_path("raw");
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path.data(), path.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
    ::close(fd);
  }
  ASSERT_TRUE(exists(path));
  std::shared_ptr<Peer> server;
  LoopThread loop;
  Listener* listener = nullptr;
  loop.call([&] {
    listener = &loop.reactor().listen("unix:" + path, ListenOptions{}, [&](Connection& c) { server = Peer::attach(c); });
  });
  RawSocket s = RawSocket::connect_unix(path);
  ASSERT_TRUE(s.write_all(frame_bytes(FrameType::ping, 77, "")));
  auto pong = s.read_frame();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->type, FrameType::reply);
  EXPECT_EQ(pong->request_id, 77);
  loop.call([&] { loop.reactor().close_listener(*listener); });
  EXPECT_FALSE(exists(path));
  // The accepted connection outlives its listener.
  ASSERT_TRUE(s.write_all(frame_bytes(FrameType::ping, 78, "")));
  pong = s.read_frame();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->request_id, 78);
  loop.stop();
}

TEST(Endpoints, Ipv6Loopback) {
  // Is ::1 there at all? (Containers often run without IPv6.)
  const int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (probe < 0) GTEST_SKIP() << "IPv6 sockets are not available: " << std::strerror(errno);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const int rc = ::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a);
  const int e = errno;
  ::close(probe);
  if (rc != 0) GTEST_SKIP() << "IPv6 loopback ::1 is not configured: " << std::strerror(e);
  const std::string name =
      round_trip("[::1]:0", [](std::uint16_t port) { return "[::1]:" + std::to_string(port); });
  EXPECT_TRUE(name.starts_with("[::1]:")) << name;
}

TEST(Endpoints, ListenAndConnectErrorsThrow) {
  LoopThread loop;
  loop.call([&] {
    auto& l = loop.reactor().listen("127.0.0.1:0", ListenOptions{}, [](Connection& c) { c.close(); });
    const std::string taken = "127.0.0.1:" + std::to_string(loop.reactor().listen_port(l));
    EXPECT_THROW(loop.reactor().listen(taken, ListenOptions{}, [](Connection&) {}), std::system_error);
    EXPECT_THROW(loop.reactor().listen("not-an-endpoint", ListenOptions{}, [](Connection&) {}),
                 std::invalid_argument);
    EXPECT_THROW(loop.reactor().listen("unix:/" + std::string(200, 'x'), ListenOptions{}, [](Connection&) {}),
                 std::invalid_argument);
    // Nothing listens on the port of a closed listener.
    loop.reactor().close_listener(l);
    EXPECT_THROW(Peer::connect(loop.reactor(), taken), std::system_error);
    EXPECT_EQ(loop.reactor().connection_count(), 0u);
  });
  loop.stop();
}

}  // namespace
