// deploy and tarball end to end: a real build script whose output streams
// back, failing builds, chunked uploads, the tarball fetched back, and the
// reference CLI side by side. Against hms-hub and the Node terminal, with
// the Node dock.
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "e2e/fixture.hpp"

namespace hms::clitest {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Deploy : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    dock_ = std::make_unique<NodeDock>(*hub_, dir_, "dock-a", std::vector<std::string>{"web"});
    app_ = dir_.mkdir("app");
    dir_.write("app/app.js",
               "console.log('hello service ' + process.env.SERVICE_NAME + ' ' + (process.env.GREETING || '-'))\n"
               "let i = 0\n"
               "setInterval(() => console.log('tick ' + ++i), 200)\n"
               "process.on('SIGTERM', () => process.exit(0))\n");
    dir_.write("app/build.sh", "echo \"step 1\"\necho\necho\necho \"step 2\"\necho 'a warning' >&2\n");
    dir_.write("app/.gitignore", "*.log\n");
    dir_.write("app/debug.log", "left out\n");
  }
  void TearDown() override {
    if (dock_ && HasFailure()) std::cerr << "dock log:\n" << dock_->log() << "\n";
    if (hub_) CliTest::TearDown();
  }
  RunOptions in_app(RunOptions o = {}) {
    o.cwd = app_;
    o.timeout = 60s;
    return o;
  }
  void add(const std::string& id, std::vector<std::string> extra) {
    std::vector<std::string> args{"add", remote(), id, "--start", "node app.js"};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult r = hms_run(args);
    ASSERT_EQ(r.code, 0) << show(r);
  }
  std::string head(const std::string& id) {
    return "Deploying app to " + id + "\n\n[-] Creating tarball\n[+] Creating tarball\n[-] Connecting to remote\n"
           "[+] Connecting to remote\n[-] Uploading " + id + "\n[+] Uploading " + id + "\n";
  }
  std::string tail(const std::string& id) {
    return "[-] Syncing " + id + "\n[+] Syncing " + id + "\n[-] Restarting " + id + "\n[+] Restarting " + id + "\n";
  }
  std::unique_ptr<NodeDock> dock_;
  std::string app_;
};

TEST_P(Deploy, BuildsStreamsOutputAndTails) {
  add("hello", {"--build", "sh build.sh", "--tag", "web", "--env", "GREETING=hi there"});
  Background d(hms_argv({"deploy", remote(), "hello"}), cli_options(dir_, in_app()));
  ASSERT_TRUE(d.wait_out_has("tick 2\n", 30s)) << d.out() << d.err();
  const std::string out = d.out();
  const std::string want = head("hello") + "\n #  step 1\n #  \n #  step 2\n #  a warning\n\n" + tail("hello") +
                           "\nForwarding hello output\n\n";
  EXPECT_EQ(out.substr(0, want.size()), want);
  EXPECT_NE(out.find("hello dock-a hello service hello hi there\n"), std::string::npos) << out;
  EXPECT_NE(out.find("hello dock-a Process spawned with pid "), std::string::npos) << out;
  // The hub going away ends the tail with 0.
  hub_->stop();
  EXPECT_EQ(d.wait_exit(10s), std::optional<int>(0)) << d.err();
  // What was deployed: the ignore file was honoured.
  EXPECT_EQ(d.err(), "");
}

TEST_P(Deploy, BuildOutputArrivesWhileTheBuildRuns) {
  dir_.write("app/slow.sh", "echo first\nsleep 1.5\necho second\n");
  add("slow", {"--build", "sh slow.sh", "--tag", "web"});
  Background d(hms_argv({"deploy", remote(), "slow", "--no-log"}), cli_options(dir_, in_app()));
  ASSERT_TRUE(d.wait_out_has(" #  first\n", 30s)) << d.out() << d.err();
  EXPECT_EQ(d.out().find("second"), std::string::npos) << "the output came all at once";
  EXPECT_EQ(d.wait_exit(30s), std::optional<int>(0)) << d.out() << d.err();
  EXPECT_EQ(d.out(), head("slow") + "\n #  first\n #  second\n\n" + tail("slow"));
}

TEST_P(Deploy, FailingBuilds) {
  add("failing", {"--build", "echo failing build; echo oops >&2; exit 3", "--tag", "web"});
  RunResult r = hms_run({"deploy", remote(), "failing"}, in_app());
  EXPECT_EQ(r.code, 1) << show(r);
  EXPECT_EQ(r.err, "[!] Build failed\n");
  EXPECT_EQ(r.out.substr(0, head("failing").size() + 1), head("failing") + "\n");
  EXPECT_NE(r.out.find(" #  failing build\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" #  oops\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Syncing"), std::string::npos);
  // No output at all: the reference crashes here (TypeError); we say it.
  add("silent", {"--build", "exit 2", "--tag", "web"});
  r = hms_run({"deploy", remote(), "silent"}, in_app());
  EXPECT_EQ(r.code, 1) << show(r);
  EXPECT_EQ(r.out, head("silent"));
  // The reference terminal sends no reason; hms-hub says why.
  if (GetParam() == HubKind::node) EXPECT_EQ(r.err, "[!] Build failed\n");
  else EXPECT_EQ(r.err, "[!] the build exited with code 2\n");
}

TEST_P(Deploy, NoBuildScriptNoDockAndUnknownService) {
  add("nobuild", {"--tag", "web"});
  check({"deploy", remote(), "nobuild", "--no-log"}, {head("nobuild") + tail("nobuild"), "", 0}, in_app());
  add("nodock", {"--tag", "nomatch"});
  check({"deploy", remote(), "nodock"},
        {head("nodock") + tail("nodock"), "[!] Service does not match any docks. Exiting...\n    \n", 1}, in_app());
  check({"deploy", remote(), "nodock", "--no-log"}, {head("nodock") + tail("nodock"), "", 0}, in_app());
  check({"deploy", remote(), "nosuch"},
        {"Deploying app to nosuch\n\n[-] Creating tarball\n[+] Creating tarball\n[-] Connecting to remote\n"
         "[!] Connecting to remote (Service not found)\n",
         "", 1},
        in_app());
  const std::string dead = "127.0.0.1:" + std::to_string(free_port());
  check({"deploy", dead, "hello"},
        {"Deploying app to hello\n\n[-] Creating tarball\n[+] Creating tarball\n[-] Connecting to remote\n"
         "[!] Connecting to remote (connect ECONNREFUSED " + dead + ")\n",
         "", 1},
        in_app());
}

TEST_P(Deploy, FileStdinAndUrl) {
  add("packed", {"--tag", "web"});
  // A tarball made by tar itself.
  ASSERT_EQ(run({"tar", "czf", dir_.file("t.tgz"), "-C", app_, "."}).code, 0);
  const std::string f = dir_.file("t.tgz");
  const std::string rest = "[-] Connecting to remote\n[+] Connecting to remote\n[-] Uploading packed\n"
                           "[+] Uploading packed\n" + tail("packed");
  check({"deploy", remote(), "packed", "--no-log", "--file", f},
        {"Deploying app to packed\n\n[-] Extracting tarball from " + f + "\n[+] Extracting tarball from " + f + "\n" + rest,
         "", 0},
        in_app());
  RunOptions piped = in_app();
  piped.stdin_data = read_file(f);
  check({"deploy", remote(), "packed", "--no-log", "--stdin"},
        {"Deploying app to packed\n\n[-] Reading tarball from stdin\n[+] Reading tarball from stdin\n" + rest, "", 0},
        piped);
  check({"deploy", remote(), "packed", "--no-log", "--file", "/nonexist.tgz"},
        {"Deploying app to packed\n\n[-] Extracting tarball from /nonexist.tgz\n"
         "[!] Extracting tarball from /nonexist.tgz (ENOENT: no such file or directory, open '/nonexist.tgz')\n",
         "", 1},
        in_app());
  // --url (broken in the reference): the hub's own tarball of `packed`.
  add("copy", {"--tag", "web"});
  const std::string url = "http://" + remote() + "/packed";
  const RunResult r = hms_run({"deploy", remote(), "copy", "--no-log", "--url", url}, in_app());
  EXPECT_EQ(r.code, 0) << show(r);
  EXPECT_NE(r.out.find("[+] Downloading tarball from " + url + "\n"), std::string::npos) << r.out;
  const RunResult bad = hms_run({"deploy", remote(), "copy", "--no-log", "--url", "https://example.com/x.tgz"}, in_app());
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("only http:// URLs"), std::string::npos) << bad.out;
}

TEST_P(Deploy, GitRootAndRevision) {
  add("rev", {"--tag", "web"});
  const RunOptions git = in_app();
  ASSERT_EQ(run({"git", "init", "-q"}, git).code, 0);
  ASSERT_EQ(run({"git", "add", "."}, git).code, 0);
  ASSERT_EQ(run({"git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"}, git).code, 0);
  const std::string describe = run({"git", "describe", "--always"}, git).out;
  ASSERT_FALSE(describe.empty());
  check({"deploy", remote(), "rev", "--no-log"}, {head("rev") + tail("rev"), "", 0}, in_app());
  RunResult l = hms_run({"list", remote(), "rev"});
  EXPECT_NE(l.out.find("├── revision: " + describe), std::string::npos) << l.out;
  check({"deploy", remote(), "rev", "--no-log", "--revision", "123"}, {head("rev") + tail("rev"), "", 0}, in_app());
  l = hms_run({"list", remote(), "rev"});
  EXPECT_NE(l.out.find("├── revision: 123\n"), std::string::npos) << l.out;  // the reference ignored numbers
  // Below the root of a git repository.
  dir_.mkdir("app/sub");
  RunOptions sub = in_app();
  sub.cwd = app_ + "/sub";
  check({"deploy", remote(), "rev", "--no-log"},
        {"", "[!] You are in a git repo but not at the root. Use --force to ignore\n", 1}, sub);
  const RunResult forced = hms_run({"deploy", remote(), "rev", "--no-log", "--force"}, sub);
  EXPECT_EQ(forced.code, 0) << show(forced);
  EXPECT_EQ(forced.out.substr(0, 18), "Deploying sub to r");
}

TEST_P(Deploy, LargeUploadAndTarballBack) {
  add("big", {"--tag", "web"});
  std::string blob(3 << 20, '\0');
  std::mt19937 rng(7);
  for (auto& c : blob) c = static_cast<char>(rng());
  dir_.write("app/blob.bin", blob);
  check({"deploy", remote(), "big", "--no-log"}, {head("big") + tail("big"), "", 0}, in_app());
  check({"tarball", remote(), "big", "--out", dir_.file("back.tgz")}, {"", "", 0});
  dir_.mkdir("back");
  ASSERT_EQ(run({"tar", "xzf", dir_.file("back.tgz"), "-C", dir_.file("back")}).code, 0);
  EXPECT_TRUE(read_file(dir_.file("back/blob.bin")) == blob) << "blob.bin differs after the round trip";
  EXPECT_EQ(read_file(dir_.file("back/app.js")), read_file(app_ + "/app.js"));
  EXPECT_EQ(read_file(dir_.file("back/debug.log")), "");  // ignored by .gitignore
  const RunResult to_stdout = hms_run({"tarball", remote(), "big"});
  EXPECT_EQ(to_stdout.code, 0);
  EXPECT_TRUE(to_stdout.out == read_file(dir_.file("back.tgz")));
  check({"tarball", remote(), "nosuch"}, {"", "[!] Service not found\n", 1});
  add("never", {"--tag", "web"});
  check({"tarball", remote(), "never"}, {"", "[!] No builds found\n", 1});
  check({"tarball", "127.0.0.1:" + std::to_string(dock_->port()), "big"}, {"", "[!] Cannot deploy to a dock\n", 1});
}

TEST_P(Deploy, RetryRunsItAgain) {
  const std::string dead = "127.0.0.1:" + std::to_string(free_port());
  const RunResult r = hms_run({"deploy", dead, "x", "--retry", "--no-log"}, in_app());
  EXPECT_EQ(r.code, 1);
  std::size_t deploys = 0, banners = 0;
  for (std::size_t p = 0; (p = r.out.find("Deploying app to x", p)) != std::string::npos; ++p) ++deploys;
  for (std::size_t p = 0; (p = r.out.find("\nCommand failed! Retrying ", p)) != std::string::npos; ++p) ++banners;
  EXPECT_EQ(deploys, 6u) << r.out;
  EXPECT_EQ(banners, 5u);
  EXPECT_NE(r.out.find("[!] Connecting to remote (connect ECONNREFUSED " + dead + ")\n\nCommand failed! Retrying 5/5 ...\n\n"),
            std::string::npos);
}

TEST_P(Deploy, SameAsTheReferenceCli) {
  add("both", {"--build", "sh build.sh", "--tag", "web"});
  const RunResult ours = hms_run({"deploy", remote(), "both", "--no-log"}, in_app());
  const RunResult theirs = node_hms(dir_, {"deploy", remote(), "both", "--no-log"}, in_app());
  EXPECT_EQ(ours.out, theirs.out);
  EXPECT_EQ(ours.err, theirs.err);
  EXPECT_EQ(ours.code, theirs.code);
  // On a terminal: the same but for the tarball's size and the speed.
  RunOptions tty = in_app();
  tty.tty = true;
  const std::regex sizes("\\d+(\\.\\d)? (Bytes|kB|MB)");
  const std::string a = std::regex_replace(hms_run({"deploy", remote(), "both", "--no-log"}, tty).out, sizes, "N");
  const std::string b = std::regex_replace(node_hms(dir_, {"deploy", remote(), "both", "--no-log"}, tty).out, sizes, "N");
  EXPECT_EQ(a, b);
}

HMS_BOTH_HUBS(Deploy);

}  // namespace
}  // namespace hms::clitest
