// The reference implementation against our hub: Node docks and clients on
// npm hms-protocol 1.2.3 (tests/hub/node/peer.js), connected through HTTP
// CONNECT exactly as the reference hms connects, against the in-process hub
// and against the hms-hub binary. They report what they see as JSON lines,
// which are compared here as text (JSON.stringify is deterministic).
//
// Node is required: when it is missing these tests fail, they never skip.
#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

#include "hub/harness.hpp"

namespace hms::hubtest {
namespace {

std::string hex(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

// A reply as peer.js reports it: err is the error message or empty.
struct NodeReply {
  bool ok = false;
  std::string err;
  std::string value;  // JSON text
  std::string line;
};

// One peer.js process. Lines are collected by a reader thread (so a chatty
// child never blocks on a full pipe) and taken by the test in order.
class NodeAgent {
 public:
  explicit NodeAgent(const std::string& conf) {
    if (access(HMS_NODE, X_OK) != 0)
      throw std::runtime_error(std::string("node not found at configure time ('") + HMS_NODE +
                               "'): install Node.js and re-run cmake");
    if (access(HMS_NODE_MODULES "/hms-protocol/index.js", R_OK) != 0)
      throw std::runtime_error("hms-protocol is not installed in " HMS_NODE_MODULES
                               " (the hub_npm_install fixture test installs it)");
    child_ = std::make_unique<Child>(HMS_NODE, std::vector<std::string>{HMS_NODE_SCRIPTS "/peer.js", conf},
                                     std::vector<std::string>{"NODE_PATH=" HMS_NODE_MODULES});
    reader_ = std::thread([this] {
      for (;;) {
        auto line = child_->read_line(100ms);
        std::lock_guard l(mu_);
        if (line) {
          lines_.push_back(std::move(*line));
          taken_.push_back(false);
        } else if (child_->at_eof()) {
          eof_ = true;
        }
        cv_.notify_all();
        if (eof_) return;
      }
    });
  }
  ~NodeAgent() {
    child_->close_stdin();  // peer.js ends with its stdin
    int status = 0;
    if (!child_->wait_exit(3s, &status)) child_->kill9();
    reader_.join();
  }

  // The first untaken line that `match` accepts, taken; "" after `timeout`.
  std::string wait(const std::function<bool(const std::string&)>& match, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock l(mu_);
    std::string found;
    cv_.wait_for(l, timeout, [&] {
      for (std::size_t i = 0; i < lines_.size(); ++i)
        if (!taken_[i] && match(lines_[i])) {
          taken_[i] = true;
          found = lines_[i];
          return true;
        }
      return eof_;
    });
    if (found.empty()) ADD_FAILURE() << "no matching line from peer.js; it said:\n" << transcript_locked();
    return found;
  }
  std::string wait_prefix(const std::string& prefix, std::chrono::milliseconds timeout = kWait) {
    return wait([&](const std::string& s) { return s.compare(0, prefix.size(), prefix) == 0; }, timeout);
  }
  // Takes the next call the hub made of this dock (in arrival order).
  std::string next_call() { return wait_prefix(R"({"event":"call",)"); }

  // Runs a protocol call in the child and returns its reply.
  NodeReply call(const std::string& op, const std::string& args_json) {
    const int seq = ++seq_;
    child_->send_line(R"({"seq":)" + std::to_string(seq) + R"(,"op":")" + op + R"(","args":)" + args_json + "}");
    NodeReply r;
    r.line = wait_prefix(R"({"event":"reply","seq":)" + std::to_string(seq) + ",");
    const std::string mark = R"(,"err":)";
    const std::size_t e = r.line.find(mark);
    const std::size_t v = r.line.rfind(R"(,"value":)");
    if (e == std::string::npos || v == std::string::npos || v < e) return r;
    const std::string err = r.line.substr(e + mark.size(), v - e - mark.size());
    r.ok = err == "null";
    if (!r.ok && err.size() >= 2) r.err = err.substr(1, err.size() - 2);
    r.value = r.line.substr(v + 9, r.line.size() - v - 10);
    return r;
  }
  // A one-way event (stdout, ...) or a stream: waits until it is written.
  void send(const std::string& op, const std::string& args_json, const std::string& extra = "") {
    const int seq = ++seq_;
    child_->send_line(R"({"seq":)" + std::to_string(seq) + R"(,"op":")" + op + R"(","args":)" + args_json + extra +
                      "}");
    wait(
        [&](const std::string& s) { return s == R"({"event":"sent","seq":)" + std::to_string(seq) + "}"; });
  }
  // Ends the child's input: it closes its connection and exits.
  void close_stdin() { child_->close_stdin(); }

 private:
  std::string transcript_locked() const {
    std::string t;
    const std::size_t from = lines_.size() > 12 ? lines_.size() - 12 : 0;
    for (std::size_t i = from; i < lines_.size(); ++i) {
      // Hex payloads run long: the start of a line says what it is.
      const std::string& l = lines_[i];
      t += (taken_[i] ? "  (taken) " : "  ") + (l.size() > 200 ? l.substr(0, 200) + "..." : l) + "\n";
    }
    if (eof_) t += "  <end of output>\n";
    return t;
  }

  std::unique_ptr<Child> child_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::vector<bool> taken_;
  bool eof_ = false;
  int seq_ = 0;
};

const std::string kHandshakeLine =
    R"({"event":"handshake","err":null,"reply":)" + kTerminalReply + "}";

std::string dock_conf(std::uint16_t port) {
  return R"({"port":)" + std::to_string(port) +
         R"(,"role":"dock","id":"node-dock","tags":["eu"],"default":true,)"
         R"("ps":[{"id":"node-dock","hostname":"h","tags":["eu"],"list":[{"id":"web","pid":1234}]}],)"
         R"("fail":{"stop:web":"boom"}})";
}
std::string client_conf(std::uint16_t port) {
  return R"({"port":)" + std::to_string(port) + R"(,"role":"client"})";
}

class NodeInteropTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(NodeInteropTest, ReferenceDockAndClientAgainstTheHub) {
  TempDir dir;
  auto opts = hub_options(dir, GetParam());
  opts.default_env = {{"NODE_ENV", "production"}};
  RunningHub hub(opts);
  LoopThread loop;

  NodeAgent dock(dock_conf(hub.port));
  EXPECT_EQ(dock.wait_prefix(R"({"event":"handshake")"), kHandshakeLine);
  NodeAgent client(client_conf(hub.port));
  EXPECT_EQ(client.wait_prefix(R"({"event":"handshake")"), kHandshakeLine);

  // Registry commands from the reference client.
  NodeReply r = client.call("add", R"(["web",{"start":"node app.js","tags":["eu"]}])");
  EXPECT_TRUE(r.ok) << r.line;
  EXPECT_EQ(r.value, "null");
  r = client.call("add", R"(["web",{}])");
  EXPECT_EQ(r.err, "Service already exist") << r.line;
  r = client.call("add", R"(["bad name",{}])");
  EXPECT_EQ(r.err, "Service name should be alphanumericish") << r.line;
  const std::string web = R"({"id":"web","start":"node app.js","tags":["eu"],"env":{"NODE_ENV":"production"}})";
  r = client.call("list", "[]");
  EXPECT_EQ(r.value, "[" + web + "]") << r.line;
  r = client.call("get", R"(["web"])");
  EXPECT_EQ(r.value, web) << r.line;
  r = client.call("get", R"(["nope"])");
  EXPECT_EQ(r.err, "Service not found") << r.line;

  // Logs: the reference client subscribes; the hub subscribes the dock.
  r = client.call("subscribe", R"(["web"])");
  EXPECT_TRUE(r.ok) << r.line;
  EXPECT_EQ(dock.next_call(), R"({"event":"call","op":"subscribe","args":["web"]})");
  // A native client on '*' as well: it sees the Node dock's frames byte for
  // byte.
  TestClient native(loop, hub.port);
  ASSERT_TRUE(native.subscribe("*").ok());
  EXPECT_EQ(dock.next_call(), R"({"event":"call","op":"subscribe","args":["*"]})");

  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  const std::string out1 = all_bytes + "hello\n";
  const std::string err1 = binary_payload(70000, 3);  // several TCP segments
  dock.send("stdout", R"(["web","node-dock",{"hex":")" + hex(out1) + R"("}])");
  dock.send("stderr", R"(["web","node-dock",{"hex":")" + hex(err1) + R"("}])");
  dock.send("spawn", R"(["web","node-dock",1234])");
  dock.send("exit", R"(["web","node-dock","SIGTERM"])");
  dock.send("stdout", R"(["other","node-dock",{"hex":"6f"}])");  // not web: only '*' gets it
  const std::string from = R"("id":"web","origin":"node-dock","value":)";
  EXPECT_EQ(client.wait_prefix(R"({"event":"stdout")"), R"({"event":"stdout",)" + from + R"({"hex":")" + hex(out1) + "\"}}");
  EXPECT_EQ(client.wait_prefix(R"({"event":"stderr")"), R"({"event":"stderr",)" + from + R"({"hex":")" + hex(err1) + "\"}}");
  EXPECT_EQ(client.wait_prefix(R"({"event":"spawn")"), R"({"event":"spawn",)" + from + "1234}");
  EXPECT_EQ(client.wait_prefix(R"({"event":"exit")"), R"({"event":"exit",)" + from + "\"SIGTERM\"}");
  ASSERT_TRUE(native.wait_count(5));
  const auto ev = native.events();
  EXPECT_TRUE(ev[0].bytes == event_bytes(Opcode::stdout_, "web", "node-dock", out1));
  EXPECT_TRUE(ev[1].bytes == event_bytes(Opcode::stderr_, "web", "node-dock", err1));
  EXPECT_EQ(ev[2].bytes, event_bytes(Opcode::spawn, "web", "node-dock", "1234"));
  EXPECT_EQ(ev[3].bytes, event_bytes(Opcode::exit, "web", "node-dock", "\"SIGTERM\""));
  EXPECT_EQ(ev[4].bytes, event_bytes(Opcode::stdout_, "other", "node-dock", "o"));

  // Dock commands: update with the reference's member order, then the
  // command; the dock's error comes back to the client.
  const std::string upd =
      R"({"event":"call","op":"update","args":["web",{"start":"node app.js","env":{"NODE_ENV":"production"},"tags":["eu"]}]})";
  r = client.call("start", R"(["web"])");
  EXPECT_TRUE(r.ok) << r.line;
  EXPECT_EQ(dock.next_call(), upd);
  EXPECT_EQ(dock.next_call(), R"({"event":"call","op":"start","args":["web"]})");
  r = client.call("stop", R"(["web"])");
  EXPECT_EQ(r.err, "boom") << r.line;
  EXPECT_EQ(dock.next_call(), upd);
  EXPECT_EQ(dock.next_call(), R"({"event":"call","op":"stop","args":["web"]})");
  r = client.call("restart", R"(["web"])");
  EXPECT_TRUE(r.ok) << r.line;
  EXPECT_EQ(dock.next_call(), upd);
  EXPECT_EQ(dock.next_call(), R"({"event":"call","op":"restart","args":["web"]})");
  r = client.call("ps", "[]");
  EXPECT_EQ(r.value, R"([{"id":"node-dock","hostname":"h","tags":["eu"],"list":[{"id":"web","pid":1234}]}])")
      << r.line;
  EXPECT_EQ(dock.next_call(), R"({"event":"call","op":"ps","args":[]})");
  r = client.call("sync", R"(["web",null])");
  EXPECT_TRUE(r.ok) << r.line;  // never deployed: nothing to place

  // Placement with the reference dock: tagged eu, so it is chosen.
  r = client.call("sync", R"(["web",{"id":"web","start":"node app.js","tags":["eu"],"deployed":"t1"}])");
  EXPECT_TRUE(r.ok) << r.line;
  const std::string sync_call = dock.next_call();
  const std::string sync_head = R"({"event":"call","op":"sync","args":["web",{"id":"web",)";
  EXPECT_EQ(sync_call.compare(0, sync_head.size(), sync_head), 0) << sync_call;
  EXPECT_NE(sync_call.find(R"("docks":["node-dock"])"), std::string::npos) << sync_call;
  EXPECT_NE(sync_call.find(R"("deployed":"t1")"), std::string::npos) << sync_call;
  EXPECT_EQ(dock.next_call(), R"({"event":"call","op":"start","args":["web"]})");

  // The reference client leaves: it was web's only subscriber.
  client.close_stdin();
  EXPECT_EQ(client.wait_prefix(R"({"event":"closed")"), R"({"event":"closed"})");
  EXPECT_EQ(dock.next_call(), R"({"event":"call","op":"unsubscribe","args":["web"]})");
  // Remove, from the native client, reaches the Node dock.
  EXPECT_TRUE(native.remove("web").ok());
  EXPECT_EQ(dock.next_call(), R"({"event":"call","op":"remove","args":["web"]})");
  EXPECT_EQ(native.list().text, "[]");
}

TEST_P(NodeInteropTest, NativeDockStreamsToReferenceClients) {
  TempDir dir;
  RunningHub hub(hub_options(dir, GetParam()));
  LoopThread loop;
  TestDock dock(loop, hub.port, "native");
  NodeAgent a(client_conf(hub.port));
  NodeAgent b(client_conf(hub.port));
  EXPECT_EQ(a.wait_prefix(R"({"event":"handshake")"), kHandshakeLine);
  EXPECT_EQ(b.wait_prefix(R"({"event":"handshake")"), kHandshakeLine);
  EXPECT_TRUE(a.call("add", R"(["api",{"start":"x"}])").ok);
  EXPECT_TRUE(a.call("subscribe", R"(["api"])").ok);
  EXPECT_TRUE(b.call("subscribe", "[]").ok);  // the reference's subscribe() means '*'
  ASSERT_TRUE(dock.wait_call("subscribe", "api"));
  ASSERT_TRUE(dock.wait_call("subscribe", "*"));
  constexpr int kLines = 300;
  for (int i = 0; i < kLines; ++i) dock.write_stdout("api", "api line " + std::to_string(i) + "\n");
  dock.exit("api", "0");
  for (NodeAgent* c : {&a, &b}) {
    for (int i = 0; i < kLines; ++i) {
      const std::string want = R"({"event":"stdout","id":"api","origin":"native","value":{"hex":")" +
                               hex("api line " + std::to_string(i) + "\n") + "\"}}";
      const std::string got = c->wait_prefix(R"({"event":"stdout")");
      ASSERT_EQ(got, want);
    }
    EXPECT_EQ(c->wait_prefix(R"({"event":"exit")"), R"({"event":"exit","id":"api","origin":"native","value":0})");
  }
  // ps through the reference client reaches the native dock.
  dock.set_ps(R"([{"id":"native","list":[]}])");
  const NodeReply r = a.call("ps", "[]");
  EXPECT_EQ(r.value, R"([{"id":"native","list":[]}])") << r.line;
}

INSTANTIATE_TEST_SUITE_P(Shards, NodeInteropTest, ::testing::Values(1u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& i) {
                           return std::to_string(i.param) + "thread" + (i.param == 1 ? "" : "s");
                         });

// The same conversation with the hms-hub binary, configured from its
// command line.
TEST(NodeInteropBinaryTest, ReferencePeersAgainstTheHubBinary) {
  TempDir dir;
  Child hub(HMS_HUB_BINARY, {"--address", "127.0.0.1", "--port", "0", "--db", dir.file("hub.db"), "--threads",
                             "2", "--env", "STAGE=test", "--log-level", "warn"});
  const auto line = hub.read_line();
  const std::string prefix = "hms-hub listening on port ";
  ASSERT_TRUE(line && line->compare(0, prefix.size(), prefix) == 0) << line.value_or("<nothing>");
  const auto port = static_cast<std::uint16_t>(std::stoi(line->substr(prefix.size())));
  EXPECT_EQ(http_get(port, "/").second, std::string("hms-terminal ") + hub::kHubVersion + "\n");

  NodeAgent dock(dock_conf(port));
  NodeAgent client(client_conf(port));
  EXPECT_EQ(dock.wait_prefix(R"({"event":"handshake")"), kHandshakeLine);
  EXPECT_EQ(client.wait_prefix(R"({"event":"handshake")"), kHandshakeLine);
  EXPECT_TRUE(client.call("add", R"(["web",{"start":"run"}])").ok);
  EXPECT_EQ(client.call("list", "[]").value, R"([{"id":"web","start":"run","env":{"STAGE":"test"}}])");
  EXPECT_TRUE(client.call("subscribe", R"(["web"])").ok);
  EXPECT_EQ(dock.next_call(), R"({"event":"call","op":"subscribe","args":["web"]})");
  constexpr int kLines = 500;
  dock.send("stream", "[]", R"(,"id":"web","count":)" + std::to_string(kLines));
  for (int i = 0; i < kLines; ++i) {
    const std::string want = R"({"event":"stdout","id":"web","origin":"node-dock","value":{"hex":")" +
                             hex("web line " + std::to_string(i) + "\n") + "\"}}";
    ASSERT_EQ(client.wait_prefix(R"({"event":"stdout")"), want) << "line " << i;
  }
  EXPECT_EQ(client.call("ps", "[]").value,
            R"([{"id":"node-dock","hostname":"h","tags":["eu"],"list":[{"id":"web","pid":1234}]}])");
  const auto [status, metrics] = http_get(port, "/metrics");
  EXPECT_EQ(metric(metrics, R"(hms_connections{kind="dock"})"), 1) << metrics;
  EXPECT_EQ(metric(metrics, R"(hms_connections{kind="client"})"), 1) << metrics;
}

}  // namespace
}  // namespace hms::hubtest
