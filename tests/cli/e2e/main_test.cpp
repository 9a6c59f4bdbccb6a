// The command itself: help, version, and the servers (`hms terminal`,
// `hms dock`).
#include <csignal>
#include <thread>

#include "e2e/fixture.hpp"

namespace hms::clitest {
namespace {

TEST(Main, HelpAndVersion) {
  TempDir dir;
  for (const std::vector<std::string>& args : {std::vector<std::string>{}, {"--help"}, {"frob"}}) {
    const RunResult r = hms(dir, args);
    EXPECT_EQ(r.code, 1);  // as the reference
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("Usage: hms [command] [remote] [service?] [options?]\n", 0), 0u) << r.err;
  }
  const RunResult v = hms(dir, {"--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out, std::string("v") + HMS_CLI_VERSION + "\n");
  for (const char* cmd : {"add", "update", "remove", "list", "ps", "start", "stop", "restart", "log", "sync", "deploy",
                          "tarball", "remotes", "terminal", "dock"}) {
    const RunResult h = hms(dir, {cmd, "--help"});
    EXPECT_EQ(h.code, 0) << cmd;
    EXPECT_NE(h.out.find("Usage: "), std::string::npos) << cmd << "\n" << h.out;
    EXPECT_EQ(h.err, "") << cmd;
  }
}

TEST(Main, TerminalRunsAHub) {
  TempDir dir;
  const int port = free_port();
  RunOptions o = cli_options(dir);
  Background t(hms_argv({"terminal", "--port", std::to_string(port), "--db", dir.file("t.db"), "--env", "A=1"}), o);
  ASSERT_TRUE(t.wait_out_has("[term] listening on " + std::to_string(port) + "\n")) << t.out() << t.err();
  const std::string r = "127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(hms(dir, {"add", r, "web", "--start", "x"}).code, 0);
  const RunResult l = hms(dir, {"list", r});
  EXPECT_EQ(l.out, "web\n├── start: x\n├─┬ tags\n│ └── (empty)\n└─┬ env\n  └── A: 1\n\n");
  EXPECT_EQ(t.stop(SIGTERM), 0);
}

// The whole workflow with native tools only: `hms terminal --dock` (the
// hub and, beside it, `hms dock`), then add, deploy, ps, stop, remove.
TEST(Main, TerminalWithItsDockRunsADeployedService) {
  TempDir dir;
  const int port = free_port_pair();  // the dock takes the port above
  const std::string r = "127.0.0.1:" + std::to_string(port);
  RunOptions o = cli_options(dir);
  Background t(hms_argv({"terminal", "--port", std::to_string(port), "--db", dir.file("t.db"), "--dock", "--tag",
                         "web"}),
               o);
  ASSERT_TRUE(t.wait_out_has("[term] listening on " + std::to_string(port) + "\n")) << t.out() << t.err();
  // The dock connects on its own time: `ps` lists it (with no process yet)
  // once it has.
  const auto connected_by = std::chrono::steady_clock::now() + 20s;
  while (hms(dir, {"ps", r}).out.empty() && std::chrono::steady_clock::now() < connected_by)
    std::this_thread::sleep_for(100ms);
  ASSERT_FALSE(hms(dir, {"ps", r}).out.empty()) << "the dock never connected\n" << t.out() << t.err();
  dir.mkdir("app");
  dir.write("app/run.sh", "echo hello from $SERVICE_NAME\nexec sleep 60\n");
  ASSERT_EQ(hms(dir, {"add", r, "web", "--start", "sh run.sh", "--tag", "web"}).code, 0);
  RunOptions in_app;
  in_app.cwd = dir.file("app");
  const RunResult d = hms(dir, {"deploy", r, "web", "--no-log"}, in_app);
  EXPECT_EQ(d.code, 0) << d.out << d.err;
  std::string ps;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    ps = hms(dir, {"ps", r, "web"}).out;
    if (ps.find("status:   running") != std::string::npos && ps.find("pid:") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);  // polling a process list, with a deadline
  }
  EXPECT_NE(ps.find("status:   running"), std::string::npos) << ps << t.out() << t.err();
  EXPECT_NE(ps.find("pid:"), std::string::npos) << ps;
  EXPECT_EQ(hms(dir, {"stop", r, "web"}).code, 0);
  EXPECT_NE(hms(dir, {"ps", r, "web"}).out.find("status:   stopped"), std::string::npos);
  EXPECT_EQ(hms(dir, {"remove", r, "web"}).code, 0);
  EXPECT_EQ(t.stop(SIGTERM), 0);  // the dock stops with it
}

TEST(Main, DockNeedsARemote) {
  TempDir dir;
  const RunResult d = hms(dir, {"dock"});
  EXPECT_EQ(d.err, "[!] Remote is required\n");
  EXPECT_EQ(d.code, 1);
}

}  // namespace
}  // namespace hms::clitest
