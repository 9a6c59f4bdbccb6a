// Children's output reaching subscribers: byte for byte (large, binary,
// stdout and stderr interleaved), nothing framed while nobody subscribes,
// and a subscriber that stops reading never blocks a child: its output is
// dropped and counted, memory stays bounded, nothing is copied.
#include <netinet/in.h>

#include "dock/dock_run.hpp"
#include "dock/peers.hpp"
#include "hms/frame.hpp"
#include "hms/http.hpp"

namespace hms::docktest {
namespace {

constexpr const char* kDeployed = "2024-01-01T00:00:00.000Z";

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(i < 256 ? i : (x >> 24));
  }
  return s;
}

TEST(OutputTest, ReachesSubscribersByteForByte) {
  TempDir dir;
  FakeHub hub;
  DockRun dock(dir.file("dock"), hub.port());
  ASSERT_TRUE(hub.wait_dock());
  const std::string blob = pattern(3u << 20, 7);  // every byte value, then noise
  std::string script = "cat blob.bin\ncat blob.bin >&2\ni=0\nwhile [ $i -lt 300 ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); done\nexec sleep 1000\n";
  hub.serve("big", script_tarball(script, {{TarEntry::file, "blob.bin", blob, 0644}}));
  ASSERT_TRUE(hub.subscribe("*").ok());
  ASSERT_TRUE(hub.sync("big", service_json("big", "sh run.sh", kDeployed)).ok());
  // A direct client of the dock's own port, subscribed to the service too.
  Client direct(dock.port);
  ASSERT_TRUE(direct.handshake_reply.ok()) << direct.handshake_reply;
  ASSERT_TRUE(direct.call(Opcode::subscribe, "big").ok());

  ASSERT_TRUE(hub.start("big").ok());
  std::string want_out = blob, want_err = blob;
  for (int i = 0; i < 300; ++i) {
    want_out += "out " + std::to_string(i) + "\n";
    want_err += "err " + std::to_string(i) + "\n";
  }
  for (EventLog* ev : {&hub.events(), &direct.events()}) {
    ASSERT_TRUE(ev->wait_bytes(Opcode::stdout_, "big", want_out.size(), 20s));
    ASSERT_TRUE(ev->wait_bytes(Opcode::stderr_, "big", want_err.size(), 20s));
    EXPECT_TRUE(ev->bytes(Opcode::stdout_, "big") == want_out);
    EXPECT_TRUE(ev->bytes(Opcode::stderr_, "big") == want_err);
    for (const auto& e : ev->all()) EXPECT_EQ(e.origin, "d1");
  }
  const std::string ps = hub.ps().text;
  EXPECT_EQ(ps_stat(ps, "copiedBytes"), 0) << ps;
  EXPECT_EQ(ps_stat(ps, "droppedBytes"), 0) << ps;
  const PsEntry p = ps_entry(ps, "big");
  EXPECT_EQ(p.output_bytes, static_cast<std::int64_t>(want_out.size() + want_err.size()));
  ASSERT_TRUE(hub.stop("big").ok());
}

TEST(OutputTest, NobodySubscribedNoFrames) {
  TempDir dir;
  FakeHub hub;
  DockRun dock(dir.file("dock"), hub.port());
  ASSERT_TRUE(hub.wait_dock());
  hub.serve("chatty", script_tarball("seq 1 100000\nexec sleep 1000\n"));
  ASSERT_TRUE(hub.sync("chatty", service_json("chatty", "sh run.sh", kDeployed)).ok());
  ASSERT_TRUE(hub.start("chatty").ok());
  std::size_t total = 0;
  for (int i = 1; i <= 100000; ++i) total += std::to_string(i).size() + 1;
  // Read and dropped: every byte counted, no frame built.
  ASSERT_TRUE(eventually([&] { return ps_entry(hub.ps().text, "chatty").output_bytes == static_cast<std::int64_t>(total); }));
  const std::string ps = hub.ps().text;
  EXPECT_EQ(ps_entry(ps, "chatty").output_frames, 0) << ps;
  EXPECT_EQ(ps_stat(ps, "framesSent"), 0) << ps;
  EXPECT_EQ(hub.events().count(Opcode::stdout_, "chatty"), 0u);
  // The spawn event is not output: nobody subscribed, so it went nowhere either.
  EXPECT_EQ(hub.events().all().size(), 0u);
  ASSERT_TRUE(hub.stop("chatty").ok());
}

// A hub that sends the dock a few commands, then never reads another byte.
class StuckHub {
 public:
  StuckHub() {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_, 4);
    socklen_t len = sizeof a;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~StuckHub() {
    if (conn_ >= 0) ::close(conn_);
    ::close(listen_);
  }
  static std::string request(std::uint16_t rid, Opcode op, std::string_view id, std::string_view payload = {}) {
    std::string f(message_head_size(id.size()), '\0');
    encode_message_head(reinterpret_cast<std::uint8_t*>(f.data()), FrameType::request, rid, op, id, payload.size());
    return f.append(payload);
  }
  // Accepts the dock, answers its CONNECT and handshake, sends `then`, and
  // from then on reads nothing.
  bool take_dock(const std::string& then) {
    pollfd p{listen_, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return false;
    conn_ = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
    int small = 4096;
    ::setsockopt(conn_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    timeval tv{10, 0};
    ::setsockopt(conn_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(conn_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      in.append(buf, static_cast<std::size_t>(n));
    }
    in.erase(0, in.find("\r\n\r\n") + 4);
    ::send(conn_, kUpgradeResponse.data(), kUpgradeResponse.size(), MSG_NOSIGNAL);
    while (in.size() < kHeaderSize ||
           in.size() < kHeaderSize + load_u32(reinterpret_cast<const std::uint8_t*>(in.data()) + 3)) {
      const ssize_t n = ::recv(conn_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      in.append(buf, static_cast<std::size_t>(n));
    }
    const std::uint16_t rid = load_u16(reinterpret_cast<const std::uint8_t*>(in.data()) + 1);
    const std::string body = R"({"type":"terminal","version":"stuck"})";
    std::string out(kHeaderSize, '\0');
    encode_header(reinterpret_cast<std::uint8_t*>(out.data()), FrameType::reply, rid,
                  static_cast<std::uint32_t>(body.size()));
    out += body + then;
    return ::send(conn_, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size());
  }
  std::uint16_t port = 0;

 private:
  int listen_ = -1, conn_ = -1;
};

TEST(OutputTest, ASubscriberThatDoesNotReadNeverBlocksAChild) {
  TempDir dir;
  StuckHub hub;
  // The build is in place already: sync needs no download.
  const std::string script = "head -c 300000000 /dev/zero\necho finished > ../../finished.txt\nexec sleep 1000\n";
  write_file(dir.file("dock/builds/flood@2024-01-01T00-00-00.000Z/run.sh"), script, 0755);
  DockRun dock(dir.file("dock"), hub.port, {"--output-queue-mb", "2"});
  ASSERT_TRUE(hub.take_dock(StuckHub::request(1, Opcode::subscribe, "*") +
                            StuckHub::request(2, Opcode::sync, "flood", service_json("flood", "sh run.sh", kDeployed)) +
                            StuckHub::request(3, Opcode::start, "flood")));
  // 300 MB through a hub that takes nothing: the child finishes anyway.
  ASSERT_TRUE(eventually([&] { return fs::exists(dir.file("dock/finished.txt")); }, 30s)) << dock->transcript();
  Client direct(dock.port);
  ASSERT_TRUE(direct.handshake_reply.ok());
  const std::string ps = direct.call(Opcode::ps, "").text;
  EXPECT_EQ(ps_entry(ps, "flood").output_bytes, 300000000) << ps;
  EXPECT_GT(ps_stat(ps, "droppedBytes"), 250000000) << ps;
  EXPECT_EQ(ps_stat(ps, "copiedBytes"), 0) << ps;
  EXPECT_EQ(ps_stat(ps, "copiedFrames"), 0) << ps;
  EXPECT_LT(ps_stat(ps, "rss"), 120 << 20) << ps;
  EXPECT_TRUE(dock->wait_for_text("[dock] [flood] output is not read fast enough"));
}

}  // namespace
}  // namespace hms::docktest
