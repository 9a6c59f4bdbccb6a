// Log tails (log, start, restart) against hms-hub and the Node terminal:
// the same events to our CLI and to the reference CLI at once, and their
// outputs compared byte for byte, plain and coloured.
#include <thread>

#include "e2e/fixture.hpp"

namespace hms::clitest {
namespace {

class Logs : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    dock_ = std::make_unique<FakeDock>(*hub_, "dock-a", std::vector<std::string>{"web"});
  }
  // Sends a probe line until every tail printed one, then the marker: what
  // follows the marker is what every tail saw.
  void until_all_listen(const std::vector<Background*>& tails) {
    ASSERT_TRUE(dock_->wait_subscribed("*"));
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    for (;;) {
      dock_->stdout_("web", "probe\n");
      bool all = true;
      for (Background* t : tails) all = all && t->wait_out_has("probe", 100ms);
      if (all) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "a tail never printed the probe";
    }
    dock_->stdout_("web", "MARK\n");
    for (Background* t : tails) ASSERT_TRUE(t->wait_out_has("MARK\n"));
  }
  static std::string after_mark(const std::string& out) {
    const std::size_t p = out.find("MARK");
    return p == std::string::npos ? out : out.substr(out.find('\n', p) + 1);
  }
  void send_events() {
    dock_->stdout_("web", "tick 1\n");
    dock_->stdout_("web", "a\nb\n");
    dock_->stderr_("web", "  padded  \n\n");
    dock_->stdout_("web", "");
    dock_->stdout_("web", "   \n  ");
    dock_->spawn("web", 1234);
    dock_->exit("web", "null");
    dock_->exit("web", "\"SIGTERM\"");
    dock_->exit("web", "0");
    dock_->stdout_("longer-service", "x\r\ny\r\n");
    dock_->stdout_("web", "after growth\n");
    dock_->stdout_("web", std::string("bin\xff" "ary\n", 8));
    dock_->stdout_("web", "\u00e9t\u00e9 \u2028unicode\u3000");
    dock_->stdout_("sv\u00e9", "utf8 ids\n");
    dock_->stdout_("web", "END\n");
  }
  std::unique_ptr<FakeDock> dock_;
};

TEST_P(Logs, SameAsTheReferenceCli) {
  for (const bool color : {false, true}) {
    SCOPED_TRACE(color ? "--color" : "plain");
    std::vector<std::string> args{"log", remote()};
    if (color) args.push_back("--color");
    Background ours(hms_argv(args), cli_options(dir_));
    Background theirs(node_argv(args), cli_options(dir_));
    until_all_listen({&ours, &theirs});
    send_events();
    ASSERT_TRUE(ours.wait_out_has("END\n")) << ours.out();
    ASSERT_TRUE(theirs.wait_out_has("END\n")) << theirs.out();
    EXPECT_EQ(after_mark(ours.out()), after_mark(theirs.out()));
    EXPECT_NE(ours.out().find(color ? "\x1b[36mProcess exited with code SIGTERM\x1b[39m" : "Process exited with code SIGTERM"),
              std::string::npos);
    EXPECT_EQ(ours.err(), "");
  }
}

TEST_P(Logs, OneServiceAndTheFlags) {
  check({"add", remote(), "web", "--start", "x"}, {"[-] Adding web\n[+] Adding web\n", "", 0});
  Background tail(hms_argv({"log", remote(), "web", "--no-id"}), cli_options(dir_));
  Background bare(hms_argv({"log", remote(), "--no-origin", "--no-events"}), cli_options(dir_));
  until_all_listen({&tail, &bare});
  dock_->stdout_("other", "not mine\n");
  dock_->spawn("web", 7);
  dock_->stdout_("web", "mine\n");
  dock_->stdout_("web", "END\n");
  ASSERT_TRUE(tail.wait_out_has("END\n"));
  ASSERT_TRUE(bare.wait_out_has("END\n"));
  EXPECT_EQ(after_mark(tail.out()), "dock-a Process spawned with pid 7\ndock-a mine\ndock-a END\n");
  EXPECT_EQ(after_mark(bare.out()), "other not mine\nweb   mine\nweb   END\n");
}

TEST_P(Logs, TailEndsWithTheHubExitZero) {
  Background tail(hms_argv({"log", remote()}), cli_options(dir_));
  until_all_listen({&tail});
  dock_->stdout_("web", "last words\n");
  ASSERT_TRUE(tail.wait_out_has("last words\n"));
  hub_->stop();
  EXPECT_EQ(tail.wait_exit(10s), std::optional<int>(0)) << tail.out() << tail.err();
  EXPECT_EQ(tail.err(), "");
}

TEST_P(Logs, StartAndRestartTailAfterForwarding) {
  check({"add", remote(), "web", "--start", "x"}, {"[-] Adding web\n[+] Adding web\n", "", 0});
  dock_->spawn_on_start(4242);
  for (const char* verb : {"start", "restart"}) {
    SCOPED_TRACE(verb);
    Background t(hms_argv({verb, remote(), "web"}), cli_options(dir_));
    const std::string head = std::string(verb[0] == 's' ? "[-] Starting web\n[+] Starting web\n"
                                                        : "[-] Restarting web\n[+] Restarting web\n") +
                             "\nForwarding web output\n\nweb dock-a Process spawned with pid 4242\n";
    ASSERT_TRUE(t.wait_out_has("pid 4242\n")) << t.out() << t.err();
    dock_->stdout_("web", "running\n");
    ASSERT_TRUE(t.wait_out_has("running\n"));
    EXPECT_EQ(t.out(), head + "web dock-a running\n");
    t.stop(SIGINT);
  }
  Background t(hms_argv({"start", remote(), "web"}), cli_options(dir_));
  ASSERT_TRUE(t.wait_out_has("pid 4242\n"));
  hub_->stop();
  EXPECT_EQ(t.wait_exit(10s), std::optional<int>(0));
}

HMS_BOTH_HUBS(Logs);

}  // namespace
}  // namespace hms::clitest
