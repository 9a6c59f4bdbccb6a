// user@host remotes through the system ssh client, against a real sshd on
// loopback (a private config, host key and user key in the test's
// directory; HMS_SSH points ssh at that config).
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e/fixture.hpp"

namespace hms::clitest {
namespace {

constexpr const char* kSshd = "/usr/sbin/sshd";

class Ssh : public CliTest {
 protected:
  void SetUp() override {
    if (::access(kSshd, X_OK) != 0 || run({"sh", "-c", "command -v ssh-keygen && command -v ssh"}).code != 0)
      GTEST_SKIP() << "needs OpenSSH (" << kSshd << ", ssh, ssh-keygen): apt-get install openssh-server";
    CliTest::SetUp();
    ASSERT_EQ(run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir_.file("host_key")}).code, 0);
    ASSERT_EQ(run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir_.file("user_key")}).code, 0);
    ::rename(dir_.file("user_key.pub").c_str(), dir_.file("authorized_keys").c_str());
    ssh_port_ = free_port();
    dir_.write("sshd_config", "Port " + std::to_string(ssh_port_) +
                                  "\nListenAddress 127.0.0.1\nHostKey " + dir_.file("host_key") +
                                  "\nAuthorizedKeysFile " + dir_.file("authorized_keys") +
                                  "\nPidFile none\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
                                  "KbdInteractiveAuthentication no\nPermitRootLogin yes\nAllowTcpForwarding yes\n"
                                  "LogLevel ERROR\n");
    dir_.write("ssh_config", "Host *\n  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  IdentityFile " +
                                 dir_.file("user_key") + "\n  IdentitiesOnly yes\n  BatchMode yes\n  LogLevel ERROR\n");
    ::mkdir("/run/sshd", 0755);  // sshd's privilege separation directory
    sshd_ = std::make_unique<Background>(std::vector<std::string>{kSshd, "-D", "-e", "-f", dir_.file("sshd_config")});
    // Up when it accepts a login.
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    for (;;) {
      const RunResult r = run({"ssh", "-F", dir_.file("ssh_config"), "-p", std::to_string(ssh_port_), "-l", user(),
                               "127.0.0.1", "true"});
      if (r.code == 0) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "sshd did not come up: " << r.err << sshd_->err();
      std::this_thread::sleep_for(50ms);
    }
  }
  static std::string user() {
    const passwd* pw = getpwuid(getuid());
    return pw ? pw->pw_name : "root";
  }
  RunOptions via_ssh(RunOptions o = {}) {
    o.env["HMS_SSH"] = "ssh -F " + dir_.file("ssh_config");
    return o;
  }
  std::string ssh_remote() const {
    return user() + "@127.0.0.1:" + std::to_string(ssh_port_) + "+" + std::to_string(hub_->port());
  }
  std::unique_ptr<Background> sshd_;
  int ssh_port_ = 0;
};

TEST_P(Ssh, CommandsThroughTheTunnel) {
  const std::string r = ssh_remote();
  check({"list", r}, {"(empty)\n", "", 0}, via_ssh());
  check({"add", r, "web", "--start", "node app.js"}, {"[-] Adding web\n[+] Adding web\n", "", 0}, via_ssh());
  check({"remotes", "add", "far", r}, {"far\n└── url: " + r + "\n\n", "", 0}, via_ssh());
  check({"list", "far"}, {"web\n├── start: node app.js\n├─┬ tags\n│ └── (empty)\n└─┬ env\n  └── (empty)\n\n", "", 0},
        via_ssh());
  check({"start", "far", "nosuch"}, {"[-] Starting nosuch\n", "[!] Service not found\n", 1}, via_ssh());
}

TEST_P(Ssh, DeployAndTarballThroughTheTunnel) {
  if (GetParam() == HubKind::native && !HMS_HUB_HAS_DEPLOY) GTEST_SKIP() << kNoDeployYet;
  NodeDock dock(*hub_, dir_, "dock-a", {"web"});
  const std::string r = ssh_remote();
  check({"add", r, "web", "--start", "node app.js", "--tag", "web"}, {"[-] Adding web\n[+] Adding web\n", "", 0},
        via_ssh());
  dir_.write("app/app.js", "setInterval(() => {}, 1000)\n");
  RunOptions o = via_ssh();
  o.cwd = dir_.file("app");
  const RunResult d = hms_run({"deploy", r, "web", "--no-log"}, o);
  EXPECT_EQ(d.code, 0) << show(d);
  const RunResult t = hms_run({"tarball", r, "web", "--out", dir_.file("web.tgz")}, via_ssh());
  EXPECT_EQ(t.code, 0) << show(t);
  EXPECT_EQ(run({"tar", "tzf", dir_.file("web.tgz")}).code, 0);
}

TEST_P(Ssh, FailuresAreReported) {
  // Nothing listens on this ssh port: ssh says why, we say it failed.
  const std::string r = user() + "@127.0.0.1:" + std::to_string(free_port()) + "+" + std::to_string(hub_->port());
  const RunResult l = hms_run({"list", r}, via_ssh());
  EXPECT_EQ(l.code, 1);
  EXPECT_NE(l.err.find("[!] ssh to " + user() + "@127.0.0.1 failed (exit code 255)\n"), std::string::npos) << l.err;
  // The tunnel is up but no hub listens behind it.
  const std::string nohub = user() + "@127.0.0.1:" + std::to_string(ssh_port_) + "+" + std::to_string(free_port());
  const RunResult n = hms_run({"list", nohub}, via_ssh());
  EXPECT_EQ(n.code, 1);
  EXPECT_NE(n.err.find("[!] "), std::string::npos) << n.err;
}

HMS_BOTH_HUBS(Ssh);

}  // namespace
}  // namespace hms::clitest
