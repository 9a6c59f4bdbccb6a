// The page's JSON API against a real (in-process) hub with simulated docks:
// each endpoint answers what a protocol client gets for the same command,
// commands reach the docks, and every bad request gets a JSON error with
// the right status while the hub goes on serving.
#include <gtest/gtest.h>

#include "web/web_client.hpp"

namespace hms::webtest {
namespace {

class WebApiTest : public ::testing::Test {
 protected:
  TempDir dir;
  RunningHub hub{hub_options(dir, 2)};
  LoopThread loop;
  TestClient admin{loop, hub.port};

  void expect_json_error(const HttpAnswer& a, int status, const std::string& message) {
    EXPECT_EQ(a.status, status) << a;
    EXPECT_EQ(a.header("Content-Type"), "application/json") << a;
    EXPECT_EQ(a.body, "{\"error\":\"" + message + "\"}") << a;
  }
};

TEST_F(WebApiTest, DocksListsEachConnectedDockWithAddressAndSince) {
  const auto before = std::chrono::system_clock::now();
  TestDock dock(loop, hub.port, "dock-a", DockOpts().tagged({"eu", "ssd"}).as_default());
  const HttpAnswer a = http(hub.port, "GET", "/api/docks");
  ASSERT_EQ(a.status, 200) << a;
  EXPECT_EQ(a.header("Content-Type"), "application/json");
  EXPECT_EQ(a.header("Cache-Control"), "no-store");
  EXPECT_NE(a.body.find(R"("id":"dock-a","hostname":"host-dock-a","version":"test","tags":["eu","ssd"],)"
                        R"("default":true,"address":"127.0.0.1:)"),
            std::string::npos)
      << a.body;
  const std::size_t at = a.body.find("\"since\":");
  ASSERT_NE(at, std::string::npos) << a.body;
  const long long since = std::atoll(a.body.c_str() + at + 8);
  const long long floor_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count() - 1000;
  EXPECT_GE(since, floor_ms) << "since is the handshake time in ms since the epoch: " << a.body;
}

TEST_F(WebApiTest, ServicesAndPsAnswerWhatAProtocolClientGets) {
  ASSERT_TRUE(admin.add("web", R"({"start":"node server.js","revision":"r7"})").ok());
  TestDock dock(loop, hub.port, "dock-a");
  dock.set_ps(R"([{"id":"dock-a","list":[{"id":"web","status":"running","pid":42,"restarts":1}]}])");

  const HttpAnswer services = http(hub.port, "GET", "/api/services");
  ASSERT_EQ(services.status, 200) << services;
  EXPECT_EQ(services.body, admin.list().text);
  EXPECT_NE(services.body.find(R"("start":"node server.js")"), std::string::npos) << services.body;

  const HttpAnswer ps = http(hub.port, "GET", "/api/ps");
  ASSERT_EQ(ps.status, 200) << ps;
  EXPECT_EQ(ps.body, admin.ps().text);
  EXPECT_NE(ps.body.find(R"("status":"running","pid":42)"), std::string::npos) << ps.body;

  // HEAD: the same head, no body.
  const HttpAnswer head = http(hub.port, "HEAD", "/api/services");
  EXPECT_EQ(head.status, 200) << head;
  EXPECT_EQ(head.header("Content-Length"), std::to_string(services.body.size()));
  EXPECT_EQ(head.body, "");
}

TEST_F(WebApiTest, StartStopRestartReachTheDocks) {
  ASSERT_TRUE(admin.add("web", R"({"start":"node server.js"})").ok());
  TestDock dock(loop, hub.port, "dock-a");
  for (const std::string action : {"stop", "start", "restart"}) {
    const HttpAnswer a = http(hub.port, "POST", "/api/services/web/" + action);
    EXPECT_EQ(a.status, 200) << action << ": " << a;
    EXPECT_EQ(a.body, R"({"ok":true})") << action;
    EXPECT_TRUE(dock.wait_call(action, "web")) << action;
  }
  // The registry holds the outcome, as for a protocol client's stop.
  ASSERT_TRUE(http(hub.port, "POST", "/api/services/web/stop").status == 200);
  EXPECT_NE(admin.get("web").text.find(R"("stopped":true)"), std::string::npos) << admin.get("web").text;
}

TEST_F(WebApiTest, UnknownServiceIs404) {
  TestDock dock(loop, hub.port, "dock-a");
  expect_json_error(http(hub.port, "POST", "/api/services/nope/start"), 404, "Service not found");
  expect_json_error(http(hub.port, "POST", "/api/services/bad%2Fname/stop"), 404, "Service not found");
  expect_json_error(http(hub.port, "POST", "/api/services/%2A/stop"), 404, "Service not found");
  expect_json_error(http(hub.port, "GET", "/api/logs/nope"), 404, "Service not found");
  EXPECT_TRUE(dock.calls().empty()) << "no dock hears of an unknown service";
}

TEST_F(WebApiTest, DockFailureIs502WithItsMessage) {
  ASSERT_TRUE(admin.add("web", "{}").ok());
  TestDock dock(loop, hub.port, "dock-a");
  dock.fail("start", "web", "spawn failed: no such file");
  expect_json_error(http(hub.port, "POST", "/api/services/web/start"), 502, "spawn failed: no such file");
}

TEST_F(WebApiTest, BadRequestsGetJsonErrors) {
  ASSERT_TRUE(admin.add("web", "{}").ok());
  expect_json_error(http(hub.port, "GET", "/api/nothing"), 404, "No such API route");
  expect_json_error(http(hub.port, "POST", "/api/services/web/explode"), 404,
                    "No such API route (want /api/services/<id>/start|stop|restart)");
  const HttpAnswer get_start = http(hub.port, "GET", "/api/services/web/start");
  expect_json_error(get_start, 405, "Method not allowed (allowed: POST)");
  EXPECT_EQ(get_start.header("Allow"), "POST");
  expect_json_error(http(hub.port, "POST", "/api/docks"), 405, "Method not allowed (allowed: GET, HEAD)");
  expect_json_error(http(hub.port, "DELETE", "/api/logs/web"), 405, "Method not allowed (allowed: GET)");
  expect_json_error(http(hub.port, "POST", "/api/services/web/start", {}, std::string(5000, 'x')), 413,
                    "Request body too large (at most 4096 bytes)");
  expect_json_error(raw_exchange(hub.port,
                                 "POST /api/services/web/start HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\nabc"),
                    400, "Transfer-Encoding and Content-Length together");
  expect_json_error(raw_exchange(hub.port,
                                 "POST /api/services/web/start HTTP/1.1\r\nHost: h\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\nzz\r\n"),
                    400, "Bad chunked body: bad_chunk_size");
  expect_json_error(http(hub.port, "POST", "/api/services/web/stop", "Origin: http://evil.example\r\n"), 403,
                    "Cross-site request refused");
  // A body cut short: the client half-closes before the promised bytes.
  {
    RawSocket s(hub.port);
    ASSERT_TRUE(s.send_all("POST /api/services/web/start HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nab"));
    ::shutdown(s.fd(), SHUT_WR);
    ASSERT_TRUE(s.read_to_end());
    expect_json_error(parse_answer(s.buffer()), 400, "The request body was cut short");
  }
  // The same page, same origin: allowed.
  EXPECT_EQ(http(hub.port, "POST", "/api/services/web/stop",
                 "Origin: http://127.0.0.1:" + std::to_string(hub.port) + "\r\n").status,
            200);
  // And after all that the hub still serves everyone.
  EXPECT_TRUE(admin.list().ok());
  EXPECT_EQ(http(hub.port, "GET", "/api/docks").status, 200);
}

TEST_F(WebApiTest, PageFilesAreServedWithTheirTypes) {
  const HttpAnswer page = http(hub.port, "GET", "/ui");
  ASSERT_EQ(page.status, 200) << page;
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.header("Content-Security-Policy").find("script-src 'self'"), std::string::npos) << page.head;
  EXPECT_NE(page.body.find("<script src=\"/ui/app.js\""), std::string::npos);
  EXPECT_EQ(http(hub.port, "GET", "/ui/").body, page.body);
  const HttpAnswer js = http(hub.port, "GET", "/ui/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js.body.find("EventSource"), std::string::npos);
  EXPECT_EQ(http(hub.port, "GET", "/ui/style.css").header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(http(hub.port, "GET", "/ui/nope.js").status, 404);
  EXPECT_EQ(http(hub.port, "GET", "/ui/../hub.db").status, 404);
  // Without a token, the login form just leads to the page.
  const HttpAnswer login = http(hub.port, "POST", "/ui/login", {}, "token=x");
  EXPECT_EQ(login.status, 303) << login;
  EXPECT_EQ(login.header("Location"), "/ui");
}

TEST_F(WebApiTest, RequestsAreCountedInMetrics) {
  const double before = metric(hub.hub->metrics(), "hms_web_requests_total");
  http(hub.port, "GET", "/api/docks");
  http(hub.port, "GET", "/api/nothing");
  EXPECT_EQ(metric(hub.hub->metrics(), "hms_web_requests_total"), before + 2);
}

// ---------------------------------------------------------------- --token

class WebTokenTest : public ::testing::Test {
 protected:
  static hub::HubOptions with_token(const TempDir& d) {
    auto o = hub_options(d);
    o.token = "s3cret";
    return o;
  }
  TempDir dir;
  RunningHub hub{with_token(dir)};
};

TEST_F(WebTokenTest, PageAndApiNeedTheToken) {
  const HttpAnswer api = http(hub.port, "GET", "/api/docks");
  EXPECT_EQ(api.status, 401) << api;
  EXPECT_EQ(api.body, R"({"error":"A token is needed: send Authorization: Bearer <token>, or log in at /ui/login"})");
  EXPECT_EQ(api.header("WWW-Authenticate"), "Bearer realm=\"hms\"");
  EXPECT_EQ(http(hub.port, "GET", "/api/docks", "Authorization: Bearer wrong\r\n").status, 401);
  EXPECT_EQ(http(hub.port, "GET", "/api/logs/%2A").status, 401);
  EXPECT_EQ(http(hub.port, "GET", "/ui/app.js").status, 401);
  const HttpAnswer page = http(hub.port, "GET", "/ui");
  EXPECT_EQ(page.status, 401);
  EXPECT_NE(page.body.find("action=\"/ui/login\""), std::string::npos) << "the page is the login form: " << page.body;
  // The login form's own style sheet is open.
  EXPECT_EQ(http(hub.port, "GET", "/ui/style.css").status, 200);

  const HttpAnswer bearer = http(hub.port, "GET", "/api/docks", "Authorization: bearer s3cret\r\n");
  EXPECT_EQ(bearer.status, 200) << bearer;
  EXPECT_EQ(bearer.body, "[]");
  EXPECT_GE(metric(hub.hub->metrics(), "hms_web_refused_total"), 5);
}

TEST_F(WebTokenTest, LoginFormSetsACookieThatOpensPageAndApi) {
  const HttpAnswer wrong = http(hub.port, "POST", "/ui/login", "Content-Type: application/x-www-form-urlencoded\r\n",
                                "token=guess");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("not the hub's token"), std::string::npos);
  EXPECT_EQ(wrong.header("Set-Cookie"), "");

  const HttpAnswer right = http(hub.port, "POST", "/ui/login", "Content-Type: application/x-www-form-urlencoded\r\n",
                                "token=s3cret");
  ASSERT_EQ(right.status, 303) << right;
  EXPECT_EQ(right.header("Location"), "/ui");
  const std::string set_cookie = right.header("Set-Cookie");
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos) << set_cookie;
  EXPECT_EQ(set_cookie.find("s3cret"), std::string::npos) << "the cookie is not the token";
  const std::string cookie = "Cookie: other=1; " + set_cookie.substr(0, set_cookie.find(';')) + "\r\n";
  EXPECT_EQ(http(hub.port, "GET", "/api/docks", cookie).status, 200);
  EXPECT_EQ(http(hub.port, "GET", "/ui", cookie).status, 200);
  EXPECT_EQ(http(hub.port, "GET", "/api/docks", "Cookie: hms_session=forged\r\n").status, 401);
  SseReader stream(hub.port, "%2A", cookie);
  EXPECT_EQ(stream.open().status, 200);
}

}  // namespace
}  // namespace hms::webtest
