// The dock supervising real processes (small shell scripts), driven by a
// hub: start, stop, restart, the crash loop ending in `crashed`, SIGTERM
// then SIGKILL, the environment, and start texts that cannot run.
#include "dock/dock_run.hpp"
#include "dock/peers.hpp"

namespace hms::docktest {
namespace {

constexpr const char* kDeployed = "2024-01-01T00:00:00.000Z";

struct Fixture {
  explicit Fixture(std::vector<std::string> extra = {}, std::vector<std::string> env = {})
      : dock(dir.file("dock"), hub.port(), std::move(extra), "d1", std::move(env)) {
    if (!hub.wait_dock()) throw std::runtime_error("the dock did not handshake:\n" + dock->transcript());
  }
  // Serves `script` as service `id`, syncs it and subscribes to it.
  void deploy(const std::string& id, const std::string& script, const std::string& start = "sh run.sh",
              const std::string& env_json = "{}") {
    hub.serve(id, script_tarball(script));
    ASSERT_TRUE(hub.subscribe(id).ok());
    const Got g = hub.sync(id, service_json(id, start, kDeployed, env_json));
    ASSERT_TRUE(g.ok()) << g << "\n" << dock->transcript();
  }
  PsEntry ps(const std::string& id) { return ps_entry(hub.ps().text, id); }

  TempDir dir;
  FakeHub hub;
  DockRun dock;
};

TEST(SupervisorTest, StartStopRestart) {
  Fixture f;
  f.deploy("web", "echo ready\nexec sleep 1000\n");
  auto& ev = f.hub.events();
  ASSERT_TRUE(f.hub.start("web").ok());
  ASSERT_TRUE(ev.wait_bytes(Opcode::stdout_, "web", 6)) << f.dock->transcript();
  EXPECT_EQ(ev.bytes(Opcode::stdout_, "web"), "ready\n");
  ASSERT_EQ(ev.spawns("web").size(), 1u);
  const pid_t first = static_cast<pid_t>(std::stol(ev.spawns("web")[0]));
  EXPECT_TRUE(process_alive(first));

  PsEntry p = f.ps("web");
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.status, "running");
  EXPECT_EQ(p.pid, first);
  EXPECT_EQ(p.command, (std::vector<std::string>{"sh", "run.sh"}));
  EXPECT_EQ(p.cwd, "builds/web@2024-01-01T00-00-00.000Z");
  EXPECT_EQ(p.restarts, 0);
  EXPECT_FALSE(p.started.empty());
  // A start of a running service changes nothing.
  ASSERT_TRUE(f.hub.start("web").ok());
  EXPECT_EQ(ev.spawns("web").size(), 1u);

  // stop answers once the process is gone.
  ASSERT_TRUE(f.hub.stop("web").ok());
  EXPECT_FALSE(process_alive(first));
  EXPECT_EQ(ev.count(Opcode::exit, "web"), 1u);
  p = f.ps("web");
  EXPECT_EQ(p.status, "stopped");
  EXPECT_EQ(p.pid, 0);
  EXPECT_TRUE(p.started.empty());

  ASSERT_TRUE(f.hub.start("web").ok());
  ASSERT_TRUE(ev.wait_count(Opcode::spawn, "web", 2));
  const pid_t second = static_cast<pid_t>(std::stol(ev.spawns("web")[1]));
  ASSERT_TRUE(ev.wait_bytes(Opcode::stdout_, "web", 12));
  // restart: the old process goes first, then the new one starts.
  ASSERT_TRUE(f.hub.restart("web").ok());
  ASSERT_TRUE(ev.wait_count(Opcode::spawn, "web", 3)) << f.dock->transcript();
  const auto all = ev.all();
  std::size_t exit_at = 0, spawn_at = 0, spawns = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].service != "web") continue;
    if (all[i].op == Opcode::exit) exit_at = i;
    if (all[i].op == Opcode::spawn && ++spawns == 3) spawn_at = i;
  }
  EXPECT_LT(exit_at, spawn_at);
  EXPECT_FALSE(process_alive(second));
  EXPECT_EQ(f.ps("web").status, "running");
  ASSERT_TRUE(f.hub.stop("web").ok());
  // The reference's log lines.
  EXPECT_TRUE(f.dock->wait_for_text("[dock] [web] starting process"));
  EXPECT_TRUE(f.dock->wait_for_text("[dock] [web] stopping process"));
  EXPECT_TRUE(f.dock->wait_for_text("[dock] [web] restarting process"));
  EXPECT_TRUE(f.dock->wait_for_text("[dock] [web] spawned " + std::to_string(first)));
  EXPECT_TRUE(f.dock->wait_for_text("[dock] [web] exited (null)"));
}

TEST(SupervisorTest, CrashLoopEndsCrashed) {
  Fixture f;
  f.deploy("flaky", "echo boom\nexit 3\n");
  auto& ev = f.hub.events();
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(f.hub.start("flaky").ok());
  // One start and ten restarts, a second apart, then it stays down.
  ASSERT_TRUE(ev.wait_count(Opcode::exit, "flaky", 11, 20s)) << f.dock->transcript();
  ASSERT_TRUE(eventually([&] { return f.ps("flaky").status == "crashed"; }, 5s));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 9500ms);
  EXPECT_EQ(ev.count(Opcode::spawn, "flaky"), 11u);
  for (const auto& e : ev.all()) {
    if (e.op == Opcode::exit) {
      EXPECT_EQ(e.payload, "3");
    }
  }
  const PsEntry p = f.ps("flaky");
  EXPECT_EQ(p.pid, 0);
  EXPECT_EQ(p.restarts, 10);
  // A start after the crash begins again with a fresh budget.
  ASSERT_TRUE(f.hub.start("flaky").ok());
  ASSERT_TRUE(ev.wait_count(Opcode::spawn, "flaky", 12));
  ASSERT_TRUE(f.hub.stop("flaky").ok());
}

TEST(SupervisorTest, StopSendsSigkillAfterTheGracePeriod) {
  Fixture f({"--grace", "0.5"});
  // The script ignores SIGTERM (its sleeps do not, so they die and the
  // loop starts new ones): only SIGKILL ends it.
  f.deploy("stubborn", "trap '' TERM\necho ready\nwhile :; do sleep 0.1; done\n");
  auto& ev = f.hub.events();
  ASSERT_TRUE(f.hub.start("stubborn").ok());
  ASSERT_TRUE(ev.wait_bytes(Opcode::stdout_, "stubborn", 6));
  const pid_t pid = static_cast<pid_t>(std::stol(ev.spawns("stubborn").at(0)));
  const auto t0 = std::chrono::steady_clock::now();
  const Got g = f.hub.stop("stubborn");
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(g.ok()) << g;
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(process_alive(pid));
  ASSERT_TRUE(ev.wait_count(Opcode::exit, "stubborn", 1));
  EXPECT_EQ(ev.all().back().payload, "null");  // a signal ended it
  EXPECT_TRUE(f.dock->wait_for_text("[dock] [stubborn] did not stop within 500 ms: killed"));
  EXPECT_EQ(f.ps("stubborn").status, "stopped");
}

TEST(SupervisorTest, EnvironmentServiceNameAndArguments) {
  Fixture f({}, {"HMS_DOCK_TEST=from-the-dock"});
  f.deploy("envy", "printf '%s|%s|%s|%s|%s|%s\\n' \"$SERVICE_NAME\" \"$GREETING\" \"$HMS_DOCK_TEST\" \"$1\" \"$2\" \"$(basename \"$PWD\")\"\nexec sleep 1000\n",
           R"(sh run.sh 'two words' \"$GREETING\")", R"({"GREETING":"hi there"})");
  auto& ev = f.hub.events();
  ASSERT_TRUE(f.hub.start("envy").ok());
  ASSERT_TRUE(ev.wait([](EventLog& e) { return e.bytes(Opcode::stdout_, "envy").find('\n') != std::string::npos; }))
      << f.dock->transcript();
  EXPECT_EQ(ev.bytes(Opcode::stdout_, "envy"), "envy|hi there|from-the-dock|two words|hi there|envy@2024-01-01T00-00-00.000Z\n");
  const PsEntry p = f.ps("envy");
  EXPECT_EQ(p.command, (std::vector<std::string>{"sh", "run.sh", "two words", "hi there"}));
  EXPECT_EQ(p.env, (std::vector<std::pair<std::string, std::string>>{{"SERVICE_NAME", "envy"}, {"GREETING", "hi there"}}));
  ASSERT_TRUE(f.hub.stop("envy").ok());
}

TEST(SupervisorTest, StartTextsThatCannotRun) {
  Fixture f;
  auto& ev = f.hub.events();
  f.deploy("missing", "", "no-such-program-hms-test --flag");
  ASSERT_TRUE(f.hub.start("missing").ok());
  ASSERT_TRUE(ev.wait_count(Opcode::spawn, "missing", 1));
  EXPECT_EQ(ev.spawns("missing")[0], "null");  // as the reference's (patched) dock
  EXPECT_TRUE(f.dock->wait_for_text("[dock] [missing] spawn failed (spawn no-such-program-hms-test: No such file"));
  EXPECT_EQ(f.ps("missing").status, "crashed");

  f.deploy("shelly", "", "echo a && echo b");
  ASSERT_TRUE(f.hub.start("shelly").ok());
  ASSERT_TRUE(eventually([&] { return f.ps("shelly").status == "crashed"; }));
  const PsEntry p = f.ps("shelly");
  EXPECT_NE(p.error.find("shell operator '&&'"), std::string::npos) << p.error;
  EXPECT_EQ(p.command, (std::vector<std::string>{"echo a && echo b"}));
  // A build folder that went away: said so, not "No such file".
  f.deploy("gone", "exec sleep 1000\n");
  fs::remove_all(f.dock.build_dir("gone", kDeployed));
  ASSERT_TRUE(f.hub.start("gone").ok());
  EXPECT_TRUE(f.dock->wait_for_text("[dock] [gone] spawn failed (its build folder builds/gone@2024-01-01T00-00-00.000Z is missing)"))
      << f.dock->transcript();
  // The dock itself is fine.
  EXPECT_TRUE(f.hub.ps().ok());
}

}  // namespace
}  // namespace hms::docktest
