// Attacks through docks and liveness: a dock that never answers, one that
// is SIGSTOPped, one whose host is gone (half-open), one that leaves in
// the middle of a command, malformed ps answers, duplicate dock ids, huge
// log frames and ps answers, and clients that never answer a ping.
#include <signal.h>

#include <map>
#include <thread>

#include "harness/attack.hpp"

namespace hms::attack {
namespace {

using Act = ScriptedDock::Act;
using Answer = ScriptedDock::Answer;

std::string timed_out(const std::string& dock) {
  return "Dock " + dock + " did not answer in time (" + std::to_string(kDeadline.dock) + " s)";
}
std::string gone(const std::string& dock) { return "Dock " + dock + " is gone (cable was destroyed)"; }
std::string error_entry(const std::string& dock, const std::string& reason) {
  return R"({"id":")" + dock + R"(","error":)" + json_string(reason) + R"(,"list":[]})";
}

// How long a command may take when a dock fails it: the dock deadline plus
// the hub's and the machine's slack.
Ms command_limit() { return seconds(kDeadline.dock) + slack(); }

struct Timed {  // an answer and how long it took
  std::optional<RawFrame> frame;
  double ms = 0;
};
Timed timed_call(RawConn& c, std::uint16_t rid, Opcode op, std::string_view id, std::string_view payload = {}) {
  const auto t0 = Clock::now();
  Timed t;
  t.frame = c.call(rid, op, id, payload, command_limit() + 5s);
  t.ms = ms_since(t0);
  return t;
}

// ps, start, stop, restart and remove with a dock that fails to answer,
// all at once (a stopped dock is dropped by the ping deadline soon after):
// each answers within the dock deadline, naming the dock; ps has the
// reference dock's entry and an error entry for the failed one.
void commands_name_the_dock(Env& env, const std::string& dock, const std::string& reason) {
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  const std::string svc = "svc-" + dock;
  ASSERT_TRUE(c->call(1, Opcode::add, svc, R"({"start":"x","tags":[")" + dock + R"("]})"));
  const Opcode ops[] = {Opcode::ps, Opcode::start, Opcode::stop, Opcode::restart, Opcode::remove};
  std::string burst;
  for (std::uint16_t i = 0; i < 5; ++i) burst += request(10 + i, ops[i], ops[i] == Opcode::ps ? "" : svc);
  const auto t0 = Clock::now();
  ASSERT_TRUE(c->send(burst));
  std::map<std::uint16_t, std::pair<RawFrame, double>> got;
  while (got.size() < 5) {
    auto f = c->next(command_limit() + 5s);
    if (!f) break;
    if (f->rid >= 10 && f->rid < 15) got[f->rid] = {*f, ms_since(t0)};
  }
  for (std::uint16_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(to_string(ops[i]));
    auto it = got.find(static_cast<std::uint16_t>(10 + i));
    if (it == got.end()) {
      ADD_FAILURE() << "no answer";
      continue;
    }
    const RawFrame& f = it->second.first;
    EXPECT_LT(it->second.second, static_cast<double>(command_limit().count()));
    if (ops[i] != Opcode::ps) {
      EXPECT_TRUE(f.is_error(reason)) << describe(f);
      continue;
    }
    EXPECT_EQ(f.type, FrameType::reply) << describe(f);
    EXPECT_NE(f.body.find(error_entry(dock, reason)), std::string::npos) << describe(f);
    EXPECT_NE(f.body.find(std::string(R"({"id":")") + RefPair::kDockId + "\""), std::string::npos)
        << "the other docks' answers still arrive: " << describe(f);
  }
}

// A dock that answers pings but never a command: every command has a
// deadline; the dock stays connected (it is alive, only mute).
HMS_ATTACK(Docks, MuteDock, {}) {
  ScriptedDock mute(env.port(), "mute-dock", [](const RawFrame&) { return Answer{Act::none, {}}; });
  ASSERT_TRUE(mute.connected());
  commands_name_the_dock(env, "mute-dock", timed_out("mute-dock"));
  // sync places the service on it (tagged with its id) and times out too.
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->call(1, Opcode::add, "placed", R"({"start":"x","tags":["mute-dock"]})"));
  Timed t = timed_call(*c, 2, Opcode::sync, "placed", R"({"id":"placed","start":"x","tags":["mute-dock"],"deployed":"t1"})");
  ASSERT_TRUE(t.frame);
  EXPECT_TRUE(t.frame->is_error(timed_out("mute-dock"))) << describe(*t.frame);
  env.expect_count("hms_dock_timeouts_total", 6);
  EXPECT_FALSE(mute.closed_by_hub()) << "a mute dock that answers pings is not dropped";
  c->call(3, Opcode::remove, "placed", {}, command_limit() + 5s);
}

// A reference dock (Node) SIGSTOPped: commands answer within the deadline
// naming it, and the hub drops it by the ping deadline (the reference
// drops it within 20 s: 15 s ping interval + 5 s timeout).
HMS_ATTACK(Docks, SigstoppedDock, {}) {
  NodeProc stopped(R"({"port":)" + std::to_string(env.port()) +
                   R"(,"role":"dock","id":"stopped-dock","tags":[],"service":"none"})");
  ASSERT_TRUE(stopped.take(R"({"event":"handshake","err":null)", 20s)) << stopped.transcript();
  ASSERT_TRUE(connections_settle(env.hub, "dock", 2, slack()));
  ASSERT_EQ(::kill(stopped.pid(), SIGSTOP), 0);
  // Whatever fails below, the dock runs again before it is ended.
  struct Resume {
    pid_t pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  } resume{stopped.pid()};
  const auto t0 = Clock::now();
  commands_name_the_dock(env, "stopped-dock", timed_out("stopped-dock"));
  EXPECT_TRUE(connections_settle(env.hub, "dock", 1,
                                 seconds(kDeadline.ping_interval + kDeadline.ping_timeout) + slack()))
      << "the stopped dock is still connected " << ms_since(t0) << " ms after SIGSTOP";
  env.expect_count("hms_ping_timeouts_total", 1);
}

// A dock whose host vanished: its socket neither reads nor answers (on
// loopback the kernel still ACKs; the hub cannot tell the difference from a
// cut cable at the application level). Commands have deadlines; the ping
// deadline drops it.
HMS_ATTACK(Docks, HalfOpenDock, {}) {
  auto dead = RawConn::dock(env.port(), "half-open-dock");
  ASSERT_TRUE(dead);
  const auto t0 = Clock::now();
  commands_name_the_dock(env, "half-open-dock", timed_out("half-open-dock"));
  EXPECT_TRUE(connections_settle(env.hub, "dock", 1,
                                 seconds(kDeadline.ping_interval + kDeadline.ping_timeout) + slack()))
      << "the half-open dock is still connected " << ms_since(t0) << " ms later";
  env.expect_count("hms_ping_timeouts_total", 1);
}

// A dock that hangs up when asked: the command fails at once with the
// reference's reason, not at the deadline.
HMS_ATTACK(Docks, DockLeavesMidCommand, {}) {
  for (Opcode op : {Opcode::ps, Opcode::start}) {
    const std::string id = std::string("leaving-") + to_string(op);
    ScriptedDock leaving(env.port(), id, [op](const RawFrame& f) {
      if (f.opcode == static_cast<std::uint8_t>(op) || f.opcode == static_cast<std::uint8_t>(Opcode::update))
        return Answer{Act::close, {}};
      return Answer{Act::ok, f.opcode == static_cast<std::uint8_t>(Opcode::ps) ? "[]" : ""};
    });
    ASSERT_TRUE(leaving.connected());
    auto c = RawConn::client(env.port());
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->call(1, Opcode::add, "svc-leave", R"({"start":"x"})"));
    Timed t = timed_call(*c, 2, op, op == Opcode::ps ? "" : "svc-leave");
    ASSERT_TRUE(t.frame);
    if (op == Opcode::ps) {
      EXPECT_NE(t.frame->body.find(error_entry(id, gone(id))), std::string::npos) << describe(*t.frame);
    } else {
      EXPECT_TRUE(t.frame->is_error(gone(id))) << describe(*t.frame);
    }
    c->call(3, Opcode::remove, "svc-leave", {}, command_limit() + 5s);
  }
}

// ps answers that are not JSON arrays ("1],[2" once spliced into every
// client's ps): each becomes an error entry for its dock, the answer stays
// valid JSON (the reference client parses it), the good answers are kept.
// A falsy answer (null, nothing) means no processes and is dropped.
HMS_ATTACK(Docks, MalformedPsAnswers, {}) {
  const std::vector<std::string> bodies = {"1],[2", "not json", "[", "]", R"({"id":"x"})", R"("str")",
                                           "42", "null", "", R"([{"id":"a"}]])", std::string("[\xff]", 3)};
  std::vector<std::unique_ptr<ScriptedDock>> docks;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const std::string body = bodies[i];
    docks.push_back(std::make_unique<ScriptedDock>(env.port(), "bad-ps-" + std::to_string(i), [body](const RawFrame&) {
      return Answer{Act::ok, body};
    }));
    ASSERT_TRUE(docks.back()->connected());
  }
  docks.push_back(std::make_unique<ScriptedDock>(env.port(), "err-ps", [](const RawFrame&) {
    return Answer{Act::error, "boom"};
  }));
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  auto r = c->call(1, Opcode::ps, "", {}, command_limit());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->type, FrameType::reply) << describe(*r);
  std::size_t invalid = 0;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const std::string id = "bad-ps-" + std::to_string(i);
    if (bodies[i] == "null" || bodies[i].empty()) {
      // Falsy: no processes, dropped as the reference drops it.
      EXPECT_EQ(r->body.find(R"({"id":")" + id + "\""), std::string::npos) << describe(*r);
      continue;
    }
    ++invalid;
    const std::string entry = R"({"id":")" + id + R"(","error":")";
    EXPECT_NE(r->body.find(entry), std::string::npos) << "answer " << printable(bodies[i]) << ": " << describe(*r);
  }
  EXPECT_NE(r->body.find(error_entry("err-ps", "boom")), std::string::npos) << describe(*r);
  EXPECT_EQ(r->body.find("1],[2"), std::string::npos) << "a bad answer was spliced in";
  // The reference client parses the whole answer.
  const auto [err, value] = env.pair.call("ps", "[]");
  EXPECT_EQ(err, "null") << value;
  EXPECT_NE(value.find(R"("id":"bad-ps-0","error")"), std::string::npos) << printable(value, 2000);
  env.expect_count("hms_invalid_dock_answers_total", static_cast<double>(invalid));
}

// Docks that take the reference dock's id (and another id many times over):
// accepted, as the reference does, but the reference dock keeps its
// stream, its commands and its place when they leave.
HMS_ATTACK(Docks, DuplicateDockIds, {}) {
  {
    std::vector<std::unique_ptr<ScriptedDock>> twins;
    for (int i = 0; i < 3; ++i) {
      twins.push_back(std::make_unique<ScriptedDock>(env.port(), RefPair::kDockId, [](const RawFrame& f) {
        return Answer{Act::ok, f.opcode == static_cast<std::uint8_t>(Opcode::ps) ? ps_entry("twin") : ""};
      }));
      ASSERT_TRUE(twins.back()->connected());
    }
    const auto [err, value] = env.pair.call("ps", "[]");
    EXPECT_EQ(err, "null") << value;
  }
  for (int i = 0; i < 300; ++i) {
    auto d = RawConn::dock(env.port(), "same-id");
    ASSERT_TRUE(d);
  }
  EXPECT_TRUE(connections_settle(env.hub, "dock", 1, slack()));
  // The reference dock still gets commands: start reaches it.
  const auto [err, value] = env.pair.call("start", R"(["ref"])");
  EXPECT_EQ(err, "null") << value;
}

// A 16 MiB log frame (the largest allowed) reaches a subscriber that keeps
// up, whole; a 40 MiB one closes the dock that sent it, and no reader.
HMS_ATTACK(Docks, HugeLogFrames, {}) {
  auto reader = RawConn::client(env.port());
  ASSERT_TRUE(reader);
  ASSERT_TRUE(reader->call(1, Opcode::add, "big", R"({"start":"x"})"));
  ASSERT_TRUE(reader->call(2, Opcode::subscribe, "big"));
  auto dock = RawConn::dock(env.port(), "big-dock");
  ASSERT_TRUE(dock);
  ASSERT_TRUE(eventually([&] { auto f = dock->next(100ms); return f && f->opcode == static_cast<std::uint8_t>(Opcode::subscribe); }, 5s));
  const std::string id = "big@big-dock";
  std::string payload((16u << 20) - kMessagePrefix - id.size(), '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 + i / 4096);
  const std::string f16 = message(FrameType::message, 0, Opcode::stdout_, id, payload);
  std::thread writer([&] { dock->send(f16, 30s); });
  auto got = reader->next(30s);
  writer.join();
  ASSERT_TRUE(got) << "the 16 MiB frame did not arrive; reader closed: " << reader->closed();
  EXPECT_EQ(got->size, f16.size());
  EXPECT_TRUE(got->body == payload) << "the 16 MiB frame arrived changed";
  const std::string f40 = message(FrameType::message, 0, Opcode::stdout_, id, std::string(40u << 20, 'x'));
  dock->send(f40, 10s);
  EXPECT_TRUE(dock->wait_closed(slack())) << "a 40 MiB frame did not close its dock";
  auto l = reader->call(3, Opcode::list, "");
  EXPECT_TRUE(l && l->type == FrameType::reply) << "the reader was disconnected";
  reader->call(4, Opcode::remove, "big", {}, command_limit() + 5s);
}

// A dock answers ps with a 15 MiB array: the client that keeps up gets the
// whole answer and stays; a 33 MiB answer (over the frame limit) closes
// that dock, and ps then has an error entry for it.
HMS_ATTACK(Docks, HugePsAnswers, {}) {
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  std::optional<RawFrame> r;
  {
    const std::string pad(15u << 20, 'p');
    const std::string fat = R"([{"id":"fat-dock","list":[{"id":"x","pad":")" + pad + R"("}]}])";
    ScriptedDock fat_dock(env.port(), "fat-dock", [&fat](const RawFrame& f) {
      return Answer{Act::ok, f.opcode == static_cast<std::uint8_t>(Opcode::ps) ? fat : ""};
    });
    ASSERT_TRUE(fat_dock.connected());
    r = c->call(1, Opcode::ps, "", {}, 15s);
    ASSERT_TRUE(r) << "no ps answer; client closed: " << c->closed();
    EXPECT_EQ(r->type, FrameType::reply);
    EXPECT_NE(r->body.find(pad), std::string::npos) << "the 15 MiB entry is not in the answer";
    EXPECT_NE(r->body.find(std::string(R"({"id":")") + RefPair::kDockId), std::string::npos);
    // The reference client takes it too.
    const auto [err, value] = env.pair.call("ps", "[]", 20s);
    EXPECT_EQ(err, "null") << printable(value);
  }
  ASSERT_TRUE(connections_settle(env.hub, "dock", 1, slack()));

  const std::string huge = R"([{"id":"huge-dock","pad":")" + std::string(33u << 20, 'q') + R"("}])";
  ScriptedDock huge_dock(env.port(), "huge-dock", [&huge](const RawFrame& f) {
    return Answer{Act::ok, f.opcode == static_cast<std::uint8_t>(Opcode::ps) ? huge : ""};
  });
  ASSERT_TRUE(huge_dock.connected());
  r = c->call(2, Opcode::ps, "", {}, 15s);
  ASSERT_TRUE(r) << "no ps answer; client closed: " << c->closed();
  EXPECT_NE(r->body.find(error_entry("huge-dock", gone("huge-dock"))), std::string::npos)
      << printable(r->body, 400);
  EXPECT_LT(r->body.size(), 1u << 20);
}

// The hub itself stalls, SIGSTOPped for longer than a ping interval and
// its deadline (a paused VM, a swap storm, one very long pass): its peers
// answered what they could meanwhile, so none of them is dropped when it
// wakes, and a client connected before goes on.
HMS_ATTACK(Docks, AStalledHubDropsNobody, {.shared = false}) {
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  ASSERT_EQ(::kill(env.hub.pid(), SIGSTOP), 0);
  std::this_thread::sleep_for(seconds(kDeadline.ping_interval + kDeadline.ping_timeout + 1));
  ASSERT_EQ(::kill(env.hub.pid(), SIGCONT), 0);
  // Awake: a few rounds of pings, each answered.
  const auto until = Clock::now() + seconds(kDeadline.ping_interval) * 2 + slack();
  while (Clock::now() < until && c->pump()) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(env.delta("hms_ping_timeouts_total"), 0) << "the hub dropped peers for its own stall";
  auto l = c->call(9, Opcode::list, "");
  EXPECT_TRUE(l && l->type == FrameType::reply) << "the client connected before the stall was dropped";
}

// A client that subscribes to everything and then neither reads nor
// answers pings: dropped by the ping deadline.
HMS_ATTACK(Docks, ClientThatNeverPongs, {}) {
  auto c = RawConn::client(env.port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->call(1, Opcode::subscribe, "*"));
  c->answer_pings = false;
  const auto t0 = Clock::now();
  EXPECT_TRUE(c->wait_closed(seconds(kDeadline.ping_interval + kDeadline.ping_timeout) + slack()))
      << "still open after " << ms_since(t0) << " ms";
  EXPECT_GE(c->pings_seen(), 1u) << "the hub never pinged";
  env.expect_count("hms_ping_timeouts_total", 1);
}

}  // namespace
}  // namespace hms::attack
