// Interop with the reference hms 0.4.4 (Node, run with the preload that
// makes it work on Node 20): our dock under the reference terminal, driven
// by the reference CLI (add, deploy, ps, log, stop, start, remove); and the
// reference dock under hms-hub. Node is required: these tests fail, never
// skip, when it is missing.
#include "dock/dock_run.hpp"
#include "dock/peers.hpp"

namespace hms::docktest {
namespace {

void need_node() {
  if (::access(HMS_NODE, X_OK) != 0)
    throw std::runtime_error(std::string("node not found at configure time ('") + HMS_NODE + "')");
  if (::access(HMS_NODE_MODULES "/hms/bin/hms.js", R_OK) != 0)
    throw std::runtime_error("hms 0.4.4 is not installed in " HMS_NODE_MODULES " (the node_npm_install fixture installs it)");
}

// The reference `hms` command line with its HOME in `home`.
std::unique_ptr<Proc> hms_node(const std::vector<std::string>& args, const std::string& cwd, const std::string& home) {
  std::vector<std::string> a{"-r", HMS_NODE_PRELOAD, HMS_NODE_MODULES "/hms/bin/hms.js"};
  a.insert(a.end(), args.begin(), args.end());
  Proc::Options o;
  o.cwd = cwd;
  o.env = {"HOME=" + home, "NODE_OPTIONS=", "TERM=dumb"};
  return std::make_unique<Proc>(HMS_NODE, a, o);
}

struct CliResult {
  int status = -1;
  std::string output;
};

// Runs a CLI command to its end (30 s at most).
CliResult cli(const std::vector<std::string>& args, const std::string& cwd, const std::string& home) {
  auto p = hms_node(args, cwd, home);
  CliResult r;
  if (!p->wait_exit(30s, &r.status)) r.status = -1;
  p->wait_eof(2s);
  r.output = p->text();
  return r;
}

bool exited_ok(const CliResult& r) { return WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0; }

TEST(NodeInteropTest, OurDockUnderTheReferenceTerminalAndCli) {
  need_node();
  TempDir dir;
  for (const char* d : {"term", "home", "app"}) fs::create_directories(dir.file(d));
  write_file(dir.file("app/run.sh"),
             "echo \"hello from $SERVICE_NAME ($GREETING)\"\ni=0\nwhile :; do i=$((i+1)); echo \"tick $i\"; sleep 0.2; done\n");
  const std::uint16_t port = free_port();
  const std::string remote = "127.0.0.1:" + std::to_string(port);
  auto term = hms_node({"terminal", "--port", std::to_string(port)}, dir.file("term"), dir.file("home"));
  ASSERT_TRUE(term->wait_for_text("[term] listening on " + std::to_string(port))) << term->transcript();
  DockRun dock(dir.file("dock"), port);
  ASSERT_TRUE(term->wait_for_text("[term] connection to dock (d1) established")) << term->transcript();

  CliResult r = cli({"add", remote, "web", "--start", "sh run.sh", "--env", "GREETING=hi there"}, dir.file("app"),
                    dir.file("home"));
  ASSERT_TRUE(exited_ok(r)) << r.output;
  EXPECT_EQ(r.output, "[-] Adding web\n[+] Adding web\n");

  r = cli({"deploy", remote, "web", "--no-log"}, dir.file("app"), dir.file("home"));
  ASSERT_TRUE(exited_ok(r)) << r.output << term->transcript() << dock->transcript();
  EXPECT_NE(r.output.find("[+] Uploading web\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[+] Syncing web\n[-] Restarting web\n[+] Restarting web\n"), std::string::npos) << r.output;
  EXPECT_TRUE(dock->wait_for_text("[dock] [web] fetching build from remote"));
  EXPECT_TRUE(dock->wait_for_text("[dock] [web] sync succeded"));

  // log: the reference client tails the output through the terminal.
  auto log = hms_node({"log", remote, "web"}, dir.file("app"), dir.file("home"));
  EXPECT_TRUE(log->wait_for_text("web d1 tick ")) << log->transcript() << dock->transcript();
  log->end(2s);

  r = cli({"ps", remote}, dir.file("app"), dir.file("home"));
  ASSERT_TRUE(exited_ok(r)) << r.output;
  EXPECT_EQ(r.output.rfind("d1\n└─┬ web\n  ├── status:   running\n  ├── cwd:      builds/web@", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("  ├── command:  sh run.sh\n  ├── pid:      "), std::string::npos) << r.output;

  r = cli({"stop", remote, "web"}, dir.file("app"), dir.file("home"));
  EXPECT_TRUE(exited_ok(r)) << r.output;
  EXPECT_EQ(r.output, "[-] Stopping web\n[+] Stopping web\n");
  r = cli({"ps", remote, "web"}, dir.file("app"), dir.file("home"));
  EXPECT_NE(r.output.find("status:   stopped"), std::string::npos) << r.output;

  // start with the tail: the spawn event and the first lines arrive.
  auto start = hms_node({"start", remote, "web"}, dir.file("app"), dir.file("home"));
  EXPECT_TRUE(start->wait_for_text("web d1 Process spawned with pid ")) << start->transcript();
  EXPECT_TRUE(start->wait_for_text("web d1 hello from web (hi there)")) << start->transcript();
  start->end(2s);

  r = cli({"remove", remote, "web"}, dir.file("app"), dir.file("home"));
  EXPECT_TRUE(exited_ok(r)) << r.output;
  r = cli({"ps", remote}, dir.file("app"), dir.file("home"));
  EXPECT_EQ(r.output, "d1\n└── (empty)\n\n") << r.output;
  EXPECT_TRUE(dock->wait_for_text("[dock] [web] stopping and removing process"));
}

TEST(NodeInteropTest, ReferenceDockUnderHmsHub) {
  need_node();
  TempDir dir;
  for (const char* d : {"home", "nodedock/builds/web@t1"}) fs::create_directories(dir.file(d));
  write_file(dir.file("nodedock/builds/web@t1/run.sh"),
             "echo \"hello from $SERVICE_NAME\"\nwhile :; do echo tick; sleep 0.2; done\n");
  Proc::Options ho;
  ho.cwd = dir.path();
  Proc hub(HMS_HUB_BINARY, {"--address", "127.0.0.1", "--port", "0", "--db", dir.file("hub.db"), "--threads", "1", "--log-level", "warn"}, ho);
  const std::string mark = "hms-hub listening on port ";
  auto line = hub.wait_line([&](const std::string& l) { return l.rfind(mark, 0) == 0; });
  ASSERT_TRUE(line) << hub.transcript();
  const std::string hub_port = line->substr(mark.size());
  auto ndock = hms_node({"dock", "127.0.0.1:" + hub_port, "--port", std::to_string(free_port()), "--id", "nd", "--default"},
                        dir.file("nodedock"), dir.file("home"));
  ASSERT_TRUE(ndock->wait_for_text("[dock] connection to remote established")) << ndock->transcript();

  Client c(static_cast<std::uint16_t>(std::stoi(hub_port)));
  ASSERT_TRUE(c.handshake_reply.ok()) << c.handshake_reply;
  ASSERT_TRUE(c.wait_dock_listed("nd")) << ndock->transcript();
  ASSERT_TRUE(c.call(Opcode::add, "web", R"({"start":"sh run.sh"})").ok());
  ASSERT_TRUE(c.call(Opcode::subscribe, "web").ok());
  const Got g = c.call(Opcode::sync, "web", R"({"id":"web","start":"sh run.sh","deployed":"t1"})");
  ASSERT_TRUE(g.ok()) << g << ndock->transcript();
  ASSERT_TRUE(c.events().wait_bytes(Opcode::stdout_, "web", 20)) << ndock->transcript();
  EXPECT_EQ(c.events().bytes(Opcode::stdout_, "web").rfind("hello from web\ntick\n", 0), 0u);
  for (const auto& e : c.events().all()) EXPECT_EQ(e.origin, "nd");
  EXPECT_EQ(ps_entry(c.call(Opcode::ps, "").text, "web").status, "running");
  ASSERT_TRUE(c.call(Opcode::stop, "web").ok());
  EXPECT_EQ(ps_entry(c.call(Opcode::ps, "").text, "web").status, "stopped");
  // The reference dock stops its children on SIGTERM.
  ndock->end();
  EXPECT_TRUE(ndock->wait_for_text("[dock] shutting down"));
}

}  // namespace
}  // namespace hms::docktest
