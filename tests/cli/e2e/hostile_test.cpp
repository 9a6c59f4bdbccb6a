// A hub that answers badly: odd JSON, wrong shapes, no answer, a closed
// connection. The CLI reports it and exits 1, or shows what it got; it never
// crashes or hangs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <thread>

#include "e2e/fixture.hpp"
#include "hms/reactor.hpp"

namespace hms::clitest {
namespace {

// An engine server that speaks the protocol and answers each opcode with
// what the test says.
class FakeHub {
 public:
  using Answer = std::function<void(Peer&, const Message&, Reply)>;
  explicit FakeHub(std::map<Opcode, Answer> answers) : answers_(std::move(answers)) {
    loop_.call([&] {
      ListenOptions lo;
      Listener& l = loop_.reactor().listen("127.0.0.1:0", lo, [this](Connection& c) {
        auto p = Peer::attach(c);
        for (std::uint8_t op = 0; op < kOpcodeCount; ++op) {
          const auto o = static_cast<Opcode>(op);
          auto it = answers_.find(o);
          if (it != answers_.end()) p->on(o, it->second);
          else if (o == Opcode::handshake)
            p->on(o, [](Peer&, const Message&, Reply r) { r.ok(R"({"type":"terminal","version":"x"})"); });
        }
        peers_.push_back(p);
      });
      port_ = loop_.reactor().listen_port(l);
    });
  }
  ~FakeHub() {
    loop_.call([&] {
      for (auto& p : peers_)
        if (!p->closed()) p->close();
    });
    loop_.stop();
  }
  std::string remote() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::map<Opcode, Answer> answers_;
  std::vector<std::shared_ptr<Peer>> peers_;
  test::LoopThread loop_;
  int port_ = 0;
};

FakeHub::Answer reply(std::string body) {
  return [body](Peer&, const Message&, Reply r) { r.ok(body); };
}

struct Case {
  std::string out, err;
  int code;
};

Case run_cli(const TempDir& dir, const std::vector<std::string>& args) {
  RunOptions o;
  o.timeout = 20s;
  const RunResult r = hms(dir, args, o);
  EXPECT_FALSE(r.timed_out) << show(r);
  EXPECT_LT(r.code, 128) << "killed by a signal\n" << show(r);
  return {r.out, r.err, r.code};
}

TEST(Hostile, Handshakes) {
  TempDir dir;
  {
    FakeHub h({{Opcode::handshake, reply("not json")}});
    EXPECT_EQ(run_cli(dir, {"list", h.remote()}).err, "[!] Server sent invalid handshake\n");
  }
  {
    FakeHub h({{Opcode::handshake, reply(R"({"version":1})")}});
    EXPECT_EQ(run_cli(dir, {"list", h.remote()}).err, "[!] Server sent invalid handshake\n");
  }
  {
    FakeHub h({{Opcode::handshake, [](Peer&, const Message&, Reply r) {
                  r.error("Server and client do not speak the same protocol");
                }}});
    EXPECT_EQ(run_cli(dir, {"list", h.remote()}).err, "[!] Server and client do not speak the same protocol\n");
  }
}

TEST(Hostile, OddListAndPsReplies) {
  TempDir dir;
  for (const std::string& body :
       std::vector<std::string>{"not json", "[1,2", std::string(5000, '[') + std::string(5000, ']')}) {
    FakeHub h({{Opcode::list, reply(body)}, {Opcode::ps, reply(body)}});
    const Case l = run_cli(dir, {"list", h.remote()});
    EXPECT_EQ(l.code, 1);
    EXPECT_EQ(l.err.rfind("[!] Invalid reply from the remote: ", 0), 0u) << l.err;
    EXPECT_EQ(run_cli(dir, {"ps", h.remote()}).code, 1);
  }
  // Valid JSON of every wrong shape is shown, not fatal.
  FakeHub h({{Opcode::list, reply(R"([1,"x",null,{"id":5,"start":{"a":[1,{"b":null}]},"tags":"web","env":[1,2],"limit":"3"}])")},
             {Opcode::get, reply("null")},
             {Opcode::ps, reply(R"([null,7,{"id":"d","list":"x"},{"list":[null,{"id":3,"command":"sh","started":"soon"}]}])")}});
  const Case l = run_cli(dir, {"list", h.remote()});
  EXPECT_EQ(l.code, 0) << l.err;
  EXPECT_NE(l.out.find("5\n├── tags: web\n├─┬ start\n"), std::string::npos) << l.out;
  EXPECT_EQ(run_cli(dir, {"list", h.remote(), "x"}).code, 0);
  const Case p = run_cli(dir, {"ps", h.remote()});
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("started: undefined"), std::string::npos) << p.out;  // as the reference's Date(NaN)
}

TEST(Hostile, NoDocksNoServices) {
  // Not hostile, but only a fake hub has no dock at all: ps prints nothing.
  TempDir dir;
  FakeHub h({{Opcode::ps, reply("[]")}, {Opcode::list, reply("[]")}});
  const Case p = run_cli(dir, {"ps", h.remote()});
  EXPECT_EQ(p.out, "");
  EXPECT_EQ(p.err, "");
  EXPECT_EQ(p.code, 0);
  EXPECT_EQ(run_cli(dir, {"list", h.remote()}).out, "(empty)\n");
}

TEST(Hostile, NoAnswerHitsTheDeadline) {
  TempDir dir;
  FakeHub h({{Opcode::list, [](Peer&, const Message&, Reply r) {
                static std::vector<Reply> kept;  // never answered
                kept.push_back(std::move(r));
              }}});
  const auto t0 = std::chrono::steady_clock::now();
  const Case c = run_cli(dir, {"list", h.remote(), "--timeout", "0.5"});
  EXPECT_EQ(c.code, 1);
  EXPECT_EQ(c.err, "[!] Timed out after 500 ms waiting for the remote (see --timeout)\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(Hostile, ConnectionClosedMidRequest) {
  TempDir dir;
  FakeHub h({{Opcode::add, [](Peer& p, const Message&, Reply) { p.close(); }}});
  const Case c = run_cli(dir, {"add", h.remote(), "x", "--start", "y"});
  EXPECT_EQ(c.out, "[-] Adding x\n[!] Adding x (cable was destroyed)\n");
  EXPECT_EQ(c.code, 1);
}

TEST(Hostile, NotAHub) {
  TempDir dir;
  // A port that answers HTTP, but not the upgrade.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::listen(fd, 4);
  std::thread t([fd] {
    const int c = ::accept(fd, nullptr, nullptr);
    if (c < 0) return;
    const char resp[] = "garbage that is not HTTP\r\n\r\n";
    (void)!::write(c, resp, sizeof resp - 1);
    ::shutdown(c, SHUT_WR);
    char buf[256];
    while (::read(c, buf, sizeof buf) > 0) {
    }
    ::close(c);
  });
  const Case c = run_cli(dir, {"list", "127.0.0.1:" + std::to_string(ntohs(a.sin_port))});
  t.join();
  ::close(fd);
  EXPECT_EQ(c.code, 1);
  EXPECT_EQ(c.err.rfind("[!] Parse Error: ", 0), 0u) << c.err;
}

}  // namespace
}  // namespace hms::clitest
