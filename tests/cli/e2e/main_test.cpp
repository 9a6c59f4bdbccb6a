// The command itself: help, version, and the servers (`hms terminal`,
// `hms dock`).
#include <csignal>

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
  const RunResult d = hms(dir, {"terminal", "--dock"});
  EXPECT_EQ(d.code, 1);
  EXPECT_NE(d.err.find("--dock is not available yet"), std::string::npos);
}

TEST(Main, DockIsNotThereYet) {
  // HMS_CLI_SERVE_TODO: replace with a dock test once apps/dock is wired in.
  TempDir dir;
  EXPECT_EQ(hms(dir, {"dock"}).err, "[!] Remote is required\n");
  const RunResult d = hms(dir, {"dock", "127.0.0.1:10002"});
  EXPECT_EQ(d.code, 1);
  EXPECT_NE(d.err.find("hms dock is not available in this build yet"), std::string::npos) << d.err;
}

}  // namespace
}  // namespace hms::clitest
