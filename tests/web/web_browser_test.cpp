// The page in a real browser: headless Chromium loads /ui from an
// in-process hub with simulated docks, and the test reads the page's DOM
// over DevTools. The dock and its service show up, a line the dock writes
// is on the page within a second, the stop button changes the status, and
// a screenshot is saved under the build folder (HMS_WEB_SCREENSHOT).
#include <gtest/gtest.h>

#include "web/cdp.hpp"

namespace hms::webtest {
namespace {

// What the simulated dock says for ps, with `web` in `status`.
std::string ps_with(const std::string& status) {
  return R"([{"id":"dock-a","hostname":"host-dock-a","list":[)"
         R"({"id":"web","status":")" + status + (status == "running" ? R"(","pid":4242)" : "\"") +
         R"(,"restarts":1,"revision":"3f2c1a9","deployed":"2026-12-01T20:40:00.000Z"},)"
         R"({"id":"worker","status":"running","pid":4250,"restarts":0}]}])";
}

TEST(WebBrowserTest, DockServiceLogsAndStopInChromium) {
  const std::string chromium = chromium_path();
  if (chromium.empty()) GTEST_SKIP() << "no Chromium at /usr/bin/chromium or $HMS_CHROMIUM (apt-get install chromium)";

  TempDir dir;
  RunningHub hub(hub_options(dir, 2));
  LoopThread loop;
  TestClient admin(loop, hub.port);
  ASSERT_TRUE(admin.add("web", R"({"start":"node server.js","revision":"3f2c1a9","deployed":"2026-12-01T20:40:00.000Z"})").ok());
  ASSERT_TRUE(admin.add("worker", R"({"start":"python3 worker.py"})").ok());
  TestDock dock(loop, hub.port, "dock-a", DockOpts().tagged({"eu", "ssd"}).as_default());
  TestDock other(loop, hub.port, "dock-b", DockOpts().tagged({"us"}));
  dock.set_ps(ps_with("running"));

  Browser browser(chromium, "http://127.0.0.1:" + std::to_string(hub.port) + "/ui");
  ASSERT_TRUE(browser.wait_for("document.querySelector('#docks tr[data-dock=\"dock-a\"]')"))
      << browser.eval("document.body.innerText");
  EXPECT_NE(browser.eval("document.querySelector('#docks tr[data-dock=\"dock-a\"]').textContent").find("eu"),
            std::string::npos);
  ASSERT_TRUE(browser.wait_for("document.querySelector('#services tr[data-service=\"web\"]')"));
  const std::string row = "document.querySelector('#services tr[data-service=\"web\"]')";
  EXPECT_TRUE(browser.wait_for(row + ".textContent.includes('running')")) << browser.eval(row + ".textContent");
  EXPECT_NE(browser.eval(row + ".textContent").find("4242"), std::string::npos);

  // The log view: live once the stream is open, which is after the hub put
  // it into its fan-out tables.
  ASSERT_TRUE(browser.wait_for("document.querySelector('#conn').textContent === 'live'"));
  ASSERT_TRUE(dock.wait_call("subscribe", "*"));
  const auto written = std::chrono::steady_clock::now();
  dock.spawn("web", 4242);
  dock.write_stdout("web", "listening on :8080\n");
  dock.write_stderr("web", "warning: cache cold\n");
  const bool shown = browser.wait_for(
      "[...document.querySelectorAll('#log .line.stderr')].some(l => l.textContent.includes('cache cold'))", 1s);
  const auto took = std::chrono::steady_clock::now() - written;
  EXPECT_TRUE(shown) << "the dock's line is not on the page a second later: "
                     << browser.eval("document.querySelector('#log').textContent");
  EXPECT_LT(took, 1s);
  EXPECT_TRUE(browser.wait_for("document.querySelector('#log .line.spawn')"));
  EXPECT_TRUE(browser.wait_for(
      "[...document.querySelectorAll('#log .line.stdout')].some(l => l.textContent.includes('web@dock-a'))"));
  for (int i = 0; i < 6; ++i) other.write_stdout("worker", "job " + std::to_string(i) + " done in " + std::to_string(10 + i) + " ms\n");

  // Stop: the dock hears it; it answers once its ps says so, and the page
  // shows the new status.
  dock.hold("stop");
  browser.eval(row + ".querySelector('button[data-action=\"stop\"]').click()");
  ASSERT_TRUE(dock.wait_call("stop", "web"));
  dock.set_ps(ps_with("stopped"));
  dock.release();
  dock.exit("web", "\"SIGTERM\"");
  EXPECT_TRUE(browser.wait_for(row + ".textContent.includes('stopped')", 5s)) << browser.eval(row + ".textContent");
  EXPECT_TRUE(browser.wait_for("document.querySelector('#log .line.exit')"));

  // The filter box hides what does not match.
  browser.eval("(() => { const f = document.querySelector('#filter'); f.value = 'job 3';"
               " f.dispatchEvent(new Event('input')); return 1; })()");
  EXPECT_EQ(browser.eval("[...document.querySelectorAll('#log .line:not(.hidden)')].length"), "1");
  browser.eval("(() => { const f = document.querySelector('#filter'); f.value = '';"
               " f.dispatchEvent(new Event('input')); return 1; })()");

  const std::string png = browser.screenshot();
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  const std::string out = std::string(HMS_WEB_SCREENSHOT);
  std::ofstream(out, std::ios::binary) << png;
  EXPECT_EQ(std::filesystem::file_size(out), png.size()) << out;
  std::cout << "screenshot: " << out << "\n";
}

}  // namespace
}  // namespace hms::webtest
