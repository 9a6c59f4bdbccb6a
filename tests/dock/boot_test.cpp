// The dock's store across runs: a dock stopped with SIGTERM stops its
// services (exit 0), and the next run on the same folder starts again the
// ones not marked stopped, before it even reaches its hub.
#include "dock/dock_run.hpp"
#include "dock/peers.hpp"

namespace hms::docktest {
namespace {

TEST(BootTest, SigtermStopsServicesAndTheNextRunBringsThemBack) {
  TempDir dir;
  FakeHub hub;
  std::vector<pid_t> first_pids;
  {
    DockRun dock(dir.file("dock"), hub.port());
    ASSERT_TRUE(hub.wait_dock());
    hub.serve("web", script_tarball("echo up\nexec sleep 1000\n"));
    hub.serve("idle", script_tarball("exec sleep 1000\n"));
    ASSERT_TRUE(hub.sync("web", service_json("web", "sh run.sh")).ok());
    ASSERT_TRUE(hub.sync("idle", service_json("idle", "sh run.sh")).ok());
    ASSERT_TRUE(hub.start("web").ok());
    ASSERT_TRUE(hub.start("idle").ok());
    ASSERT_TRUE(hub.stop("idle").ok());
    ASSERT_TRUE(eventually([&] { return ps_entry(hub.ps().text, "web").pid > 0; }));
    first_pids = dock->service_pids();
    ASSERT_EQ(first_pids.size(), 2u);
    ASSERT_TRUE(dock->wait_for_text("[dock] [idle] exited"));
    const int status = dock->end();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << dock->transcript();
    EXPECT_TRUE(dock->wait_for_text("[dock] shutting down"));
    EXPECT_TRUE(dock->wait_for_text("[dock] [web] exited (null)"));
    for (pid_t p : first_pids) EXPECT_FALSE(process_alive(p));
  }
  // The hub is gone too: the services come back without it.
  DockRun again(dir.file("dock"), free_port());
  ASSERT_TRUE(again->wait_for_text("[dock] [web] starting process"));
  ASSERT_TRUE(again->wait_for_text("[dock] [web] spawned "));
  Client c(again.port);
  ASSERT_TRUE(eventually([&] { return ps_entry(c.call(Opcode::ps, "").text, "web").status == "running"; }));
  const std::string ps = c.call(Opcode::ps, "").text;
  EXPECT_EQ(ps_entry(ps, "idle").status, "stopped") << ps;
  EXPECT_EQ(again->count_lines("[dock] [idle] starting process"), 0u);
  const pid_t now = static_cast<pid_t>(ps_entry(ps, "web").pid);
  EXPECT_TRUE(process_alive(now));
  EXPECT_TRUE(std::find(first_pids.begin(), first_pids.end(), now) == first_pids.end());
}

}  // namespace
}  // namespace hms::docktest

namespace hms::docktest {
namespace {

TEST(BootTest, ADockKilledOutrightDoesNotRunItsServicesTwice) {
  TempDir dir;
  FakeHub hub;
  pid_t orphan = 0;
  {
    DockRun dock(dir.file("dock"), hub.port());
    ASSERT_TRUE(hub.wait_dock());
    hub.serve("web", script_tarball("exec sleep 1000\n"));
    ASSERT_TRUE(hub.sync("web", service_json("web", "sh run.sh")).ok());
    // The start's reply waits for its write (stopped=false) to be on disk,
    // and the record of the child spawned by that start is in the same
    // transaction: once the reply is here, a crash cannot lose it.
    ASSERT_TRUE(hub.start("web").ok());
    orphan = static_cast<pid_t>(ps_entry(hub.ps().text, "web").pid);
    ASSERT_GT(orphan, 0);
    dock->kill9();
    EXPECT_TRUE(process_alive(orphan));  // its own process group: it outlives the dock
  }
  DockRun again(dir.file("dock"), hub.port());
  ASSERT_TRUE(again->wait_for_text("[dock] [web] stopping process " + std::to_string(orphan) +
                                   " left running by the previous run"))
      << again->transcript();
  ASSERT_TRUE(again->wait_for_text("[dock] [web] spawned "));
  EXPECT_TRUE(eventually([&] { return !process_alive(orphan); }));
  ASSERT_TRUE(hub.wait_dock(2));
  const PsEntry p = ps_entry(hub.ps().text, "web");
  EXPECT_EQ(p.status, "running");
  EXPECT_NE(p.pid, orphan);
}

}  // namespace
}  // namespace hms::docktest
