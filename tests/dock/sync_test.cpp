// sync: the build is fetched from the hub once, unpacked with libarchive
// into builds/<id>@<deployed>, the record stored; hostile tarballs are
// refused and leave nothing behind; old builds go once no process uses
// them.
#include "dock/dock_run.hpp"
#include "dock/peers.hpp"

namespace hms::docktest {
namespace {

constexpr const char* kFirst = "2024-01-01T00:00:00.000Z";
constexpr const char* kSecond = "2024-02-02T00:00:00.000Z";

// Every path under `root`, relative, sorted.
std::vector<std::string> tree(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    out.push_back(fs::relative(it->path(), root).string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SyncTest, FetchesOnceUnpacksAndStores) {
  TempDir dir;
  FakeHub hub;
  DockRun dock(dir.file("dock"), hub.port());
  ASSERT_TRUE(hub.wait_dock());
  hub.serve("web", make_tarball({{TarEntry::dir, ".", "", 0755},
                                 {TarEntry::file, "run.sh", "echo v1\nexec sleep 1000\n", 0700},
                                 {TarEntry::dir, "sub", "", 0700},
                                 {TarEntry::file, "sub/data.txt", "data", 0600},
                                 {TarEntry::symlink, "sub/link", "../run.sh", 0777},
                                 {TarEntry::hardlink, "copy.sh", "run.sh", 0644}}));
  Got g = hub.sync("web", service_json("web", "sh run.sh", kFirst, "{}", R"(,"tags":["x"],"extra":{"kept":true})"));
  ASSERT_TRUE(g.ok()) << g << "\n" << dock->transcript();
  EXPECT_EQ(hub.gets("web"), 1);
  const std::string b = dock.build_dir("web", kFirst);
  EXPECT_EQ(read_file(b + "/run.sh"), "echo v1\nexec sleep 1000\n");
  EXPECT_EQ(read_file(b + "/sub/data.txt"), "data");
  EXPECT_EQ(fs::read_symlink(b + "/sub/link").string(), "../run.sh");
  EXPECT_EQ(read_file(b + "/copy.sh"), "echo v1\nexec sleep 1000\n");
  // readable:true as the reference: at least r--r--r-- (the umask may take w).
  struct stat st{};
  ::stat((b + "/sub/data.txt").c_str(), &st);
  EXPECT_EQ(st.st_mode & 0444, 0444u);
  EXPECT_TRUE(dock->wait_for_text("[dock] [web] fetching build from remote"));
  EXPECT_TRUE(dock->wait_for_text("[dock] [web] sync succeded"));
  // The hub's whole record is stored, cwd replaced, unknown members kept.
  Client direct(dock.port);
  g = direct.call(Opcode::get, "web");
  ASSERT_TRUE(g.ok()) << g;
  EXPECT_NE(g.text.find(R"("cwd":"builds/web@2024-01-01T00-00-00.000Z")"), std::string::npos) << g.text;
  EXPECT_NE(g.text.find(R"("extra":{"kept":true})"), std::string::npos) << g.text;
  // The same build again: no download.
  ASSERT_TRUE(hub.sync("web", service_json("web", "sh run.sh", kFirst)).ok());
  EXPECT_EQ(hub.gets("web"), 1);

  // A new build, started; once the old build's process is gone, its
  // folder goes too.
  ASSERT_TRUE(hub.subscribe("web").ok());
  ASSERT_TRUE(hub.start("web").ok());
  ASSERT_TRUE(hub.events().wait_bytes(Opcode::stdout_, "web", 3));
  hub.serve("web", script_tarball("echo v2\nexec sleep 1000\n"));
  ASSERT_TRUE(hub.sync("web", service_json("web", "sh run.sh", kSecond)).ok());
  EXPECT_EQ(hub.gets("web"), 2);
  EXPECT_TRUE(fs::exists(b));  // still running there
  ASSERT_TRUE(hub.restart("web").ok());
  ASSERT_TRUE(hub.events().wait([](EventLog& e) { return e.bytes(Opcode::stdout_, "web") == "v1\nv2\n"; }));
  EXPECT_TRUE(eventually([&] { return !fs::exists(b); })) << dock->transcript();
  EXPECT_TRUE(fs::exists(dock.build_dir("web", kSecond)));
  ASSERT_TRUE(hub.stop("web").ok());
}

TEST(SyncTest, HostileTarballsAreRefused) {
  TempDir dir;
  FakeHub hub;
  DockRun dock(dir.file("dock"), hub.port());
  ASSERT_TRUE(hub.wait_dock());
  const std::vector<TarEntry> ok_file{{TarEntry::file, "run.sh", "echo hi\n", 0755}};
  struct Case {
    const char* name;
    std::vector<TarEntry> entries;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"dotdot", {{TarEntry::file, "../evil.txt", "x", 0644}}, "refusing archive entry '../evil.txt'"},
      {"deepdotdot", {{TarEntry::file, "a/b/../../../evil.txt", "x", 0644}}, "refusing archive entry 'a/b/../../../evil.txt'"},
      {"absolute", {{TarEntry::file, dir.file("evil-abs.txt"), "x", 0644}}, "it would land outside the build folder"},
      {"symlinkout", {{TarEntry::symlink, "up", "../../..", 0777}, {TarEntry::file, "up/evil.txt", "x", 0644}},
       "refusing symbolic link 'up' -> '../../..'"},
      {"symlinkabs", {{TarEntry::symlink, "etc", "/etc", 0777}}, "refusing symbolic link 'etc' -> '/etc'"},
      {"hardlinkout", {{TarEntry::hardlink, "pw", "../../../../etc/passwd", 0644}}, "refusing hard link 'pw'"},
      {"root", {{TarEntry::symlink, ".", "/", 0777}}, "it would replace the build folder"},
  };
  for (const auto& c : cases) {
    std::vector<TarEntry> entries = ok_file;  // a good entry first: it must not stay behind either
    entries.insert(entries.end(), c.entries.begin(), c.entries.end());
    hub.serve(c.name, make_tarball(entries));
    const Got g = hub.sync(c.name, service_json(c.name, "sh run.sh", kFirst));
    EXPECT_EQ(g.status, Result::Status::error) << c.name << ": " << g;
    EXPECT_NE(g.text.find(c.error), std::string::npos) << c.name << ": " << g.text;
    EXPECT_TRUE(dock->wait_for_text(std::string("[dock] [") + c.name + "] sync failed (")) << c.name;
  }
  // Nothing written outside, no partial build inside, no download left over.
  EXPECT_EQ(tree(dir.file("dock")), (std::vector<std::string>{"builds", "dock.db", "dock.db-shm", "dock.db-wal"}));
  EXPECT_EQ(tree(dir.path()), (std::vector<std::string>{"dock", "dock/builds", "dock/dock.db", "dock/dock.db-shm",
                                                        "dock/dock.db-wal"}));
  EXPECT_FALSE(fs::exists("/etc/evil.txt"));
  // Nothing was stored for them.
  Client direct(dock.port);
  EXPECT_EQ(direct.call(Opcode::list, "").text, "[]");
}

TEST(SyncTest, FailuresAreErrors) {
  TempDir dir;
  FakeHub hub;
  DockRun dock(dir.file("dock"), hub.port());
  ASSERT_TRUE(hub.wait_dock());
  Got g = hub.sync("nobuild", service_json("nobuild", "sh run.sh", kFirst));
  EXPECT_TRUE(g.error("Could not fetch build")) << g;
  hub.serve("garbage", "this is not a tarball at all, not even gzip");
  g = hub.sync("garbage", service_json("garbage", "sh run.sh", kFirst));
  EXPECT_EQ(g.status, Result::Status::error) << g;
  g = hub.sync("nodeploy", R"({"id":"nodeploy","start":"x"})");
  EXPECT_TRUE(g.error("Service has no deployed build")) << g;
  g = hub.sync("evil", service_json("evil", "x", "../../x"));
  EXPECT_TRUE(g.error("Service id or deploy time would name a folder outside builds/")) << g;
  g = hub.sync("web", "null");
  EXPECT_TRUE(g.error("Service must be passed")) << g;
  g = hub.sync("web", "{not json");
  EXPECT_EQ(g.status, Result::Status::error) << g;
  EXPECT_EQ(tree(dir.file("dock/builds")), std::vector<std::string>{});
}

}  // namespace
}  // namespace hms::docktest
