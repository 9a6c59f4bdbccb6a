// Interop: our Peer against the reference implementation (npm hms-protocol
// 1.2.3 on cable 1.3.0) running in a live Node.js process.
//
// Every test runs in four set-ups: the Node side is the server or the client
// (TCP), and the stream is raw frames from the first byte or goes through
// the HTTP CONNECT upgrade the reference terminal and docks use. Within each
// test, requests go both ways where the test is about requests.
//
// The Node side is tests/interop/agent.js behind node_server.js or
// node_client.js: it answers requests with fixed values (listed at the top
// of agent.js), reports every message it receives as a JSON line, and runs
// the commands we write to its stdin. Our side answers with the mirror of
// those values (see install_handlers()).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "engine/loop.hpp"
#include "hms/peer.hpp"
#include "interop/node_process.hpp"

using namespace hms;
using hms::interop::Line;
using hms::interop::NodeProcess;
using hms::test::LoopThread;
using hms::test::Waiter;
using namespace std::chrono_literals;

namespace {

// ---------------------------------------------------------------- helpers

// JSON string literal (the agent parses commands with JSON.parse).
std::string q(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o.push_back('\\');
      o.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o.push_back(static_cast<char>(c));
    }
  }
  return o + "\"";
}

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string o;
  o.reserve(s.size() * 2);
  for (unsigned char c : s) {
    o.push_back(d[c >> 4]);
    o.push_back(d[c & 15]);
  }
  return o;
}

// The agent's checksum for buffers (FNV-1a, 32 bits).
std::int64_t fnv(std::string_view s) {
  std::uint32_t h = 0x811c9dc5u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

// The agent's pattern(): period 251, so a shift or a lost chunk changes the
// checksum.
std::string pattern(std::size_t len, int seed) {
  std::string s(len, '\0');
  for (std::size_t i = 0; i < len; ++i) s[i] = static_cast<char>((i % 251 + static_cast<std::size_t>(seed)) & 255);
  return s;
}

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

const char* status_name(Result::Status s) {
  switch (s) {
    case Result::Status::ok: return "ok";
    case Result::Status::error: return "error";
    case Result::Status::closed: return "closed";
    case Result::Status::rejected: return "rejected";
  }
  return "?";
}

struct Got {
  Result::Status status = Result::Status::rejected;
  std::string text;
  bool arrived = false;
};
std::ostream& operator<<(std::ostream& o, const Got& g) {
  return o << (g.arrived ? status_name(g.status) : "(no answer)") << " '" << g.text << "'";
}

// What one of our handlers saw.
struct Seen {
  std::uint8_t opcode = 0;
  FrameType type = FrameType::message;
  std::uint16_t rid = 0;
  std::string id, service, origin, payload;
};

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

bool file_exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

// ---------------------------------------------------------------- fixture

struct Topology {
  bool cpp_server;  // true: Node connects to us; false: we connect to Node
  bool upgrade;     // HTTP CONNECT first, else raw frames
};

void PrintTo(const Topology& t, std::ostream* o) {
  *o << (t.cpp_server ? "node client -> our server" : "our client -> node server")
     << (t.upgrade ? ", HTTP CONNECT" : ", raw");
}

std::string setup_name(const ::testing::TestParamInfo<Topology>& i) {
  return std::string(i.param.cpp_server ? "NodeClient" : "NodeServer") +
         (i.param.upgrade ? "Connect" : "Raw");
}

class Interop : public ::testing::TestWithParam<Topology> {
 protected:
  void SetUp() override {
    const std::string node_exe = env_or("HMS_NODE", HMS_NODE_EXE);
    const std::string modules = env_or("HMS_NODE_MODULES", HMS_NODE_MODULES);
    // Not a skip: CI must run these. The fixture test interop_npm_install
    // says the same when node or npm is missing.
    ASSERT_EQ(::access(node_exe.c_str(), X_OK), 0)
        << "Node.js is not available at '" << node_exe
        << "'. The interop tests run the reference implementation in Node: install node and npm "
           "and re-run cmake (or set HMS_NODE).";
    ASSERT_TRUE(file_exists(modules + "/hms-protocol/package.json"))
        << "hms-protocol is not installed in " << modules
        << ": run the tests through ctest (the fixture test interop_npm_install installs it).";

    loop_ = std::make_unique<LoopThread>();
    install_handlers();
    const Topology s = GetParam();
    const std::string mode = s.upgrade ? "connect" : "raw";
    const std::string scripts = HMS_INTEROP_SCRIPTS;

    if (s.cpp_server) {
      port_ = loop_->call([&] {
        auto& l = loop_->reactor().listen("127.0.0.1:0", ListenOptions{}, [this](Connection& c) {
          auto p = Peer::attach(c);
          p->set_handlers(table_);
          watch(*p);
          peer_ = p;
          accepted_.set(1);
        });
        return loop_->reactor().listen_port(l);
      });
      node_ = std::make_unique<NodeProcess>(node_exe, modules, scripts + "/node_client.js",
                                            std::vector<std::string>{mode, std::to_string(port_)});
      ASSERT_TRUE(node_->started()) << node_->error();
      connected_ = node_->wait([](const Line& l) { return l.has("/connected") || l.has("/fatal"); });
      ASSERT_TRUE(connected_.flag("/connected")) << node_->transcript();
      ASSERT_TRUE(accepted_.wait_for([](int v) { return v == 1; })) << "no connection accepted";
    } else {
      node_ = std::make_unique<NodeProcess>(node_exe, modules, scripts + "/node_server.js",
                                            std::vector<std::string>{mode});
      ASSERT_TRUE(node_->started()) << node_->error();
      const Line first = node_->wait([](const Line&) { return true; });
      ASSERT_TRUE(first.is_number()) << "first line must be the port\n" << node_->transcript();
      port_ = static_cast<std::uint16_t>(first.num(""));
      auto ping = std::make_shared<std::promise<Got>>();
      first_ping_ = ping->get_future();
      loop_->call([&] {
        ConnectOptions co;
        co.upgrade = s.upgrade;
        co.origin = "dock-a";
        auto p = Peer::connect(loop_->reactor(), "127.0.0.1:" + std::to_string(port_), co);
        p->set_handlers(table_);
        watch(*p);
        p->on_upgrade([this] { upgraded_.set(1); });
        // Queued behind the CONNECT head before any answer: the Node server
        // finds it in the `head` bytes of its 'connect' event.
        p->ping([ping](const Result& r) { ping->set_value(Got{r.status, std::string(r.text), true}); });
        peer_ = p;
      });
      connected_ = node_->wait([](const Line& l) { return l.has("/connected") || l.has("/fatal"); });
      ASSERT_TRUE(connected_.flag("/connected")) << node_->transcript();
      ASSERT_EQ(first_ping_.wait_for(10s), std::future_status::ready) << node_->transcript();
    }
  }

  void TearDown() override {
    // Node first (closing its stdin ends it and its socket), then the held
    // replies on the reactor thread, then the reactor.
    node_.reset();
    if (loop_) {
      loop_->call([&] { held_.clear(); });
      loop_.reset();
    }
  }

  void watch(Peer& p) {
    p.on_close([this](const CloseInfo& ci) {
      closes_.update([&](auto& v) { v.push_back(ci.reason); });
    });
  }

  // Our answers, the mirror of the agent's.
  void install_handlers() {
    auto record = [this](const Message& m) {
      Seen s;
      s.opcode = m.opcode;
      s.type = m.type;
      s.rid = m.request_id;
      s.id = m.id;
      s.service = m.service;
      s.origin = m.origin;
      s.payload = m.payload;
      seen_.update([&](auto& v) { v.push_back(std::move(s)); });
    };
    table_->set(Opcode::handshake, [record](Peer&, const Message& m, Reply r) {
      record(m);
      r.ok(R"({"type":"terminal","version":"0.1.0"})");
    });
    table_->set(Opcode::get, [record](Peer&, const Message& m, Reply r) {
      record(m);
      if (m.id == "missing") return r.error("Service not found");
      r.ok("{\"id\":\"" + std::string(m.id) + "\",\"start\":\"node app.js\"}");
    });
    table_->set(Opcode::list, [record](Peer&, const Message& m, Reply r) {
      record(m);
      r.ok(R"([{"id":"web","start":"node app.js","tags":["a"]}])");
    });
    table_->set(Opcode::ps, [record](Peer&, const Message& m, Reply r) {
      record(m);
      r.ok(R"([{"id":"dock-a","hostname":"h1","tags":[],"list":[{"id":"web","pid":42}]}])");
    });
    for (Opcode op : {Opcode::add, Opcode::update, Opcode::remove, Opcode::start, Opcode::stop,
                      Opcode::restart, Opcode::sync, Opcode::subscribe, Opcode::unsubscribe}) {
      table_->set(op, [this, record](Peer&, const Message& m, Reply r) {
        record(m);
        if (m.id == "fail") return r.error("Service not found");
        if (m.id.substr(0, 4) == "hold") {
          held_.emplace_back(std::string(m.id), std::move(r));
          return;
        }
        r.ok();
      });
    }
    for (Opcode op : {Opcode::stdout_, Opcode::stderr_, Opcode::spawn, Opcode::exit})
      table_->set(op, [record](Peer&, const Message& m, Reply) { record(m); });
  }

  // ---- our side

  // Runs a call on the reactor and waits for its answer.
  Got ask(const std::function<void(Peer&, ReplyCallback)>& call, std::chrono::seconds t = 10s) {
    auto p = std::make_shared<std::promise<Got>>();
    auto f = p->get_future();
    loop_->call([&] {
      call(*peer_, [p](const Result& r) { p->set_value(Got{r.status, std::string(r.text), true}); });
    });
    if (f.wait_for(t) != std::future_status::ready) {
      ADD_FAILURE() << "no answer from Node within " << t.count() << " s\n" << node_->transcript();
      return {};
    }
    return f.get();
  }

  // Waits until our handlers saw `n` messages in total; returns them.
  std::vector<Seen> seen(std::size_t n, std::chrono::seconds t = 10s) {
    if (!seen_.wait_for([n](auto& v) { return v.size() >= n; }, t))
      ADD_FAILURE() << "our handlers saw " << seen_.get().size() << " messages, want " << n << "\n"
                    << node_->transcript();
    return seen_.get();
  }

  // ---- Node side

  std::string next_tag() { return "t" + std::to_string(++tag_); }

  // Sends {"cmd":cmd,"tag":T,<rest>} and waits for the line tagged T.
  Line node_cmd(const std::string& cmd, const std::string& rest = {}, std::chrono::seconds t = 20s) {
    const std::string tag = next_tag();
    std::string line = "{\"cmd\":" + q(cmd) + ",\"tag\":" + q(tag);
    if (!rest.empty()) line += "," + rest;
    line += "}";
    EXPECT_TRUE(node_->send(line)) << node_->transcript();
    Line l = node_->wait([&](const Line& x) { return x.str("/tag") == tag; }, t);
    if (!l.valid()) ADD_FAILURE() << "no answer to " << line << "\n" << node_->transcript();
    return l;
  }
  // p[op](...args, cb) on the Node side; `args` is a JSON array.
  Line node_call(const std::string& op, const std::string& args = "[]") {
    return node_cmd("call", "\"op\":" + q(op) + ",\"args\":" + args);
  }
  // The next message of kind `event` the Node side received.
  Line node_event(const std::string& event, std::chrono::seconds t = 20s) {
    Line l = node_->wait([&](const Line& x) { return x.str("/event") == event; }, t);
    if (!l.valid()) ADD_FAILURE() << "Node did not receive '" << event << "'\n" << node_->transcript();
    return l;
  }

  // Node's answer to a call was an empty reply buffer and no error.
  void expect_empty_ok(const Line& l) {
    EXPECT_TRUE(l.is_null("/err")) << l.text();
    EXPECT_EQ(l.num("/buf/len"), 0) << l.text();
  }

  std::unique_ptr<LoopThread> loop_;
  std::shared_ptr<HandlerTable> table_ = std::make_shared<HandlerTable>();
  std::shared_ptr<Peer> peer_;
  std::uint16_t port_ = 0;
  Waiter<int> accepted_;
  Waiter<int> upgraded_;
  Waiter<std::vector<CloseReason>> closes_;
  Waiter<std::vector<Seen>> seen_;
  std::future<Got> first_ping_;
  // Requests our handlers keep unanswered (ids "hold*"); reactor thread only.
  std::vector<std::pair<std::string, Reply>> held_;
  std::unique_ptr<NodeProcess> node_;
  Line connected_;
  int tag_ = 0;
};

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

constexpr std::size_t kMiB = 1u << 20;

TEST_P(Interop, MebibyteStdoutFromUs) {
  const std::string a = pattern(kMiB, 1), b = pattern(kMiB + 13, 2);
  loop_->call([&] {
    EXPECT_TRUE(peer_->write_stdout("web", "dock-a", a));
    EXPECT_TRUE(peer_->write_stderr("web", "dock-b", b));
    EXPECT_TRUE(peer_->write_stdout("web", "dock-a", "tail"));
  });
  Line e = node_event("stdout");
  EXPECT_EQ(e.str("/args/1"), "dock-a");
  EXPECT_EQ(e.num("/args/2/buf/len"), static_cast<std::int64_t>(kMiB)) << e.text();
  EXPECT_EQ(e.num("/args/2/buf/fnv"), fnv(a)) << e.text();
  e = node_event("stderr");
  EXPECT_EQ(e.str("/args/1"), "dock-b");
  EXPECT_EQ(e.num("/args/2/buf/len"), static_cast<std::int64_t>(kMiB + 13)) << e.text();
  EXPECT_EQ(e.num("/args/2/buf/fnv"), fnv(b)) << e.text();
  e = node_event("stdout");
  EXPECT_EQ(e.str("/args/2/buf/hex"), hex("tail")) << e.text();
}

TEST_P(Interop, MebibyteStdoutFromNode) {
  EXPECT_TRUE(node_call("stdout", R"(["web","dock-a",{"$pattern":[1048576,1]}])").flag("/sent"));
  EXPECT_TRUE(node_call("stderr", R"(["web","dock-b",{"$pattern":[1048589,2]}])").flag("/sent"));
  EXPECT_TRUE(node_call("stdout", R"(["web","dock-a",{"$hex":"7461696c"}])").flag("/sent"));
  const auto v = seen(3);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].opcode, 12);
  EXPECT_EQ(v[0].origin, "dock-a");
  EXPECT_EQ(v[0].payload.size(), kMiB);
  EXPECT_TRUE(v[0].payload == pattern(kMiB, 1)) << "1 MiB stdout payload differs";
  EXPECT_EQ(v[1].opcode, 13);
  EXPECT_EQ(v[1].origin, "dock-b");
  EXPECT_EQ(v[1].payload.size(), kMiB + 13);
  EXPECT_TRUE(v[1].payload == pattern(kMiB + 13, 2)) << "1 MiB stderr payload differs";
  EXPECT_EQ(v[2].payload, "tail");
}

constexpr int kPipelined = 10000;

TEST_P(Interop, PipelinedRequestsFromUs) {
  EXPECT_TRUE(node_cmd("quiet", R"("on":true)").flag("/ok"));
  struct State {
    std::vector<Got> answers = std::vector<Got>(kPipelined);
    Waiter<int> done;
  };
  auto st = std::make_shared<State>();
  const std::size_t in_flight = loop_->call([&] {
    for (int i = 0; i < kPipelined; ++i)
      peer_->get("svc" + std::to_string(i), [st, i](const Result& r) {
        st->answers[static_cast<std::size_t>(i)] = Got{r.status, std::string(r.text), true};
        st->done.update([](int& n) { ++n; });
      });
    return peer_->in_flight();
  });
  // All written before any answer could be read: one loop iteration.
  EXPECT_EQ(in_flight, static_cast<std::size_t>(kPipelined));
  ASSERT_TRUE(st->done.wait_for([](int n) { return n == kPipelined; }, 30s))
      << st->done.get() << " of " << kPipelined << " answered\n" << node_->transcript();
  int bad = 0;
  for (int i = 0; i < kPipelined; ++i) {
    const Got& g = st->answers[static_cast<std::size_t>(i)];
    const std::string want = "{\"id\":\"svc" + std::to_string(i) + "\",\"start\":\"node app.js\"}";
    if (g.status != Result::Status::ok || g.text != want) {
      if (++bad <= 5) ADD_FAILURE() << "request " << i << ": " << g << ", want " << want;
    }
  }
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(loop_->call([&] { return peer_->in_flight(); }), 0u);
}

TEST_P(Interop, PipelinedRequestsFromNode) {
  const Line l = node_cmd("pipeline", "\"n\":" + std::to_string(kPipelined), 30s);
  EXPECT_EQ(l.num("/done"), kPipelined) << l.text();
  EXPECT_EQ(l.num("/bad"), 0) << l.text();
  const auto v = seen(kPipelined);
  ASSERT_EQ(v.size(), static_cast<std::size_t>(kPipelined));
  // Node wrote all of them before reading a reply, so each had its own id.
  std::set<std::uint16_t> rids;
  for (const Seen& s : v) rids.insert(s.rid);
  EXPECT_EQ(rids.size(), static_cast<std::size_t>(kPipelined));
  EXPECT_EQ(*rids.rbegin(), kPipelined - 1);
  EXPECT_EQ(v[1234].id, "svc1234");
}

// The golden vector `request-id-reuse`: the frames start('d'), start('e')
// after replies to 1 then 0.
struct VectorFrame {
  int type, rid, length, opcode;
  std::string id;
};
std::vector<VectorFrame> reuse_vector() {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::vector<VectorFrame> out;
  if (parser.load(std::string(HMS_TEST_DATA) + "/hms-protocol-1.2.3.json").get(root) != simdjson::SUCCESS)
    return out;
  simdjson::dom::array cases;
  if (root["cases"].get(cases) != simdjson::SUCCESS) return out;
  auto num = [](simdjson::dom::element e, const char* key) {
    std::int64_t v = -1;
    return e[key].get(v) == simdjson::SUCCESS ? static_cast<int>(v) : -1;
  };
  for (simdjson::dom::element c : cases) {
    std::string_view name;
    simdjson::dom::array frames;
    if (c["name"].get(name) != simdjson::SUCCESS || name != "request-id-reuse") continue;
    if (c["frames"].get(frames) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element f : frames) {
      std::string_view id;
      if (f["id"].get(id) != simdjson::SUCCESS) continue;
      out.push_back({num(f, "type"), num(f, "requestId"), num(f, "length"), num(f, "opcode"), std::string(id)});
    }
  }
  return out;
}

TEST_P(Interop, RequestIdsAreReusedAsTheReferenceDoesFromUs) {
  const auto vec = reuse_vector();
  ASSERT_EQ(vec.size(), 2u) << "vector request-id-reuse not found in " << HMS_TEST_DATA;
  EXPECT_TRUE(node_cmd("tap", R"("on":true)").flag("/ok"));
  // Shared: if an assertion ends the test early, the callbacks still run at
  // tear-down (the connection closes) and must not touch a dead local.
  auto answered_p = std::make_shared<Waiter<std::vector<std::string>>>();
  auto& answered = *answered_p;
  auto record = [answered_p](std::string name) {
    return [answered_p, name](const Result& r) {
      answered_p->update([&](auto& v) { v.push_back(name + ":" + status_name(r.status)); });
    };
  };
  loop_->call([&] {
    for (const char* id : {"hold-a", "hold-b", "hold-c"}) peer_->start(id, record(id));
  });
  // The ids on the wire, as Node's tap read them.
  auto wire = [&](const std::string& id) {
    const Line w = node_->wait([&](const Line& x) { return x.str("/wire/id") == id; });
    EXPECT_TRUE(w.valid()) << "no frame for " << id << "\n" << node_->transcript();
    return w;
  };
  EXPECT_EQ(wire("hold-a").num("/wire/rid"), 0);
  EXPECT_EQ(wire("hold-b").num("/wire/rid"), 1);
  EXPECT_EQ(wire("hold-c").num("/wire/rid"), 2);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(node_event("start").flag("/held"));

  EXPECT_TRUE(node_cmd("release", R"("ids":["hold-b","hold-a"])").valid());
  ASSERT_TRUE(answered.wait_for([](auto& v) { return v.size() == 2; })) << node_->transcript();
  EXPECT_EQ(answered.get(), (std::vector<std::string>{"hold-b:ok", "hold-a:ok"}));

  // Both issued before either answer can be read, as in the vector.
  loop_->call([&] {
    peer_->start("d", record("d"));
    peer_->start("e", record("e"));
  });
  for (const auto& f : vec) {
    const Line w = wire(f.id);
    EXPECT_EQ(w.num("/wire/type"), f.type) << w.text();
    EXPECT_EQ(w.num("/wire/rid"), f.rid) << w.text();
    EXPECT_EQ(w.num("/wire/len"), f.length) << w.text();
    EXPECT_EQ(w.num("/wire/op"), f.opcode) << w.text();
  }
  ASSERT_TRUE(answered.wait_for([](auto& v) { return v.size() == 4; }));
  EXPECT_TRUE(node_cmd("release", R"("ids":["hold-c"])").valid());
  ASSERT_TRUE(answered.wait_for([](auto& v) { return v.size() == 5; }));
  EXPECT_EQ(loop_->call([&] { return peer_->in_flight(); }), 0u);
}

TEST_P(Interop, RequestIdsAreReusedAsTheReferenceDoesFromNode) {
  const auto vec = reuse_vector();
  ASSERT_EQ(vec.size(), 2u);
  const std::string batch_abc =
      R"("cmds":[{"cmd":"call","tag":"a","op":"start","args":["hold-a"]},)"
      R"({"cmd":"call","tag":"b","op":"start","args":["hold-b"]},)"
      R"({"cmd":"call","tag":"c","op":"start","args":["hold-c"]}])";
  EXPECT_TRUE(node_cmd("batch", batch_abc).flag("/ok"));
  auto v = seen(3);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].id, "hold-a");
  EXPECT_EQ(v[0].rid, 0);
  EXPECT_EQ(v[1].rid, 1);
  EXPECT_EQ(v[2].rid, 2);

  // Answer 1 (hold-b), then 0 (hold-a).
  loop_->call([&] {
    for (const char* id : {"hold-b", "hold-a"})
      for (auto& [hid, r] : held_)
        if (hid == id) r.ok();
  });
  const Line b = node_->wait([](const Line& x) { return x.str("/tag") == "b"; });
  const Line a = node_->wait([](const Line& x) { return x.str("/tag") == "a"; });
  ASSERT_TRUE(a.valid() && b.valid()) << node_->transcript();
  EXPECT_LT(b.index(), a.index()) << "Node saw the replies out of order";
  expect_empty_ok(a);
  expect_empty_ok(b);

  EXPECT_TRUE(node_cmd("batch", R"("cmds":[{"cmd":"call","tag":"d","op":"start","args":["d"]},)"
                                R"({"cmd":"call","tag":"e","op":"start","args":["e"]}])")
                  .flag("/ok"));
  v = seen(5);
  ASSERT_EQ(v.size(), 5u);
  for (std::size_t i = 0; i < vec.size(); ++i) {
    EXPECT_EQ(v[3 + i].id, vec[i].id);
    EXPECT_EQ(v[3 + i].rid, vec[i].rid);
    EXPECT_EQ(v[3 + i].opcode, vec[i].opcode);
  }
  expect_empty_ok(node_->wait([](const Line& x) { return x.str("/tag") == "d"; }));
  expect_empty_ok(node_->wait([](const Line& x) { return x.str("/tag") == "e"; }));
}

TEST_P(Interop, NodeDropsTheConnectionWhileOurRequestsWait) {
  auto failed_p = std::make_shared<Waiter<std::vector<std::string>>>();  // outlives an early exit
  auto& failed = *failed_p;
  loop_->call([&] {
    for (const char* id : {"hold-1", "hold-2", "hold-3"})
      peer_->start(id, [failed_p, id](const Result& r) {
        failed_p->update([&](auto& v) {
          v.push_back(std::string(id) + ":" + status_name(r.status) + ":" + std::string(r.text));
        });
      });
  });
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(node_event("start").flag("/held"));
  EXPECT_TRUE(node_cmd("destroy").flag("/destroyed"));
  ASSERT_TRUE(failed.wait_for([](auto& v) { return v.size() == 3; })) << node_->transcript();
  // In id order, each with the reference's message.
  EXPECT_EQ(failed.get(), (std::vector<std::string>{"hold-1:closed:cable was destroyed",
                                                    "hold-2:closed:cable was destroyed",
                                                    "hold-3:closed:cable was destroyed"}));
  ASSERT_TRUE(closes_.wait_for([](auto& v) { return v.size() == 1; }));
  // Calls after the loss fail at once, without being sent.
  const Got g = ask([](Peer& p, ReplyCallback cb) { p.start("web", cb); });
  EXPECT_EQ(g.status, Result::Status::closed) << g;
  EXPECT_EQ(g.text, "cable was destroyed");
}

TEST_P(Interop, WeCloseWhileNodeRequestsWait) {
  EXPECT_TRUE(node_cmd("batch", R"("cmds":[{"cmd":"call","tag":"h1","op":"start","args":["hold-1"]},)"
                                R"({"cmd":"call","tag":"h2","op":"start","args":["hold-2"]},)"
                                R"({"cmd":"call","tag":"h3","op":"start","args":["hold-3"]}])")
                  .flag("/ok"));
  ASSERT_EQ(seen(3).size(), 3u);
  loop_->call([&] {
    EXPECT_EQ(held_.size(), 3u);
    peer_->close();
  });
  std::vector<std::size_t> order;
  for (const char* tag : {"h1", "h2", "h3"}) {
    const Line l = node_->wait([&](const Line& x) { return x.str("/tag") == tag; });
    EXPECT_EQ(l.str("/err"), "cable was destroyed") << tag << ": " << l.text() << "\n" << node_->transcript();
    order.push_back(l.index());
  }
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end())) << "Node failed them out of id order";
  // A graceful close: Node read an end of stream, not a reset.
  EXPECT_TRUE(node_->wait([](const Line& x) { return x.str("/socket") == "end"; }).valid())
      << node_->transcript();
  EXPECT_FALSE(node_->any([](const Line& x) { return x.str("/socket") == "error"; }))
      << node_->transcript();
  ASSERT_TRUE(closes_.wait_for([](auto& v) { return v.size() == 1; }));
  EXPECT_EQ(closes_.get()[0], CloseReason::local) << to_string(closes_.get()[0]);
}

INSTANTIATE_TEST_SUITE_P(Reference, Interop,
                         ::testing::Values(Topology{false, false}, Topology{false, true},
                                           Topology{true, false}, Topology{true, true}),
                         setup_name);

}  // namespace
