// Our dock under hms-hub (the binary): output reaches a client subscribed
// through the hub byte for byte, and a hub restart drops and restores the
// connection while the children keep running.
//
// hms-hub does not serve builds yet (GET /<id> is another engineer's
// step), so the build folder is put in place beforehand and the client
// syncs a record with `deployed`: the dock then needs no download.
#include "dock/dock_run.hpp"
#include "dock/peers.hpp"

namespace hms::docktest {
namespace {

constexpr const char* kDeployed = "2024-03-03T03:03:03.333Z";

struct Hub {
  Hub(const TempDir& dir, std::uint16_t want_port = 0) {
    Proc::Options o;
    o.cwd = dir.path();
    proc = std::make_unique<Proc>(HMS_HUB_BINARY,
                                  std::vector<std::string>{"--address", "127.0.0.1", "--port", std::to_string(want_port),
                                                           "--db", dir.file("hub.db"), "--threads", "1",
                                                           "--log-level", "warn"},
                                  o);
    const std::string mark = "hms-hub listening on port ";
    auto line = proc->wait_line([&](const std::string& l) { return l.rfind(mark, 0) == 0; });
    if (!line) throw std::runtime_error("hms-hub did not start:\n" + proc->transcript());
    this->port = static_cast<std::uint16_t>(std::stoi(line->substr(mark.size())));
  }
  std::unique_ptr<Proc> proc;
  std::uint16_t port = 0;
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(i < 256 ? i : (x >> 24));
  }
  return s;
}

TEST(HubTest, OutputThroughHmsHubAndReconnectAfterAHubRestart) {
  TempDir dir;
  auto hub = std::make_unique<Hub>(dir);
  const std::uint16_t hub_port = hub->port;
  const std::string blob = pattern(1u << 20);
  DockRun dock(dir.file("dock"), hub_port);
  const std::string build = dock.build_dir("web", kDeployed);
  write_file(build + "/blob.bin", blob);
  write_file(build + "/run.sh",
             "cat blob.bin\necho to-stderr >&2\ni=0\nwhile :; do i=$((i+1)); echo \"tick $i\"; sleep 0.1; done\n", 0755);
  ASSERT_TRUE(dock->wait_for_text("[dock] connection to remote established"));

  pid_t service_pid = 0;
  {
    Client c(hub_port);
    ASSERT_TRUE(c.handshake_reply.ok()) << c.handshake_reply;
    ASSERT_TRUE(c.wait_dock_listed("d1"));
    ASSERT_TRUE(c.call(Opcode::add, "web", R"({"start":"sh run.sh"})").ok());
    ASSERT_TRUE(c.call(Opcode::subscribe, "web").ok());
    ASSERT_TRUE(dock->wait_for_text("[dock] [web] forwarding events and output"));
    const Got g = c.call(Opcode::sync, "web", R"({"id":"web","start":"sh run.sh","deployed":")" + std::string(kDeployed) + R"("})");
    ASSERT_TRUE(g.ok()) << g << "\n" << dock->transcript();
    // The hub's sync sent sync, then start.
    ASSERT_TRUE(c.events().wait_bytes(Opcode::stdout_, "web", blob.size() + 7)) << dock->transcript();
    const std::string out = c.events().bytes(Opcode::stdout_, "web");
    EXPECT_TRUE(out.compare(0, blob.size(), blob) == 0);
    EXPECT_EQ(out.substr(blob.size(), 7), "tick 1\n");
    ASSERT_TRUE(c.events().wait_bytes(Opcode::stderr_, "web", 10));
    EXPECT_EQ(c.events().bytes(Opcode::stderr_, "web"), "to-stderr\n");
    ASSERT_EQ(c.events().spawns("web").size(), 1u);
    service_pid = static_cast<pid_t>(std::stol(c.events().spawns("web")[0]));
    const PsEntry p = ps_entry(c.call(Opcode::ps, "").text, "web");
    EXPECT_EQ(p.status, "running");
    EXPECT_EQ(p.pid, service_pid);
  }

  // The hub goes away; the service does not.
  const std::size_t mark = dock->line_count();
  hub.reset();
  ASSERT_TRUE(dock->wait_for_text("[dock] connection to remote dropped", kWait, mark)) << dock->transcript();
  EXPECT_TRUE(process_alive(service_pid));
  // A new hub on the same port and registry: the dock is back within the
  // reference's 2.5 s retry (5 s more if that one was too early).
  hub = std::make_unique<Hub>(dir, hub_port);
  ASSERT_TRUE(dock->wait_for_text("[dock] connection to remote established", 10s, mark)) << dock->transcript();
  Client c(hub_port);
  ASSERT_TRUE(c.call(Opcode::subscribe, "web").ok());
  ASSERT_TRUE(c.events().wait_bytes(Opcode::stdout_, "web", 20)) << dock->transcript();
  EXPECT_EQ(c.events().bytes(Opcode::stdout_, "web").rfind("tick ", 0), 0u);
  EXPECT_TRUE(process_alive(service_pid));
  EXPECT_EQ(ps_entry(c.call(Opcode::ps, "").text, "web").pid, service_pid);
  EXPECT_EQ(c.events().count(Opcode::spawn, "web"), 0u);  // never restarted
}

}  // namespace
}  // namespace hms::docktest
