// The page's event streams (GET /api/logs/<id>) against a real hub with
// simulated docks: what a dock writes arrives as events, the stream is a
// subscriber like a protocol client (the docks hear of it, it gets the
// same lines), and a browser that does not read is cut off like a slow
// client while everyone else goes on.
#include <gtest/gtest.h>

#include "web/web_client.hpp"

namespace hms::webtest {
namespace {

class WebStreamTest : public ::testing::TestWithParam<unsigned> {
 protected:
  TempDir dir;
  RunningHub hub{hub_options(dir, GetParam())};
  LoopThread loop;
  TestClient admin{loop, hub.port};

  double metric_now(std::string_view series) { return metric(hub.hub->metrics(), series); }
};

TEST_P(WebStreamTest, DockOutputArrivesAsEvents) {
  ASSERT_TRUE(admin.add("web", "{}").ok());
  TestDock dock(loop, hub.port, "dock-a");
  SseReader stream(hub.port, "web");
  const HttpAnswer head = stream.open();
  ASSERT_EQ(head.status, 200) << head;
  EXPECT_EQ(head.header("Content-Type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(head.header("Cache-Control"), "no-store");
  ASSERT_TRUE(dock.wait_call("subscribe", "web")) << "the docks hear of the stream's subscription";

  dock.spawn("web", 4242);
  dock.write_stdout("web", "hello \"world\"\n");
  dock.write_stderr("web", "oops\ttab\n");
  dock.exit("web", "\"SIGTERM\"");
  const std::vector<std::pair<std::string, std::string>> want = {
      {"spawn", R"({"id":"web","origin":"dock-a","data":"4242"})"},
      {"stdout", R"({"id":"web","origin":"dock-a","data":"hello \"world\"\n"})"},
      {"stderr", R"({"id":"web","origin":"dock-a","data":"oops\ttab\n"})"},
      {"exit", R"({"id":"web","origin":"dock-a","data":"\"SIGTERM\""})"},
  };
  for (const auto& [name, data] : want) {
    const auto e = stream.next();
    ASSERT_TRUE(e) << "no " << name << " event";
    EXPECT_EQ(e->name, name);
    EXPECT_EQ(e->data, data);
  }
  EXPECT_GE(metric_now("hms_web_deliveries_total"), 4);
}

TEST_P(WebStreamTest, StarStreamSeesEveryServiceAndOnlyItsOwnGetFiltered) {
  ASSERT_TRUE(admin.add("web", "{}").ok());
  ASSERT_TRUE(admin.add("api", "{}").ok());
  TestDock dock(loop, hub.port, "dock-a");
  SseReader star(hub.port, "%2A");
  SseReader api_only(hub.port, "api");
  ASSERT_EQ(star.open().status, 200);
  ASSERT_EQ(api_only.open().status, 200);
  ASSERT_TRUE(dock.wait_call("subscribe", "*"));
  ASSERT_TRUE(dock.wait_call("subscribe", "api"));
  dock.write_stdout("web", "from web");
  dock.write_stdout("api", "from api");
  auto a = star.next(), b = star.next();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->data.find(R"("id":"web")"), std::string::npos) << a->data;
  EXPECT_NE(b->data.find(R"("id":"api")"), std::string::npos) << b->data;
  auto only = api_only.next();
  ASSERT_TRUE(only);
  EXPECT_NE(only->data.find(R"("data":"from api")"), std::string::npos) << only->data;
  EXPECT_FALSE(api_only.next(200ms)) << "a stream for api gets nothing of web";
}

TEST_P(WebStreamTest, AnyBytesBecomeOneLineOfValidJsonText) {
  ASSERT_TRUE(admin.add("bin", "{}").ok());
  TestDock dock(loop, hub.port, "dock-a");
  SseReader stream(hub.port, "bin");
  ASSERT_EQ(stream.open().status, 200);
  ASSERT_TRUE(dock.wait_call("subscribe", "bin"));
  // Control bytes, a lone continuation byte, a cut 3-byte sequence, an
  // overlong, a surrogate, valid UTF-8 and CR LF.
  dock.write_stdout("bin", std::string("a\x01\x1f\x7f", 4) + "\x80" + "\xe2\x82" + "\xc0\xaf" + "\xed\xa0\x80" +
                               "\xc3\xa9\xe2\x82\xac" + "\r\n");
  const auto e = stream.next();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->data, "{\"id\":\"bin\",\"origin\":\"dock-a\",\"data\":\"a\\u0001\\u001f\x7f\\ufffd\\ufffd"
                     "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\xc3\xa9\xe2\x82\xac\\r\\n\"}");
  // Every byte value, binary: still one event whose data line holds no CR/LF.
  dock.write_stdout("bin", binary_payload(4096, 3));
  const auto bin = stream.next();
  ASSERT_TRUE(bin);
  EXPECT_EQ(bin->data.find('\r'), std::string::npos);
  EXPECT_TRUE(bin->data.ends_with("\"}")) << "the whole payload is in the one data line";
}

TEST_P(WebStreamTest, StreamAndProtocolClientGetTheSameLines) {
  ASSERT_TRUE(admin.add("web", "{}").ok());
  TestDock dock(loop, hub.port, "dock-a");
  TestClient watcher(loop, hub.port);
  ASSERT_TRUE(watcher.subscribe("web").ok());
  SseReader stream(hub.port, "web");
  ASSERT_EQ(stream.open().status, 200);
  ASSERT_TRUE(eventually([&] { return metric_now("hms_connections{kind=\"event_stream\"}") == 1; }, kWait));
  constexpr int kLines = 200;
  for (int i = 0; i < kLines; ++i) dock.write_stdout("web", "line " + std::to_string(i) + "\n");
  ASSERT_TRUE(watcher.wait_count(kLines));
  for (int i = 0; i < kLines; ++i) {
    const auto e = stream.next();
    ASSERT_TRUE(e) << "event " << i;
    EXPECT_EQ(e->data, R"({"id":"web","origin":"dock-a","data":"line )" + std::to_string(i) + R"(\n"})");
    EXPECT_EQ(watcher.events()[static_cast<std::size_t>(i)].payload, "line " + std::to_string(i) + "\n");
  }
}

TEST_P(WebStreamTest, ClosingTheStreamUnsubscribesTheDocks) {
  ASSERT_TRUE(admin.add("web", "{}").ok());
  TestDock dock(loop, hub.port, "dock-a");
  {
    SseReader stream(hub.port, "web");
    ASSERT_EQ(stream.open().status, 200);
    ASSERT_TRUE(dock.wait_call("subscribe", "web"));
  }
  EXPECT_TRUE(dock.wait_call("unsubscribe", "web")) << dock.trace().size();
  EXPECT_TRUE(eventually([&] { return metric_now("hms_connections{kind=\"event_stream\"}") == 0; }, kWait));
}

INSTANTIATE_TEST_SUITE_P(Shards, WebStreamTest, ::testing::Values(1u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& i) {
                           return std::to_string(i.param) + "thread" + (i.param == 1 ? "" : "s");
                         });

// A browser that stops reading is a slow client: cut off at the client
// output limit, counted, and nobody else notices.
TEST(WebSlowStreamTest, NonReadingBrowserIsCutOffAndOthersGoOn) {
  TempDir dir;
  auto opts = hub_options(dir, 2);
  opts.client_limits.hard = 1u << 20;
  opts.client_limits.soft = 0;
  RunningHub hub(opts);
  LoopThread loop;
  TestClient admin(loop, hub.port);
  ASSERT_TRUE(admin.add("web", "{}").ok());
  TestDock dock(loop, hub.port, "dock-a");
  TestClient fast(loop, hub.port, ClientOpts().count_only());
  ASSERT_TRUE(fast.subscribe("web").ok());
  SseReader slow(hub.port, "web", {}, 4096);
  ASSERT_EQ(slow.open().status, 200);
  ASSERT_TRUE(eventually([&] { return metric(hub.hub->metrics(), "hms_connections{kind=\"event_stream\"}") == 1; },
                         kWait));

  auto disconnects = [&] { return metric(hub.hub->metrics(), "hms_slow_client_disconnects_total"); };
  const double before = disconnects();
  const std::string chunk(16 * 1024, 'x');
  // 8 MiB in windows the fast client keeps up with: far past the 1 MiB
  // limit plus what the kernel holds for the slow side.
  std::size_t sent = 0;
  for (int round = 0; round < 32 && disconnects() == before; ++round) {
    for (int i = 0; i < 16; ++i, ++sent) dock.write_stdout("web", chunk);
    ASSERT_TRUE(fast.wait_count(sent)) << "the protocol client fell behind at " << fast.count();
  }
  EXPECT_TRUE(eventually([&] { return disconnects() == before + 1; }, kWait)) << hub.hub->metrics();
  EXPECT_TRUE(eventually([&] { return metric(hub.hub->metrics(), "hms_connections{kind=\"event_stream\"}") == 0; },
                         kWait));
  EXPECT_TRUE(slow.socket().read_to_end()) << "the hub closes the slow browser's connection";
  EXPECT_FALSE(fast.is_closed());
  EXPECT_FALSE(dock.is_closed());
  EXPECT_TRUE(admin.list().ok());
}

}  // namespace
}  // namespace hms::webtest
