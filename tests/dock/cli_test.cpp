// hms-dock's command line: --version, --help, and the ways it refuses to
// start (no remote, an ssh remote, a port in use), each with a message and
// a non-zero exit, never a crash.
#include <netinet/in.h>

#include "dock/harness.hpp"

namespace hms::docktest {
namespace {

struct Ran {
  int status = -1;
  std::string output;
};

Ran run(const std::vector<std::string>& args, const std::string& cwd) {
  Proc::Options o;
  o.cwd = cwd;
  Proc p(HMS_DOCK_BINARY, args, o);
  Ran r;
  if (!p.wait_exit(10s, &r.status)) r.status = -1;
  p.wait_eof(2s);
  r.output = p.text();
  return r;
}

TEST(CliTest, VersionAndHelp) {
  TempDir dir;
  Ran r = run({"--version"}, dir.path());
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.output;
  EXPECT_EQ(r.output, "hms-dock 0.1.0\n");
  r = run({"--help"}, dir.path());
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.output;
  for (const char* flag : {"--id", "--tag", "--default", "--port", "--db", "--grace", "--output-queue-mb"})
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag;
}

TEST(CliTest, RefusesToStartWithAReason) {
  TempDir dir;
  Ran r = run({}, dir.path());
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0);
  EXPECT_NE(r.output.find("remote is required"), std::string::npos) << r.output;
  r = run({"me@hub.example:10002"}, dir.path());
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1);
  EXPECT_NE(r.output.find("[!] ssh remotes (user@host) are not supported"), std::string::npos) << r.output;
  r = run({"127.0.0.1:1", "--recv-buffers", "100"}, dir.path());
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1);
  EXPECT_NE(r.output.find("power of two"), std::string::npos) << r.output;
  // A port someone else holds.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  r = run({"127.0.0.1:1", "--address", "127.0.0.1", "--port", std::to_string(ntohs(a.sin_port))}, dir.path());
  ::close(fd);
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1) << r.output;
  EXPECT_NE(r.output.find("[!] bind 127.0.0.1:"), std::string::npos) << r.output;
  // A store that cannot be opened.
  r = run({"127.0.0.1:1", "--db", "/nonexistent-folder/dock.db", "--port", "0"}, dir.path());
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1) << r.output;
  EXPECT_NE(r.output.find("[!] cannot open the dock's store"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hms::docktest
