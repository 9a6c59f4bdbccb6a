// Deploys on the hub (PUT /<id>) and tarballs (GET /<id>), as the reference
// terminal serves them: the upload unpacked into builds/<id>@<date>, the
// build's output streamed back with an X-Status trailer, the build recorded
// and synced to the docks; failures keep the previous build.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "archive/untar.hpp"
#include "hub/deploy_http.hpp"
#include "hub/harness.hpp"

namespace hms::hubtest {
namespace {

namespace fs = std::filesystem;

struct DeployTest : ::testing::Test {
  TempDir dir;
  hub::HubOptions options() {
    hub::HubOptions o = hub_options(dir, 2);
    o.builds = dir.file("builds");
    return o;
  }
  RunningHub hub{options()};
  LoopThread loop;
  TestDock dock{loop, hub.port, "dock-a", TestDock::Options().as_default()};
  TestClient cli{loop, hub.port};
  Source src;

  void SetUp() override {
    src.write("build.sh", "echo \"building $1\"\necho to-stderr >&2\necho built > built.txt\n");
    src.write("server.js", "console.log('hi')\n");
    src.write("sub/file.txt", "x\n");
  }
  // The build folders there are now.
  std::vector<std::string> builds() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir.file("builds"), ec))
      if (e.path().filename().string()[0] != '.') out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(DeployTest, BuildOutputStreamsBackAndTheBuildIsRecordedAndSynced) {
  ASSERT_TRUE(cli.add("web", R"({"start":"node server.js","build":"sh build.sh $1"})").ok());
  const HttpAnswer a = put(hub.port, "/web?revision=v1.2-3", src.tarball());
  EXPECT_EQ(a.status, 200) << a.head;
  EXPECT_TRUE(a.complete);
  EXPECT_NE(a.head.find("Trailer: X-Status"), std::string::npos);
  EXPECT_EQ(a.x_status(), "200");
  EXPECT_EQ(a.body, "building web\nto-stderr\n");

  const std::string rec = cli.get("web").text;
  const std::string cwd = member(rec, "cwd");
  EXPECT_EQ(member(rec, "revision"), "v1.2-3");
  const std::string deployed = member(rec, "deployed");
  ASSERT_EQ(deployed.size(), 24u) << rec;  // 2026-12-01T17:24:47.110Z
  std::string folder = "web@" + deployed;
  std::replace(folder.begin(), folder.end(), ':', '-');
  EXPECT_EQ(cwd, dir.file("builds") + "/" + folder);
  EXPECT_EQ(builds(), std::vector<std::string>{folder});
  std::ifstream built(cwd + "/built.txt");
  std::string word;
  built >> word;
  EXPECT_EQ(word, "built");
  // The default dock is told to sync, then to start.
  EXPECT_TRUE(eventually([&] { return dock.trace("web") == std::vector<std::string>{"sync:web", "start:web"}; }));
}

TEST_F(DeployTest, ChunkedUploadWithExpectContinue) {
  ASSERT_TRUE(cli.add("web", R"({"build":"cat server.js"})").ok());
  const HttpAnswer a = put(hub.port, "/web", src.tarball(), 7, true);
  EXPECT_TRUE(a.got_continue);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.x_status(), "200");
  EXPECT_EQ(a.body, "console.log('hi')\n");
  EXPECT_EQ(member(cli.get("web").text, "revision"), "<none>");  // no query: none, as the reference
}

TEST_F(DeployTest, NoBuildCommandIs204AndStillRecorded) {
  ASSERT_TRUE(cli.add("web", R"({"start":"run"})").ok());
  const HttpAnswer a = put(hub.port, "/web/", src.tarball());
  EXPECT_EQ(a.status, 204) << a.head;
  EXPECT_NE(member(cli.get("web").text, "cwd"), "<none>");
}

TEST_F(DeployTest, FailingBuildKeepsThePreviousDeployAndSaysSo) {
  ASSERT_TRUE(cli.add("web", R"({"build":"true"})").ok());
  ASSERT_EQ(put(hub.port, "/web", src.tarball()).x_status(), "200");
  const std::string before = cli.get("web").text;
  ASSERT_TRUE(cli.update("web", R"({"build":"echo compiling; exit 3"})").ok());

  const HttpAnswer a = put(hub.port, "/web", src.tarball());
  EXPECT_EQ(a.status, 200);  // output went out before the failure was known
  EXPECT_EQ(a.x_status(), "500");
  EXPECT_NE(a.body.find("compiling\n"), std::string::npos);
  EXPECT_NE(a.body.find("exited with code 3"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("previous deploy (" + member(before, "deployed") + ") stays"), std::string::npos) << a.body;
  EXPECT_EQ(member(cli.get("web").text, "cwd"), member(before, "cwd"));
  EXPECT_EQ(builds().size(), 1u);  // the failed one's folder is gone

  // A failure before any output sets the status itself.
  ASSERT_TRUE(cli.update("web", R"({"build":"exit 2"})").ok());
  const HttpAnswer b = put(hub.port, "/web", src.tarball());
  EXPECT_EQ(b.status, 500);
  EXPECT_EQ(b.x_status(), "500");
}

TEST_F(DeployTest, UnknownServiceBadGzipAndHostileTarballAreRefused) {
  HttpAnswer a = put(hub.port, "/nope", src.tarball());
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "Service not found");
  EXPECT_EQ(a.x_status(), "404");

  ASSERT_TRUE(cli.add("web", R"({"build":"true"})").ok());
  a = put(hub.port, "/web", "this is not a tarball");
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(a.x_status(), "500");
  EXPECT_FALSE(a.body.empty());

  // A symbolic link that points out of the build folder: refused, the
  // folder removed (the unpacker's own tests cover `..` and absolute names).
  Source evil;
  evil.write("a/b.txt", "x");
  fs::create_symlink("/etc", evil.root() + "/out");
  a = put(hub.port, "/web", evil.tarball());
  EXPECT_EQ(a.status, 500) << a.body;
  EXPECT_NE(a.body.find("refusing symbolic link"), std::string::npos) << a.body;
  EXPECT_TRUE(builds().empty());
  EXPECT_EQ(member(cli.get("web").text, "cwd"), "<none>");

  a = http_exchange(hub.port, "PUT /%zz HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body, "url is malformed");
  // A name no service can have (a NUL would cut a path short) names no folder.
  a = http_exchange(hub.port, "PUT /web%00x HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "Service not found");
  EXPECT_TRUE(builds().empty());
}

TEST_F(DeployTest, TarballOfTheCurrentBuild) {
  HttpAnswer a = http_fetch(hub.port, "/web");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "Service not found");
  ASSERT_TRUE(cli.add("web", R"({"build":"sh build.sh"})").ok());
  a = http_fetch(hub.port, "/web");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "No builds found");

  ASSERT_EQ(put(hub.port, "/web", src.tarball()).x_status(), "200");
  a = http_fetch(hub.port, "/web");
  ASSERT_EQ(a.status, 200);
  ASSERT_TRUE(a.complete);
  TempDir out;
  const archive::UnpackResult u = archive::unpack_tar_memory(a.body.data(), a.body.size(), out.file("."));
  ASSERT_TRUE(u.ok) << u.error;
  EXPECT_TRUE(fs::exists(out.file("built.txt")));  // what the build made
  EXPECT_TRUE(fs::exists(out.file("sub/file.txt")));
  // Served again from the cache, byte for byte.
  EXPECT_EQ(http_fetch(hub.port, "/web").body, a.body);
  const std::string m = http_get(hub.port, "/metrics").second;
  EXPECT_EQ(metric(m, "hms_tarballs_served_total"), 2);
  EXPECT_EQ(metric(m, "hms_deploys_succeeded_total"), 1);
}

// Resident memory of process `pid`, in bytes.
std::size_t rss_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  std::size_t pages_total = 0, pages_resident = 0;
  in >> pages_total >> pages_resident;
  return pages_resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

TEST(DeployMemory, FiftyMegabyteUploadKeepsTheHubsMemoryFlat) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's allocator keeps freed memory resident (ASan's quarantine) or adds shadow "
                  "memory (TSan), so the hub's RSS says nothing about what it holds; the plain build runs this";
#endif
  // The hms-hub binary, so its memory is its own (not this test's, which
  // holds the tarball); one shard, so the warm-up below touches the same
  // receive buffers as the measured uploads.
  TempDir dir;
  Child proc(HMS_HUB_BINARY, {"--address", "127.0.0.1", "--port", "0", "--threads", "1", "--db",
                              dir.file("hub.db"), "--builds", dir.file("builds")});
  std::uint16_t port = 0;
  for (int i = 0; i < 5 && port == 0; ++i) {
    const auto line = proc.read_line();
    ASSERT_TRUE(line) << "hms-hub said nothing";
    if (const auto at = line->find("listening on port "); at != std::string::npos)
      port = static_cast<std::uint16_t>(std::stoi(line->substr(at + 18)));
  }
  ASSERT_NE(port, 0);
  LoopThread loop;
  TestClient cli(loop, port);
  Source src;
  // Incompressible bytes, so the upload is as big as its contents.
  std::mt19937_64 rng(7);
  std::string blob(50u << 20, '\0');
  for (std::size_t i = 0; i + 8 <= blob.size(); i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(&blob[i], &v, 8);
  }
  src.write("blob.bin", blob);
  blob = std::string();
  const std::string tgz = src.tarball();
  ASSERT_GT(tgz.size(), 50u << 20);
  ASSERT_TRUE(cli.add("web", R"({"build":"true"})").ok());
  // The first upload warms the receive buffers up (their pages are touched
  // on first use); after that an upload holds nothing once done, and a few
  // MiB while it runs.
  ASSERT_EQ(put(port, "/web", tgz, 1 << 20).x_status(), "200");
  const std::size_t before = rss_of(proc.pid());
  HttpAnswer a;
  for (int i = 0; i < 2; ++i) a = put(port, "/web", tgz, 1 << 20);
  const std::size_t after = rss_of(proc.pid());
  EXPECT_EQ(a.x_status(), "200") << a.body;
  EXPECT_EQ(fs::file_size(member(cli.get("web").text, "cwd") + "/blob.bin"), 50u << 20);
  EXPECT_LT(after, before + (8u << 20)) << "hub RSS before " << before << " after " << after;
  EXPECT_LT(before, std::size_t{120} << 20) << "the hub holds an upload whole?";
}

// A hub with one deploy slot and a 1 s limit (set by `limit`), and a
// client of it.
struct OneSlotHub {
  using Limit = std::chrono::seconds hub::HubOptions::*;
  explicit OneSlotHub(Limit limit) : running(options(dir, limit)), cli(loop, running.port) {}
  static hub::HubOptions options(TempDir& folder, Limit limit) {
    hub::HubOptions o = hub_options(folder);
    o.builds = folder.file("builds");
    o.*limit = std::chrono::seconds(1);
    o.max_deploys = 1;
    return o;
  }
  TempDir dir;
  RunningHub running;
  LoopThread loop;
  TestClient cli;
};

TEST(DeployLimits, BuildPastItsDeadlineIsKilledAndBusyHubAnswers503) {
  OneSlotHub one(&hub::HubOptions::build_timeout);
  RunningHub& hub = one.running;
  TestClient& cli = one.cli;
  Source src;
  src.write("x", "x");
  ASSERT_TRUE(cli.add("web", R"({"build":"echo started; sleep 30"})").ok());

  // One deploy holds the only slot: its upload has begun but not ended.
  RawSocket first(hub.port);
  ASSERT_TRUE(first.send_all("PUT /web HTTP/1.1\r\nContent-Length: 100\r\n\r\n"));
  ASSERT_TRUE(eventually([&] { return metric(http_get(hub.port, "/metrics").second, "hms_deploys_total") == 1; }));
  HttpAnswer busy = put(hub.port, "/web", src.tarball());
  EXPECT_EQ(busy.status, 503);
  first.send_all(std::string(100, 'x'));  // not a tarball: it fails and frees the slot
  first.read_to_end();
  ASSERT_TRUE(eventually([&] { return metric(http_get(hub.port, "/metrics").second, "hms_deploy_jobs") == 0; }));

  const auto t0 = std::chrono::steady_clock::now();
  const HttpAnswer a = put(hub.port, "/web", src.tarball());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);
  EXPECT_EQ(a.x_status(), "500");
  EXPECT_NE(a.body.find("did not finish within 1 s"), std::string::npos) << a.body;
}

// A byte now and then beats --read-timeout (30 s here) on every read;
// --upload-timeout ends the upload as a whole, and the slot is free again.
TEST(DeployLimits, TrickledUploadEndsAtItsUploadTimeout) {
  OneSlotHub one(&hub::HubOptions::upload_timeout);
  RunningHub& hub = one.running;
  TestClient& cli = one.cli;
  ASSERT_TRUE(cli.add("web", R"({"build":"true"})").ok());
  Source src;
  std::mt19937 rng(7);
  std::string noise(8000, ' ');
  for (char& c : noise) c = static_cast<char>('a' + rng() % 26);  // gzip keeps it long
  src.write("x", noise);
  const std::string tgz = src.tarball();

  RawSocket s(hub.port);
  ASSERT_TRUE(s.send_all("PUT /web HTTP/1.1\r\nContent-Length: " + std::to_string(tgz.size()) + "\r\n\r\n"));
  std::atomic<bool> answered{false};
  std::thread trickle([&] {
    for (std::size_t i = 0; i < tgz.size() && !answered.load(); ++i) {
      if (!s.send_all(std::string_view(tgz).substr(i, 1))) break;
      std::this_thread::sleep_for(20ms);
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  s.read_to_end(30s);
  const auto took = std::chrono::steady_clock::now() - t0;
  answered = true;
  trickle.join();
  const HttpAnswer a = parse_answer(s.buffer());
  EXPECT_EQ(a.status, 500) << a.head;
  EXPECT_NE(a.body.find("the upload did not finish within 1 s"), std::string::npos) << a.body;
  EXPECT_LT(took, 15s) << "the whole upload would take " << tgz.size() * 20 / 1000 << " s";
  // The slot is free: the next deploy goes through.
  EXPECT_EQ(put(hub.port, "/web", tgz).x_status(), "200");
}

}  // namespace
}  // namespace hms::hubtest
