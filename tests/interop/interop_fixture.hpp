// Interop fixture: our Peer against the reference implementation (npm hms-protocol
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
#pragma once

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

namespace hms::interop_test {

// ---------------------------------------------------------------- helpers

inline constexpr std::size_t kMiB = 1u << 20;

// JSON string literal (the agent parses commands with JSON.parse).
inline std::string q(std::string_view s) {
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

inline std::string hex(std::string_view s) {
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
inline std::int64_t fnv(std::string_view s) {
  std::uint32_t h = 0x811c9dc5u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

// The agent's pattern(): period 251, so a shift or a lost chunk changes the
// checksum.
inline std::string pattern(std::size_t len, int seed) {
  std::string s(len, '\0');
  for (std::size_t i = 0; i < len; ++i) s[i] = static_cast<char>((i % 251 + static_cast<std::size_t>(seed)) & 255);
  return s;
}

inline std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

inline const char* status_name(Result::Status s) {
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
inline std::ostream& operator<<(std::ostream& o, const Got& g) {
  return o << (g.arrived ? status_name(g.status) : "(no answer)") << " '" << g.text << "'";
}

// What one of our handlers saw.
struct Seen {
  std::uint8_t opcode = 0;
  FrameType type = FrameType::message;
  std::uint16_t rid = 0;
  std::string id, service, origin, payload;
};

inline std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

inline bool file_exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

// ---------------------------------------------------------------- fixture

struct Topology {
  bool cpp_server;  // true: Node connects to us; false: we connect to Node
  bool upgrade;     // HTTP CONNECT first, else raw frames
};

inline void PrintTo(const Topology& t, std::ostream* o) {
  *o << (t.cpp_server ? "node client -> our server" : "our client -> node server")
     << (t.upgrade ? ", HTTP CONNECT" : ", raw");
}

inline std::string setup_name(const ::testing::TestParamInfo<Topology>& i) {
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


}  // namespace hms::interop_test
