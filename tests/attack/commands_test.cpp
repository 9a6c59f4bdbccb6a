// Attacks through JSON and commands: malformed handshakes, wrong protocol
// values, service records past their limits, huge and deeply nested JSON,
// wrong types, 70,000 requests in flight, subscription churn, and peer
// strings that try to forge the hub's log.
#include <thread>

#include "harness/attack.hpp"

namespace hms::attack {
namespace {

const std::string kBadProtocol = "Server and client do not speak the same protocol";
const std::string kBadHandshake = "Invalid handshake";

// The answer to one handshake payload on a fresh connection.
std::optional<RawFrame> handshake_with(std::uint16_t port, const std::string& payload) {
  auto c = RawConn::open(port);
  if (!c) return std::nullopt;
  return c->call(1, Opcode::handshake, "", payload);
}

// Handshakes that are not JSON objects, or miss what they need: a clear
// error, never a crash (the reference itself dies on JSON.parse here).
HMS_ATTACK(Commands, MalformedHandshakes, {}) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{}", kBadProtocol},
      {"null", kBadProtocol},
      {R"({"protocol":1})", kBadHandshake},
      {R"({"protocol":1,"type":"terminal"})", kBadHandshake},
      {R"({"protocol":1,"type":""})", kBadHandshake},
      {R"({"protocol":1,"type":"client\u0000"})", kBadHandshake},
  };
  for (const auto& [payload, want] : cases) {
    auto r = handshake_with(env.port(), payload);
    ASSERT_TRUE(r) << payload;
    EXPECT_TRUE(r->is_error(want)) << payload << " -> " << describe(*r);
  }
  // Not JSON at all, or cut: an error reply (the text is ours to choose).
  const std::vector<std::string> junk = {"not json", "{", "[", "{\"protocol\":1,", "\"\\ud800\"",
                                         std::string("\xff\xfe", 2), std::string(1000, '{'), ""};
  for (const std::string& payload : junk) {
    auto r = handshake_with(env.port(), payload);
    ASSERT_TRUE(r) << printable(payload);
    EXPECT_EQ(r->type, FrameType::error) << printable(payload) << " -> " << describe(*r);
    EXPECT_FALSE(r->body.empty());
  }
}

// protocol must be exactly the number 1 (as `!== 1` in the reference):
// every other value gets the protocol error.
HMS_ATTACK(Commands, WrongProtocolValues, {}) {
  for (const std::string v : {"0", "2", "-1", "1.5", "\"1\"", "true", "null", "[1]", "{\"v\":1}", "1e400",
                              "100000000000000000000", "-0", "0x1", "01"}) {
    const std::string payload = R"({"type":"client","protocol":)" + v + "}";
    auto r = handshake_with(env.port(), payload);
    ASSERT_TRUE(r) << payload;
    EXPECT_EQ(r->type, FrameType::error) << payload << " -> " << describe(*r);
    if (v != "0x1" && v != "01") {  // not JSON: our choice of text
      EXPECT_TRUE(r->is_error(kBadProtocol)) << payload << " -> " << describe(*r);
    }
  }
  // JSON.parse reads 1.0 and 1e0 as 1: the reference accepts them.
  for (const std::string v : {"1.0", "1e0", "10e-1"}) {
    auto r = handshake_with(env.port(), R"({"type":"client","protocol":)" + v + "}");
    ASSERT_TRUE(r) << v;
    EXPECT_EQ(r->type, FrameType::reply) << "protocol " << v << " is 1 to the reference: " << describe(*r);
  }
}

// Service records past their limits get clear errors at add and update;
// list and get stay small.
HMS_ATTACK(Commands, ServiceRecordLimits, {}) {
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  const std::string long_id(257, 'a');
  auto r = c->call(1, Opcode::add, long_id, R"({"start":"x"})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_error("Service id is too long (at most 256 bytes)")) << describe(*r);
  r = c->call(2, Opcode::add, std::string(256, 'a'), R"({"start":"x"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, FrameType::reply) << "256 bytes is allowed: " << describe(*r);

  const std::string too_large = "Service is too large (at most 262144 bytes)";
  r = c->call(3, Opcode::add, "fat", R"({"start":")" + std::string(300 << 10, 's') + "\"}");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_error(too_large)) << describe(*r);
  // Under the limit alone, over it once merged into the stored record.
  r = c->call(4, Opcode::add, "fat", R"({"start":")" + std::string(200 << 10, 's') + "\"}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, FrameType::reply) << describe(*r);
  r = c->call(5, Opcode::update, "fat", R"({"build":")" + std::string(100 << 10, 'b') + "\"}");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_error(too_large)) << "the merged record passes 256 KiB: " << describe(*r);

  auto env_of = [](int n) {
    std::string j = R"({"start":"x","env":{)";
    for (int i = 0; i < n; ++i) j += (i ? ",\"K" : "\"K") + std::to_string(i) + "\":\"v\"";
    return j + "}}";
  };
  r = c->call(6, Opcode::add, "manyenv", env_of(1025));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_error("Service env has too many variables (at most 1024)")) << describe(*r);
  r = c->call(7, Opcode::add, "manyenv", env_of(1024));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, FrameType::reply) << "1024 variables are allowed: " << describe(*r);
  r = c->call(8, Opcode::update, "manyenv", env_of(1025));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_error("Service env has too many variables (at most 1024)")) << describe(*r);

  auto g = c->call(9, Opcode::get, "fat");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->body.find(std::string(1000, 'b')), std::string::npos) << "the refused update was stored";
  auto l = c->call(10, Opcode::list, "");
  ASSERT_TRUE(l);
  EXPECT_LT(l->body.size(), 300u << 10);
  for (const std::string& id : {std::string(256, 'a'), std::string("fat"), std::string("manyenv")})
    c->call(11, Opcode::remove, id);
}

// A 33 MiB add (once stored, then no client could list): refused at the
// frame limit, the connection closed, nothing stored.
HMS_ATTACK(Commands, HugeAdd, {}) {
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  c->send(request(2, Opcode::add, "huge", R"({"start":")" + std::string(33u << 20, 'h') + "\"}"), 10s);
  EXPECT_TRUE(c->wait_closed(slack()));
  env.expect_count("hms_protocol_errors_total", 1);
  auto d = RawConn::client(env.port());
  ASSERT_TRUE(d);
  auto r = d->call(1, Opcode::get, "huge");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_error("Service not found")) << describe(*r);
}

// JSON nested 100,000 deep in every place that takes JSON: answered (the
// reference keeps only known members, so an ok is fair too), and the
// connection and the hub stay.
HMS_ATTACK(Commands, DeeplyNestedJson, {}) {
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string deep_obj = [] {
    std::string s;
    for (int i = 0; i < 50000; ++i) s += "{\"a\":";
    s += "1";
    s += std::string(50000, '}');
    return s;
  }();
  std::uint16_t rid = 1;
  for (const std::string& payload : {deep, deep_obj, R"({"start":"x","env":)" + deep_obj + "}",
                                     R"({"start":"x","tags":)" + deep + "}"}) {
    auto r = c->call(rid++, Opcode::add, "nested", payload);
    ASSERT_TRUE(r) << "no answer to a deeply nested add";
    c->call(rid++, Opcode::remove, "nested", {}, seconds(kDeadline.dock) + slack());
    r = c->call(rid++, Opcode::sync, "ref", payload);
    ASSERT_TRUE(r) << "no answer to a deeply nested sync";
    r = c->call(rid++, Opcode::update, "ref", payload);
    ASSERT_TRUE(r) << "no answer to a deeply nested update";
  }
  auto h = handshake_with(env.port(), R"({"type":"client","protocol":1,"x":)" + deep + "}");
  ASSERT_TRUE(h) << "no answer to a deeply nested handshake";
  auto l = c->call(rid++, Opcode::list, "");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->type, FrameType::reply);
}

// Members of the wrong type, payloads that are not objects, bytes that are
// not UTF-8: each add answered, and what was stored reads back as JSON the
// reference client can parse.
HMS_ATTACK(Commands, WrongJsonTypes, {}) {
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  const std::vector<std::string> payloads = {
      R"({"env":"str"})", R"({"tags":5})", R"({"limit":"x"})", R"({"docks":{}})", R"({"env":{"A":1,"B":null}})",
      R"({"start":["a","b"]})", R"({"limit":1e999})", R"({"limit":-1})", "[]", "\"str\"", "123", "", "null",
      R"({"start":"\ud800\udfff\u0000"})", std::string("{\"start\":\"\xff\xfe\xc0\x80\"}"),
      R"({"start":"x","unknown":{"deep":[1,2,{"k":"v"}]}})", R"({"start":"x","start":"y"})",
  };
  int n = 0;
  for (const auto& p : payloads) {
    const std::string id = "types-" + std::to_string(n++);
    auto r = c->call(static_cast<std::uint16_t>(n), Opcode::add, id, p);
    ASSERT_TRUE(r) << "no answer to add " << printable(p);
    EXPECT_TRUE(r->type == FrameType::reply || r->type == FrameType::error) << describe(*r);
  }
  // The reference client parses the whole list.
  const auto [err, value] = env.pair.call("list", "[]");
  EXPECT_EQ(err, "null") << value;
  EXPECT_NE(value.find("\"id\":\"ref\""), std::string::npos) << printable(value, 400);
  for (int i = 0; i < n; ++i) c->call(100, Opcode::remove, "types-" + std::to_string(i));
}

// 70,000 requests in flight on one connection (ids repeat): all answered
// to a reader; from a client that reads nothing, the hub lets go.
HMS_ATTACK(Commands, SeventyThousandRequests, {}) {
  constexpr int kRequests = 70000;
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  std::string burst;
  for (int i = 0; i < kRequests; ++i) burst += request(static_cast<std::uint16_t>(i), Opcode::get, "nope");
  std::thread writer([&] { c->send(burst, 30s); });
  int answered = 0, wrong = 0;
  while (answered < kRequests) {
    auto f = c->next(seconds(5) + slack());
    if (!f) break;
    if (f->rid == static_cast<std::uint16_t>(answered) && f->is_error("Service not found")) ++answered;
    else ++wrong;
  }
  writer.join();
  EXPECT_EQ(answered, kRequests);
  EXPECT_EQ(wrong, 0);
  // The same from a client that never reads (nor answers pings).
  auto mute = RawConn::client(env.port(), RawConn::Options{.rcvbuf = 4096});
  ASSERT_TRUE(mute);
  mute->answer_pings = false;
  mute->send(burst, 2s);
  EXPECT_TRUE(mute->wait_closed(seconds(kDeadline.ping_interval + kDeadline.ping_timeout) + slack()));
}

// 70,000 ps through a client routed to a dock that never answers: the hub
// holds at most 65,536 requests to it; every ps still gets an answer with
// an error entry for that dock, within the dock deadline. The dock answers
// pings, but behind 65,536 requests it must read first: in a sanitized
// build under a parallel ctest that took longer than the suite's 2 s ping
// deadline, so this hub gives pongs 10 s.
HMS_ATTACK(Commands, SeventyThousandPsToAMuteDock, {.config = {.flags = {{"--ping-timeout", "10"}}}, .shared = false}) {
  ScriptedDock mute(env.port(), "mute-70k", [](const RawFrame&) { return ScriptedDock::Answer{ScriptedDock::Act::none, {}}; });
  ASSERT_TRUE(mute.connected());
  auto c = RawConn::open(env.port());
  ASSERT_TRUE(c);
  auto hs = c->call(1, Opcode::handshake, "", R"({"type":"client","route":"mute-70k","protocol":1})");
  ASSERT_TRUE(hs && hs->type == FrameType::reply);
  constexpr int kRequests = 70000;
  std::string burst;
  for (int i = 0; i < kRequests; ++i) burst += request(static_cast<std::uint16_t>(i), Opcode::ps, "");
  const auto t0 = Clock::now();
  std::thread writer([&] { c->send(burst, 30s); });
  int answered = 0, with_entry = 0;
  std::string odd;
  while (answered < kRequests) {
    auto f = c->next(seconds(kDeadline.dock) + slack() + 10s);
    if (!f) break;
    ++answered;
    if (f->type == FrameType::reply && f->body.find(R"({"id":"mute-70k","error":")") != std::string::npos)
      ++with_entry;
    else if (odd.empty())
      odd = describe(*f);
  }
  writer.join();
  std::printf("[attack] 70,000 ps to a mute dock answered in %.1f s\n", ms_since(t0) / 1000);
  EXPECT_EQ(answered, kRequests);
  EXPECT_EQ(with_entry, kRequests) << "first other answer: " << odd;
  env.expect_count("hms_dock_timeouts_total", 1);
}

// Subscribe and unsubscribe 10,000 times, pipelined: every reply ok, the
// dock's subscription follows, the reference stream unaffected (its lines
// may arrive between a subscribe to "*" and its unsubscribe).
HMS_ATTACK(Commands, SubscriptionChurn, {}) {
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->call(1, Opcode::add, "churn", R"({"start":"x"})"));
  std::string burst;
  for (int i = 0; i < 10000; ++i) {
    burst += request(2, Opcode::subscribe, i % 2 ? "churn" : "*");
    burst += request(3, Opcode::unsubscribe, i % 2 ? "churn" : "*");
  }
  std::thread writer([&] { c->send(burst, 30s); });
  int ok = 0, bad = 0;
  std::string first_bad;
  while (ok + bad < 20000) {
    auto f = c->next(seconds(5) + slack());
    if (!f) break;
    if (f->type == FrameType::message) continue;  // the reference dock's lines, while "*" is subscribed
    if (f->type == FrameType::reply && (f->rid == 2 || f->rid == 3)) {
      ++ok;
    } else {
      ++bad;
      if (first_bad.empty()) first_bad = describe(*f);
    }
  }
  writer.join();
  EXPECT_EQ(ok, 20000);
  EXPECT_EQ(bad, 0) << "first: " << first_bad;
  c->call(4, Opcode::remove, "churn");
}

// Peer strings in the hub's log: a dock id with a newline and escape codes
// (through JSON escapes), a removed id with raw control bytes and bytes
// that are not UTF-8 (the frame's id field; remove logs any id, as the
// reference does), and a 60 KB dock id. The log must show them escaped
// (\xNN), never forge a line, and keep lines short.
HMS_ATTACK(Commands, LogInjection, {}) {
  const std::string evil_dock = "evil\n[term] forged line\x1b[31mred\x1b[0m\r\x07";
  const std::string evil_id = std::string("gone\n[term] forged remove\x1b[2J\xff\xfe", 32);
  {
    ScriptedDock d(env.port(), evil_dock, [](const RawFrame&) { return ScriptedDock::Answer{}; });
    ASSERT_TRUE(d.connected()) << "the evil dock was refused";
    auto c = RawConn::client(env.port());
    ASSERT_TRUE(c);
    auto r = c->call(1, Opcode::remove, evil_id, {}, seconds(kDeadline.dock) + slack());
    ASSERT_TRUE(r);
    r = c->call(2, Opcode::subscribe, std::string("x\n[term] forged subscribe\x1b[2J", 30));
    ASSERT_TRUE(r);
  }
  {
    auto d = RawConn::dock(env.port(), std::string(60000, 'L'));
    ASSERT_TRUE(d) << "the dock with a long id was refused";
  }
  // The hub logged the docks' drops by now.
  ASSERT_TRUE(connections_settle(env.hub, "dock", 1, slack()));
  const std::string log = env.hub.log();
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << "escape codes reached the log";
  EXPECT_EQ(log.find('\x07'), std::string::npos);
  EXPECT_EQ(log.find('\xff'), std::string::npos) << "bytes that are not UTF-8 reached the log";
  EXPECT_EQ(log.find("\n[term] forged"), std::string::npos) << "a peer forged a log line";
  EXPECT_NE(log.find("evil\\x0a[term] forged line\\x1b[31mred"), std::string::npos)
      << "the evil dock id is not in the log, escaped as \\xNN";
  EXPECT_NE(log.find("gone\\x0a[term] forged remove\\x1b[2J\\xff\\xfe"), std::string::npos)
      << "the removed id is not in the log, escaped as \\xNN";
  std::size_t longest = 0, start = 0;
  for (std::size_t nl; (nl = log.find('\n', start)) != std::string::npos; start = nl + 1)
    longest = std::max(longest, nl - start);
  EXPECT_LT(longest, 4096u) << "a peer's long id made a log line of " << longest << " bytes";
}

}  // namespace
}  // namespace hms::attack
