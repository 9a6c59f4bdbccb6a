// Our CLI and the reference CLI side by side on the same hub, piped and on
// a terminal (pseudo-terminal, TERM=xterm): every byte, and the exit code.
#include "e2e/fixture.hpp"

namespace hms::clitest {
namespace {

class Reference : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    dock_ = std::make_unique<FakeDock>(*hub_, "dock-a", std::vector<std::string>{"web"});
    dock_->set_processes(
        R"([{"id":"hello","status":"running","started":"2999-01-01T00:00:00.000Z","pid":42,)"
        R"("command":["node","app.js"],"cwd":"builds/hello@x","env":{"SERVICE_NAME":"hello"}}])");
    const std::string r = remote();
    EXPECT_EQ(hms_run({"add", r, "hello", "--start", "node app.js", "--build", "sh build.sh", "--tag", "web",
                       "--env", "GREETING=hi there,PORT=8080"})
                  .code,
              0);
    EXPECT_EQ(hms_run({"add", r, "second", "--start", "node app.js", "--limit", "2"}).code, 0);
  }
  // Commands that change nothing (or fail): each CLI runs them in turn.
  std::vector<std::vector<std::string>> commands() {
    const std::string r = remote();
    return {{"list", r},
            {"list", r, "hello"},
            {"list", r, "nosuch"},
            {"ps", r},
            {"ps", r, "--env"},
            {"ps", r, "nosuch"},
            {"add", r, "hello", "--start", "x"},
            {"add", r, "bad name", "--start", "x"},
            {"add", r, "x"},
            {"update", r, "hello"},
            {"update", r, "nosuch", "--tag", "x"},
            {"start", r, "nosuch", "--no-log"},
            {"start", r, "nosuch"},
            {"stop", r, "nosuch"},
            {"sync", r, "nosuch"},
            {"sync", r, "hello"},
            {"stop", r, "hello"},
            {"remove", r, "nosuch"},
            {"log", r, "nosuch"},
            {"list"},
            {"start", r},
            {"remotes"},
            {"list", "127.0.0.1:" + std::to_string(free_port())}};
  }
  std::unique_ptr<FakeDock> dock_;
};

TEST_P(Reference, PipedOutputIsTheReferences) {
  for (const auto& args : commands()) {
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    const RunResult ours = hms_run(args);
    const RunResult theirs = node_hms(dir_, args);
    EXPECT_EQ(ours.out, theirs.out) << "hms" << cmd;
    EXPECT_EQ(ours.err, theirs.err) << "hms" << cmd;
    EXPECT_EQ(ours.code, theirs.code) << "hms" << cmd;
  }
}

TEST_P(Reference, TerminalOutputIsTheReferences) {
  RunOptions tty;
  tty.tty = true;
  for (const auto& args : commands()) {
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    const RunResult ours = hms_run(args, tty);
    const RunResult theirs = node_hms(dir_, args, tty);
    EXPECT_EQ(ours.out, theirs.out) << "hms" << cmd;
    EXPECT_EQ(ours.code, theirs.code) << "hms" << cmd;
  }
  // A terminal without colours (TERM=dumb): symbols yes, colours no.
  tty.env["TERM"] = "dumb";
  const RunResult ours = hms_run({"stop", remote(), "nosuch"}, tty);
  EXPECT_EQ(ours.out, node_hms(dir_, {"stop", remote(), "nosuch"}, tty).out);
  EXPECT_EQ(ours.out.find('\x1b' + std::string("[90m")), std::string::npos);
}

HMS_BOTH_HUBS(Reference);

}  // namespace
}  // namespace hms::clitest
