// remotes add/remove/list and named remotes, and ~/.hms.json byte for byte
// as the reference CLI writes it.
#include <fstream>
#include <sstream>

#include "e2e/fixture.hpp"

namespace hms::clitest {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Remotes : public CliTest {};

TEST_P(Remotes, AddUseRemove) {
  const std::string r = remote();
  check({"remotes"}, {"(empty)\n", "", 0});
  check({"remotes", "add", "demo", r}, {"demo\n└── url: " + r + "\n\n", "", 0});
  check({"remotes", "list"}, {"demo\n└── url: " + r + "\n\n", "", 0});
  check({"list", "demo"}, {"(empty)\n", "", 0});
  check({"add", "demo", "x", "--start", "y"}, {"[-] Adding x\n[+] Adding x\n", "", 0});
  // The reference drops the remote's id cache on add, leaving "cache": {}.
  EXPECT_EQ(read_file(dir_.file("home/.hms.json")),
            "{\n  \"demo\": {\n    \"url\": \"" + r + "\",\n    \"cache\": {}\n  }\n}\n");
  check({"remotes"}, {"demo\n├── url: " + r + "\n└─┬ cache\n  └── (empty)\n\n", "", 0});
  check({"remotes", "remove", "demo"}, {"[+] Remote was removed\n", "", 0});
  check({"remotes", "remove", "demo"}, {"", "[!] Remote not found\n", 1});
  check({"remotes", "remove"}, {"", "[!] Remote is required\n", 1});
  check({"remotes", "add"}, {"", "[!] Remote is required\n", 1});
  check({"remotes", "add", "demo"}, {"", "[!] Remote url is required\n", 1});
  check({"remotes", "add", "k", r, "--key", dir_.file("nokey")}, {"", "[!] Key file does not exist\n", 1});
  dir_.write("id_test", "not really a key\n");
  check({"remotes", "add", "k", r, "--key", dir_.file("id_test"), "--passphrase", "secret"},
        {"k\n├── url:        " + r + "\n├── key:        " + dir_.file("id_test") + "\n└── passphrase: secret\n\n", "",
         0});
  const std::string dead = "127.0.0.1:" + std::to_string(free_port());
  check({"remotes", "add", "gone", dead}, {"", "[!] connect ECONNREFUSED " + dead + "\n", 1});
  // An unknown name is taken as a host name (.invalid never resolves).
  check({"list", "nosuchhost.invalid"}, {"", "[!] getaddrinfo ENOTFOUND nosuchhost.invalid\n", 1});
}

TEST_P(Remotes, SameFileAsTheReferenceCli) {
  const std::string r = remote();
  TempDir theirs;
  for (const char* name : {"demo", "other"}) {
    EXPECT_EQ(hms_run({"remotes", "add", name, r}).code, 0);
    EXPECT_EQ(node_hms(theirs, {"remotes", "add", name, r}).code, 0);
  }
  EXPECT_EQ(hms_run({"remove", "demo", "nothing"}).code, 0);
  EXPECT_EQ(node_hms(theirs, {"remove", "demo", "nothing"}).code, 0);
  EXPECT_EQ(read_file(dir_.file("home/.hms.json")), read_file(theirs.file("home/.hms.json")));
  // And each reads the other's.
  const RunResult a = hms(theirs, {"remotes"});
  const RunResult b = node_hms(dir_, {"remotes"});
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.code, 0);
}

TEST_P(Remotes, BrokenConfigIsReportedNotOverwritten) {
  dir_.write("home/.hms.json", "{ broken");
  const RunResult r = hms_run({"list", remote()});
  EXPECT_EQ(r.code, 0) << show(r);
  EXPECT_NE(r.err.find("warning: " + dir_.file("home/.hms.json") + " is not a JSON object"), std::string::npos)
      << r.err;
  const RunResult w = hms_run({"remotes", "add", "x", remote()});
  EXPECT_EQ(w.code, 1);
  EXPECT_NE(w.err.find("Not overwriting"), std::string::npos) << w.err;
  EXPECT_EQ(read_file(dir_.file("home/.hms.json")), "{ broken");
}

HMS_BOTH_HUBS(Remotes);

}  // namespace
}  // namespace hms::clitest
