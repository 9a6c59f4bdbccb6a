// Interop: handshakes, every request both ways, events, pings and error
// replies, against the live reference (see interop_fixture.hpp).
#include "interop/interop_fixture.hpp"

namespace hms::interop_test {
namespace {

// ---------------------------------------------------------------- tests

TEST_P(Interop, ConnectsWithTheReferenceHeads) {
  const Topology s = GetParam();
  if (s.upgrade && !s.cpp_server) {
    // Our CONNECT request as the reference terminal's http server parsed it.
    EXPECT_EQ(connected_.str("/method"), "CONNECT");
    EXPECT_EQ(connected_.str("/url"), "/");
    EXPECT_EQ(connected_.str("/httpVersion"), "1.1");
    EXPECT_EQ(connected_.str("/origin"), "dock-a");
    EXPECT_EQ(connected_.str("/host"), "127.0.0.1:" + std::to_string(port_));
    EXPECT_TRUE(upgraded_.wait_for([](int v) { return v == 1; })) << "our on_upgrade never ran";
  }
  if (s.upgrade && s.cpp_server) {
    // Our 101 as a reference client's http.request saw it.
    EXPECT_EQ(connected_.num("/status"), 101) << connected_.text();
    EXPECT_EQ(connected_.str("/headers/upgrade"), "hms-protocol");
    EXPECT_EQ(connected_.str("/headers/connection"), "Upgrade");
  }
  if (!s.cpp_server) {
    const Got ping = first_ping_.get();
    EXPECT_EQ(ping.status, Result::Status::ok) << ping;
    EXPECT_EQ(ping.text, "");
    EXPECT_TRUE(node_event("ping").valid());
  }
  EXPECT_EQ(loop_->call([&] { return peer_->connection() && peer_->connection()->upgraded(); }),
            s.upgrade);
}

TEST_P(Interop, HandshakeFromUsAddsProtocol) {
  Got g = ask([](Peer& p, ReplyCallback cb) { p.handshake(R"({"type":"client","route":"web"})", cb); });
  EXPECT_EQ(g.status, Result::Status::ok) << g;
  EXPECT_EQ(g.text, R"({"type":"terminal","version":"0.4.4"})");
  // The agent reports JSON.stringify(JSON.parse(our payload)).
  EXPECT_EQ(node_event("handshake").str("/args/0"), R"({"type":"client","route":"web","protocol":1})");

  g = ask([](Peer& p, ReplyCallback cb) { p.handshake("{}", cb); });
  EXPECT_EQ(g.status, Result::Status::ok) << g;
  EXPECT_EQ(node_event("handshake").str("/args/0"), R"({"protocol":1})");
}

TEST_P(Interop, HandshakeFromNodeAddsProtocol) {
  const Line l = node_call(
      "handshake",
      R"([{"type":"dock","id":"dock-a","hostname":"h1","tags":["a","b"],"default":true,"version":"0.4.4"}])");
  EXPECT_TRUE(l.is_null("/err")) << l.text();
  EXPECT_EQ(l.str("/json"), R"({"type":"terminal","version":"0.1.0"})") << l.text();
  const auto v = seen(1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].opcode, 0);
  EXPECT_EQ(v[0].type, FrameType::request);
  EXPECT_EQ(v[0].id, "");
  EXPECT_EQ(v[0].payload,
            R"({"type":"dock","id":"dock-a","hostname":"h1","tags":["a","b"],"default":true,"version":"0.4.4","protocol":1})");
}

TEST_P(Interop, EveryRequestFromUs) {
  struct Case {
    std::function<void(Peer&, ReplyCallback)> call;
    std::string reply;           // our expected reply text
    std::string event;           // what Node received
    std::vector<std::string> args;
  };
  const std::string svc = R"({"start":"node app.js","tags":["a"],"x-unknown":{"k":[1,2]}})";
  const std::string deployed = R"({"id":"web","start":"node app.js","deployed":true})";
  const std::string unicode = "w\xc3\xa9" "b-\xe2\x98\x83";  // "wéb-☃": ids are utf-8 bytes
  const std::vector<Case> cases = {
      {[](Peer& p, ReplyCallback cb) { p.get("web", cb); }, R"({"id":"web","start":"node app.js"})", "get", {"web"}},
      {[&](Peer& p, ReplyCallback cb) { p.add("web", svc, cb); }, "", "add", {"web", svc}},
      {[](Peer& p, ReplyCallback cb) { p.update("web", R"({"limit":2})", cb); }, "", "update", {"web", R"({"limit":2})"}},
      {[](Peer& p, ReplyCallback cb) { p.remove("web", cb); }, "", "remove", {"web"}},
      {[](Peer& p, ReplyCallback cb) { p.list(cb); }, R"([{"id":"web","start":"node app.js","tags":["a"]}])", "list", {}},
      {[](Peer& p, ReplyCallback cb) { p.ps(cb); },
       R"([{"id":"dock-a","hostname":"h1","tags":[],"list":[{"id":"web","pid":42}]}])", "ps", {}},
      {[](Peer& p, ReplyCallback cb) { p.start("web", cb); }, "", "start", {"web"}},
      {[](Peer& p, ReplyCallback cb) { p.stop("web", cb); }, "", "stop", {"web"}},
      {[](Peer& p, ReplyCallback cb) { p.restart("web", cb); }, "", "restart", {"web"}},
      {[&](Peer& p, ReplyCallback cb) { p.start(unicode, cb); }, "", "start", {unicode}},
      {[&](Peer& p, ReplyCallback cb) { p.sync("web", deployed, cb); }, "", "sync", {"web", deployed}},
      {[](Peer& p, ReplyCallback cb) { p.sync("web", "null", cb); }, "", "sync", {"web", "null"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i) + ": " + cases[i].event);
    const Got g = ask(cases[i].call);
    EXPECT_EQ(g.status, Result::Status::ok) << g;
    EXPECT_EQ(g.text, cases[i].reply);
    const Line e = node_event(cases[i].event);
    for (std::size_t a = 0; a < cases[i].args.size(); ++a)
      EXPECT_EQ(e.str("/args/" + std::to_string(a)), cases[i].args[a]) << e.text();
    EXPECT_FALSE(e.has("/args/" + std::to_string(cases[i].args.size()))) << e.text();
  }

  // Subscriptions: the agent reports its peerSubscribing keys after each.
  auto sub = [&](bool on, const std::string& id, const std::string& want_id, const std::string& peer_keys) {
    SCOPED_TRACE((on ? "subscribe '" : "unsubscribe '") + id + "'");
    const Got g = ask([&](Peer& p, ReplyCallback cb) {
      if (on) p.subscribe(id, cb);
      else p.unsubscribe(id, cb);
    });
    EXPECT_EQ(g.status, Result::Status::ok) << g;
    EXPECT_EQ(g.text, "");
    const Line e = node_event(on ? "subscribe" : "unsubscribe");
    EXPECT_EQ(e.str("/args/0"), want_id) << e.text();
    std::string keys;
    for (int k = 0; e.has("/peer/" + std::to_string(k)); ++k) keys += e.str("/peer/" + std::to_string(k)) + ",";
    EXPECT_EQ(keys, peer_keys) << e.text();
  };
  auto am = [&](const char* id) { return loop_->call([&] { return peer_->am_subscribing(id); }); };
  sub(true, "web", "web", "web,");
  EXPECT_TRUE(am("web"));
  EXPECT_FALSE(am("api"));
  sub(true, "", "*", "*,web,");  // no id means everything
  EXPECT_TRUE(am("api"));
  sub(false, "web", "web", "*,");
  sub(false, "", "*", "");
  EXPECT_FALSE(am("web"));
  EXPECT_FALSE(am("api"));
  const Line st = node_cmd("state", R"("ids":["web","api"])");
  EXPECT_FALSE(st.flag("/peerSubscribing/0")) << st.text();
  EXPECT_FALSE(st.flag("/peerSubscribing/1")) << st.text();
}

TEST_P(Interop, EveryRequestFromNode) {
  struct Case {
    std::string op, args;   // the Node call
    std::string json;       // parsed reply, stringified ("" for a raw empty reply)
    std::uint8_t opcode;    // what our handler saw
    std::string id, payload;
  };
  const std::string svc = R"({"start":"node app.js","tags":["a"],"x-unknown":{"k":[1,2]}})";
  const std::string deployed = R"({"id":"web","start":"node app.js","deployed":true})";
  const std::string unicode = "w\xc3\xa9" "b-\xe2\x98\x83";
  const std::vector<Case> cases = {
      {"get", R"(["web"])", R"({"id":"web","start":"node app.js"})", 16, "web", ""},
      {"add", "[\"web\"," + svc + "]", "", 1, "web", svc},
      {"update", R"(["web",{"limit":2}])", "", 2, "web", R"({"limit":2})"},
      {"remove", R"(["web"])", "", 3, "web", ""},
      {"list", "[]", R"([{"id":"web","start":"node app.js","tags":["a"]}])", 4, "", ""},
      {"ps", "[]", R"([{"id":"dock-a","hostname":"h1","tags":[],"list":[{"id":"web","pid":42}]}])", 5, "", ""},
      {"start", R"(["web"])", "", 6, "web", ""},
      {"stop", R"(["web"])", "", 7, "web", ""},
      {"restart", R"(["web"])", "", 8, "web", ""},
      {"start", "[" + q(unicode) + "]", "", 6, unicode, ""},
      {"sync", "[\"web\"," + deployed + "]", "", 9, "web", deployed},
      {"sync", R"(["web",null])", "", 9, "web", "null"},
      {"subscribe", R"(["web"])", "", 10, "web", ""},
      {"subscribe", "[]", "", 10, "*", ""},  // no id means everything
      {"unsubscribe", R"(["web"])", "", 11, "web", ""},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE("case " + std::to_string(i) + ": " + c.op + c.args);
    const Line l = node_call(c.op, c.args);
    EXPECT_TRUE(l.is_null("/err")) << l.text();
    if (c.json.empty()) {
      EXPECT_EQ(l.num("/buf/len"), 0) << l.text();
    } else {
      EXPECT_EQ(l.str("/json"), c.json) << l.text();
    }
    const auto v = seen(i + 1);
    ASSERT_EQ(v.size(), i + 1);
    EXPECT_EQ(v[i].opcode, c.opcode);
    EXPECT_EQ(v[i].type, FrameType::request);
    EXPECT_EQ(v[i].id, c.id);
    EXPECT_EQ(v[i].service, c.id);
    EXPECT_EQ(v[i].payload, c.payload);
  }
  // The subscriptions both sides recorded: Node subscribed "web" and "*",
  // then dropped "web".
  auto peer_sub = [&](const char* id) { return loop_->call([&] { return peer_->peer_subscribing(id); }); };
  EXPECT_TRUE(peer_sub("api"));  // through "*"
  EXPECT_EQ(loop_->call([&] { return peer_->am_subscribing("api"); }), false);
  Line st = node_cmd("state", R"("ids":["web","api"])");
  EXPECT_TRUE(st.flag("/amSubscribing/1")) << st.text();
  EXPECT_EQ(st.str("/am/0"), "*") << st.text();
  EXPECT_FALSE(st.has("/am/1")) << st.text();

  const Line l = node_call("unsubscribe", "[]");
  EXPECT_TRUE(l.is_null("/err")) << l.text();
  const auto v = seen(cases.size() + 1);
  EXPECT_EQ(v.back().opcode, 11);
  EXPECT_EQ(v.back().id, "*");
  EXPECT_FALSE(peer_sub("api"));
  EXPECT_FALSE(peer_sub("web"));
  st = node_cmd("state", R"("ids":["web","api"])");
  EXPECT_FALSE(st.flag("/amSubscribing/0")) << st.text();
  EXPECT_FALSE(st.has("/am/0")) << st.text();
}

TEST_P(Interop, EventsFromUs) {
  const std::string bytes = all_bytes();
  loop_->call([&] {
    EXPECT_TRUE(peer_->write_stdout("web", "dock-a", "hello\n"));
    EXPECT_TRUE(peer_->write_stderr("web", "dock-a", bytes));
    EXPECT_TRUE(peer_->spawn("web", "dock-a", 4242));
    EXPECT_TRUE(peer_->exit("web", "dock-a", "0"));
    EXPECT_TRUE(peer_->exit("web", "dock-a", "\"SIGTERM\""));
    // An id without '@': the reference reports origin 'unknown'.
    EXPECT_TRUE(peer_->send_message(Opcode::stdout_, "web", "no origin"));
    // Split at the first '@' only.
    EXPECT_TRUE(peer_->write_stdout("web", "dock@b", "x"));
    EXPECT_TRUE(peer_->write_stdout("web", "dock-a", ""));
  });
  Line e = node_event("stdout");
  EXPECT_EQ(e.str("/args/0"), "web");
  EXPECT_EQ(e.str("/args/1"), "dock-a");
  EXPECT_EQ(e.str("/args/2/buf/hex"), hex("hello\n")) << e.text();

  e = node_event("stderr");
  EXPECT_EQ(e.str("/args/0"), "web");
  EXPECT_EQ(e.str("/args/1"), "dock-a");
  EXPECT_EQ(e.num("/args/2/buf/len"), 256);
  EXPECT_EQ(e.str("/args/2/buf/hex"), hex(bytes)) << e.text();

  e = node_event("spawn");
  EXPECT_EQ(e.str("/args/0"), "web");
  EXPECT_EQ(e.str("/args/1"), "dock-a");
  EXPECT_EQ(e.num("/args/2"), 4242) << e.text();

  e = node_event("exit");
  EXPECT_EQ(e.num("/args/2"), 0) << e.text();
  e = node_event("exit");
  EXPECT_EQ(e.str("/args/2"), "SIGTERM") << e.text();

  e = node_event("stdout");
  EXPECT_EQ(e.str("/args/0"), "web");
  EXPECT_EQ(e.str("/args/1"), "unknown");
  EXPECT_EQ(e.str("/args/2/buf/hex"), hex("no origin")) << e.text();

  e = node_event("stdout");
  EXPECT_EQ(e.str("/args/0"), "web");
  EXPECT_EQ(e.str("/args/1"), "dock@b");
  EXPECT_EQ(e.str("/args/2/buf/hex"), hex("x")) << e.text();

  e = node_event("stdout");
  EXPECT_EQ(e.num("/args/2/buf/len"), 0) << e.text();
}

TEST_P(Interop, EventsFromNode) {
  const std::string bytes = all_bytes();
  EXPECT_TRUE(node_call("stdout", R"(["web","dock-a",{"$hex":")" + hex("hello\n") + "\"}]").flag("/sent"));
  EXPECT_TRUE(node_call("stderr", R"(["web","dock-a",{"$hex":")" + hex(bytes) + "\"}]").flag("/sent"));
  EXPECT_TRUE(node_call("spawn", R"(["web","dock-a",4242])").flag("/sent"));
  EXPECT_TRUE(node_call("exit", R"(["web","dock-a",0])").flag("/sent"));
  EXPECT_TRUE(node_call("exit", R"(["web","dock-a","SIGKILL"])").flag("/sent"));
  EXPECT_TRUE(node_cmd("send", R"("opcode":12,"id":"web","oneway":true,"payload":{"$hex":")" +
                                   hex("no origin") + "\"}")
                  .flag("/sent"));
  EXPECT_TRUE(node_call("stdout", R"(["web","dock@b",{"$hex":"78"}])").flag("/sent"));
  EXPECT_TRUE(node_call("stdout", R"(["web","dock-a",{"$hex":""}])").flag("/sent"));

  const auto v = seen(8);
  ASSERT_EQ(v.size(), 8u);
  struct Want {
    std::uint8_t opcode;
    std::string service, origin, payload;
  };
  const std::vector<Want> want = {
      {12, "web", "dock-a", "hello\n"}, {13, "web", "dock-a", bytes},
      {14, "web", "dock-a", "4242"},    {15, "web", "dock-a", "0"},
      {15, "web", "dock-a", "\"SIGKILL\""}, {12, "web", "unknown", "no origin"},
      {12, "web", "dock@b", "x"},       {12, "web", "dock-a", ""},
  };
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    EXPECT_EQ(v[i].opcode, want[i].opcode);
    EXPECT_EQ(v[i].type, FrameType::message);
    EXPECT_EQ(v[i].rid, 0);
    EXPECT_EQ(v[i].service, want[i].service);
    EXPECT_EQ(v[i].origin, want[i].origin);
    EXPECT_EQ(hex(v[i].payload), hex(want[i].payload));
  }
  EXPECT_EQ(v[5].id, "web");
  EXPECT_EQ(v[6].id, "web@dock@b");
}

TEST_P(Interop, PingBothWays) {
  const Got g = ask([](Peer& p, ReplyCallback cb) { p.ping(cb); });
  EXPECT_EQ(g.status, Result::Status::ok) << g;
  EXPECT_EQ(g.text, "");
  // Towards a Node server, SetUp pinged once already.
  const int pings = GetParam().cpp_server ? 1 : 2;
  for (int i = 0; i < pings; ++i) EXPECT_TRUE(node_event("ping").valid()) << "ping " << i;
  const Line l = node_call("ping");
  expect_empty_ok(l);
  // The engine answers pings itself: no handler saw anything.
  EXPECT_EQ(seen_.get().size(), 0u);
}

TEST_P(Interop, ErrorRepliesFromNode) {
  Got g = ask([](Peer& p, ReplyCallback cb) { p.start("fail", cb); });
  EXPECT_EQ(g.status, Result::Status::error) << g;
  EXPECT_EQ(g.text, "Service not found");
  g = ask([](Peer& p, ReplyCallback cb) { p.get("missing", cb); });
  EXPECT_EQ(g.status, Result::Status::error) << g;
  EXPECT_EQ(g.text, "Service not found");

  // No listener on the Node side.
  EXPECT_TRUE(node_cmd("unlisten", R"("event":"stop")").flag("/ok"));
  g = ask([](Peer& p, ReplyCallback cb) { p.stop("web", cb); });
  EXPECT_EQ(g.status, Result::Status::error) << g;
  EXPECT_EQ(g.text, "Command is not supported");
  EXPECT_TRUE(node_cmd("unlisten", R"("event":"handshake")").flag("/ok"));
  g = ask([](Peer& p, ReplyCallback cb) { p.handshake(R"({"type":"client"})", cb); });
  EXPECT_EQ(g.status, Result::Status::error) << g;
  EXPECT_EQ(g.text, "Command is not supported");

  // Unknown opcodes.
  for (int op : {17, 99, 255}) {
    g = ask([op](Peer& p, ReplyCallback cb) { p.request(static_cast<Opcode>(op), "x", "", cb); });
    EXPECT_EQ(g.status, Result::Status::error) << "opcode " << op << ": " << g;
    EXPECT_EQ(g.text, "Command is not supported");
  }
  // As a one-way message it is dropped; the connection lives on.
  loop_->call([&] { EXPECT_TRUE(peer_->send_message(static_cast<Opcode>(99), "x", "y")); });
  g = ask([](Peer& p, ReplyCallback cb) { p.get("web", cb); });
  EXPECT_EQ(g.status, Result::Status::ok) << g;
}

TEST_P(Interop, ErrorRepliesFromUs) {
  Line l = node_call("start", R"(["fail"])");
  EXPECT_EQ(l.str("/err"), "Service not found") << l.text();
  l = node_call("get", R"(["missing"])");
  EXPECT_EQ(l.str("/err"), "Service not found") << l.text();

  // No handler on our side.
  table_->clear(Opcode::stop);
  l = node_call("stop", R"(["web"])");
  EXPECT_EQ(l.str("/err"), "Command is not supported") << l.text();
  table_->clear(Opcode::handshake);
  l = node_call("handshake", R"([{"type":"client"}])");
  EXPECT_EQ(l.str("/err"), "Command is not supported") << l.text();

  for (int op : {17, 99, 255}) {
    l = node_cmd("send", "\"opcode\":" + std::to_string(op) + ",\"id\":\"x\"");
    EXPECT_EQ(l.str("/err"), "Command is not supported") << "opcode " << op << ": " << l.text();
  }
  l = node_cmd("send", R"("opcode":99,"id":"x","oneway":true)");
  EXPECT_TRUE(l.flag("/sent"));
  l = node_call("get", R"(["web"])");
  EXPECT_TRUE(l.is_null("/err")) << l.text();
  EXPECT_EQ(l.str("/json"), R"({"id":"web","start":"node app.js"})");
}


}  // namespace
}  // namespace hms::interop_test
