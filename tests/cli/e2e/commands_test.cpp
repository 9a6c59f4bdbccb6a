// The client commands against hms-hub and the Node terminal: what the
// reference prints (captured sessions of the reference notes, section 7),
// exit codes included.
#include "e2e/fixture.hpp"
#include "text.hpp"

namespace hms::clitest {
namespace {

class Commands : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    dock_ = std::make_unique<FakeDock>(*hub_, "dock-a", std::vector<std::string>{"web"});
  }
  std::unique_ptr<FakeDock> dock_;
};

TEST_P(Commands, AddListUpdateRemove) {
  const std::string r = remote();
  check({"list", r}, {"(empty)\n", "", 0});
  check({"add", r, "hello", "--start", "node app.js", "--build", "sh build.sh", "--tag", "web", "--env",
         "GREETING=hi there"},
        {"[-] Adding hello\n[+] Adding hello\n", "", 0});
  check({"add", r, "hello", "--start", "node app.js"},
        {"[-] Adding hello\n[!] Adding hello (Service already exist)\n", "", 1});
  check({"add", r, "hello world", "--start", "node app.js"},
        {"[-] Adding hello world\n[!] Adding hello world (Service name should be alphanumericish)\n", "", 1});
  check({"add", r, "hello_2", "--start", "node app.js"},
        {"[-] Adding hello_2\n[!] Adding hello_2 (Service name should be alphanumericish)\n", "", 1});
  check({"add", r, "second", "--start", "node app.js", "--limit", "2"}, {"[-] Adding second\n[+] Adding second\n", "", 0});
  check({"list", r},
        {"hello\n"
         "├── start: node app.js\n"
         "├── build: sh build.sh\n"
         "├─┬ tags\n"
         "│ └── web\n"
         "└─┬ env\n"
         "  └── GREETING: hi there\n"
         "\n"
         "second\n"
         "├── start: node app.js\n"
         "├── limit: 2\n"
         "├─┬ tags\n"
         "│ └── (empty)\n"
         "└─┬ env\n"
         "  └── (empty)\n"
         "\n",
         "", 0});
  check({"update", r, "hello", "--env", "GREETING=", "--tag", "extra"}, {"[-] Updating hello\n[+] Updating hello\n", "", 0});
  check({"update", r, "hello", "--untag", "extra", "--limit", "1"}, {"[-] Updating hello\n[+] Updating hello\n", "", 0});
  check({"list", r, "hello"},
        {"hello\n"
         "├── start: node app.js\n"
         "├── build: sh build.sh\n"
         "├── limit: 1\n"
         "├─┬ tags\n"
         "│ └── web\n"
         "└─┬ env\n"
         "  └── (empty)\n"
         "\n",
         "", 0});
  // Several --env flags, quotes, deletion, a new start script.
  check({"update", r, "hello", "--env", "A=1,B=\"two words\"", "-e", "C='3'", "--start", "node v2.js"},
        {"[-] Updating hello\n[+] Updating hello\n", "", 0});
  check({"update", r, "hello", "--env", "A="}, {"[-] Updating hello\n[+] Updating hello\n", "", 0});
  check({"list", r, "hello"},
        {"hello\n"
         "├── start: node v2.js\n"
         "├── build: sh build.sh\n"
         "├── limit: 1\n"
         "├─┬ tags\n"
         "│ └── web\n"
         "└─┬ env\n"
         "  ├── B: two words\n"
         "  └── C: 3\n"
         "\n",
         "", 0});
  check({"update", r, "hello", "--force"}, {"[-] Updating hello\n[+] Updating hello\n", "", 0});
  check({"remove", r, "hello"}, {"[-] Removing hello\n[+] Removing hello\n", "", 0});
  check({"remove", r, "nosuch"}, {"[-] Removing nosuch\n[+] Removing nosuch\n", "", 0});
  check({"list", r}, {"second\n├── start: node app.js\n├── limit: 2\n├─┬ tags\n│ └── (empty)\n└─┬ env\n  └── (empty)\n\n", "", 0});
}

TEST_P(Commands, UnknownService) {
  const std::string r = remote();
  check({"ps", r, "nosuch"}, {"dock-a\n└── (empty)\n\n", "", 0});
  check({"start", r, "nosuch", "--no-log"}, {"[-] Starting nosuch\n[!] Starting nosuch (Service not found)\n", "", 1});
  check({"start", r, "nosuch"}, {"[-] Starting nosuch\n", "[!] Service not found\n", 1});
  check({"restart", r, "nosuch"}, {"[-] Restarting nosuch\n", "[!] Service not found\n", 1});
  check({"stop", r, "nosuch"}, {"[-] Stopping nosuch\n[!] Stopping nosuch (Service not found)\n", "", 1});
  check({"restart", r, "nosuch", "--no-log"},
        {"[-] Restarting nosuch\n[!] Restarting nosuch (Service not found)\n", "", 1});
  check({"sync", r, "nosuch"}, {"[-] Syncing nosuch\n[!] Syncing nosuch (Service not found)\n", "", 1});
  check({"update", r, "nosuch", "--tag", "x"}, {"[-] Updating nosuch\n[!] Updating nosuch (Service not found)\n", "", 1});
  check({"list", r, "nosuch"}, {"", "[!] Service not found\n", 1});
  check({"log", r, "nosuch"}, {"", "[!] Service not found\n", 1});
}

TEST_P(Commands, Control) {
  const std::string r = remote();
  check({"add", r, "hello", "--start", "node app.js", "--tag", "web"}, {"[-] Adding hello\n[+] Adding hello\n", "", 0});
  check({"stop", r, "hello"}, {"[-] Stopping hello\n[+] Stopping hello\n", "", 0});
  check({"start", r, "hello", "--no-log"}, {"[-] Starting hello\n[+] Starting hello\n", "", 0});
  check({"restart", r, "hello", "--no-log"}, {"[-] Restarting hello\n[+] Restarting hello\n", "", 0});
  check({"sync", r, "hello"}, {"[-] Syncing hello\n[+] Syncing hello\n", "", 0});
  check({"sync", r, "hello", "--restart"},
        {"[-] Syncing hello\n[+] Syncing hello\n[-] Restarting hello\n[+] Restarting hello\n", "", 0});
  // update --restart prints the log header and returns, as the reference.
  check({"update", r, "hello", "--tag", "x", "--restart"},
        {"[-] Updating hello\n[+] Updating hello\n[-] Restarting hello\n[+] Restarting hello\n\nForwarding hello output\n\n",
         "", 0});
  check({"update", r, "hello", "--limit", "2", "--restart", "--no-log"},
        {"[-] Updating hello\n[+] Updating hello\n[-] Restarting hello\n[+] Restarting hello\n", "", 0});
}

TEST_P(Commands, UsageErrors) {
  const std::string r = remote();
  check({"list"}, {"", "[!] Remote is required\n", 1});
  check({"start"}, {"", "[!] Remote is required\n", 1});
  for (const char* cmd : {"add", "remove", "update", "start", "stop", "restart", "sync", "deploy", "tarball"})
    check({cmd, r}, {"", "[!] Service name required\n", 1});
  check({"add", r, "x"}, {"", "[!] You need to specify the following properties\n    --start [start-script]\n", 1});
  check({"add", r, "x", "--start", ""},
        {"", "[!] You need to specify the following properties\n    --start [start-script]\n", 1});
  check({"update", r, "x"},
        {"",
         "[!] You need to specify one (or more) of the following\n"
         "    --start [start-script]\n"
         "    --build [build-script]\n"
         "    --tag   [add-a-tag]\n"
         "    --untag [remove-a-tag]\n"
         "    --env   [NAME=var,NAME2=var2]\n",
         1});
  check({"add", r, "x", "--start", "a", "--limit", "many"}, {"", "[!] --limit needs a whole number, not 'many'\n", 1});
  check({"start", r, "x", "--nolog"}, {"", "[!] The following argument was not expected: --nolog\n", 1});
  check({"list", "http://x"},
        {"", "[!] Invalid remote http://x (want host[:port] or user@host[:sshport+port])\n", 1});
}

TEST_P(Commands, UnreachableHub) {
  const int dead = free_port();
  const std::string at = "127.0.0.1:" + std::to_string(dead);
  const std::string refused = "connect ECONNREFUSED " + at;
  check({"list", at}, {"", "[!] " + refused + "\n", 1});
  check({"add", at, "x", "--start", "a"}, {"[-] Adding x\n[!] Adding x (" + refused + ")\n", "", 1});
  check({"start", at, "x"}, {"[-] Starting x\n", "[!] " + refused + "\n", 1});
  check({"log", at}, {"", "[!] " + refused + "\n", 1});
  // --port gives the port of an address that has none.
  check({"list", "127.0.0.1", "--port", std::to_string(dead)}, {"", "[!] " + refused + "\n", 1});
  check({"list", "127.0.0.1", "--port", std::to_string(hub_->port())}, {"(empty)\n", "", 0});
}

TEST_P(Commands, Ps) {
  const std::string r = remote();
  dock_->set_processes(R"([
    {"id":"zeta","status":"stopped","cwd":"builds/zeta@x","command":["node","z.js"],"deployed":"2000-01-01T00:00:00.000Z"},
    {"id":"alpha","status":"running","started":"2999-01-01T00:00:00.000Z","pid":5907,"command":["node","server.js"],
     "cwd":"builds/alpha@2026-12-01T17-24-47.110Z","revision":"v1.2.3","deployed":"2999-01-01T00:00:00.000Z",
     "env":{"SERVICE_NAME":"alpha","PORT":"8080"}},
    {"id":"Beta","status":"crashed","cwd":"b","command":["a",null,"b"]}])");
  const std::string alpha =
      "├─┬ alpha\n"
      "│ ├── status:   running\n"
      "│ ├── cwd:      builds/alpha@2026-12-01T17-24-47.110Z\n"
      "│ ├── command:  node server.js\n"
      "│ ├── revision: v1.2.3\n"
      "│ ├── pid:      5907\n"
      "│ ├── started:  just now\n"
      "│ └── deployed: just now\n";
  const std::string beta =
      "├─┬ Beta\n"
      "│ ├── status:  crashed\n"
      "│ ├── cwd:     b\n"
      "│ └── command: a  b\n";
  // 2000 is some years ago (the unit tests check the wording itself).
  const std::string years =
      cli::relative_date(cli::now_ms() - cli::js_date_ms(cli::JsValue::string("2000-01-01T00:00:00.000Z"))).value();
  const std::string zeta =
      "└─┬ zeta\n"
      "  ├── status:   stopped\n"
      "  ├── cwd:      builds/zeta@x\n"
      "  ├── command:  node z.js\n"
      "  └── deployed: " + years + "\n";
  // Sorted as localeCompare sorts (alpha, Beta, zeta); a future date is
  // "just now".
  check({"ps", r}, {"dock-a\n" + alpha + beta + zeta + "\n", "", 0});
  check({"ps", r, "alpha", "--env"},
        {"dock-a\n└─┬ alpha\n"
         "  ├── status:   running\n"
         "  ├── cwd:      builds/alpha@2026-12-01T17-24-47.110Z\n"
         "  ├── command:  node server.js\n"
         "  ├── revision: v1.2.3\n"
         "  ├── pid:      5907\n"
         "  ├── started:  just now\n"
         "  ├── deployed: just now\n"
         "  └─┬ env\n"
         "    ├── SERVICE_NAME: alpha\n"
         "    └── PORT:         8080\n\n",
         "", 0});
}

HMS_BOTH_HUBS(Commands);

}  // namespace
}  // namespace hms::clitest
