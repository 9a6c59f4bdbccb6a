// Attacks on the transport: connections that say nothing, heads and frames
// that never finish, writes one byte at a time, half-closes, readers that
// never read, and churn. Each asserts the hub's answer (the deadline that
// closes, with its counter) and, through the harness, that the reference
// pair did not notice and the memory came back.
#include <sys/socket.h>
#include <unistd.h>

#include <map>

#include "harness/attack.hpp"

namespace hms::attack {
namespace {

// Connections that send nothing at all are closed by the handshake deadline.
HMS_ATTACK(Transport, SilentConnections, {}) {
  constexpr int kConns = 200;
  std::vector<int> fds;
  for (int i = 0; i < kConns; ++i)
    if (const int fd = open_silent(env.port()); fd >= 0) fds.push_back(fd);
  ASSERT_EQ(fds.size(), static_cast<std::size_t>(kConns));
  const auto t0 = Clock::now();
  const std::size_t closed = eof_within(fds, seconds(kDeadline.handshake) + slack());
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(closed, fds.size()) << "silent connections still open " << ms_since(t0) << " ms after connecting";
  env.expect_count("hms_handshake_timeouts_total", kConns);
  EXPECT_TRUE(connections_settle(env.hub, "handshaking", 0, slack()));
}

// An HTTP head whose blank line never comes: the handshake deadline covers
// the head too.
HMS_ATTACK(Transport, HttpHeadNeverEnds, {}) {
  auto conns = open_many(env.port(), 20, RawConn::Options{.connect_head = false});
  ASSERT_EQ(conns.size(), 20u);
  for (auto& c : conns) c->send("CONNECT / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: aaaa\r\n");
  const auto t0 = Clock::now();
  EXPECT_EQ(closed_within(conns, seconds(kDeadline.handshake) + slack()), conns.size())
      << "unfinished heads still open after " << ms_since(t0) << " ms";
  env.expect_count("hms_handshake_timeouts_total", 20);
}

// A head sent one byte every 100 ms, for ever: activity does not extend the
// handshake deadline.
HMS_ATTACK(Transport, SlowlorisHead, {}) {
  auto conns = open_many(env.port(), 10, RawConn::Options{.connect_head = false});
  ASSERT_EQ(conns.size(), 10u);
  const std::string head = "CONNECT / HTTP/1.1\r\nX-Long: " + std::string(100000, 'a');
  const auto t0 = Clock::now();
  const auto limit = seconds(kDeadline.handshake) + slack();
  std::size_t at = 0;
  bool all_closed = false;
  while (!all_closed && Clock::now() - t0 < limit) {
    all_closed = true;
    for (auto& c : conns) {
      if (c->closed()) continue;
      c->send_some(std::string_view(head).substr(at, 1));
      c->pump();
      all_closed = all_closed && c->closed();
    }
    ++at;
    std::this_thread::sleep_for(100ms);  // the attack: one byte per 100 ms
  }
  EXPECT_TRUE(all_closed) << "a trickled head kept its connection open for " << ms_since(t0) << " ms";
  env.expect_count("hms_handshake_timeouts_total", 10);
}

// A frame header whose body never comes, before the handshake: closed by
// the handshake deadline.
HMS_ATTACK(Transport, HeaderWithoutBodyBeforeHandshake, {}) {
  auto conns = open_many(env.port(), 20);
  ASSERT_EQ(conns.size(), 20u);
  for (auto& c : conns) c->send(frame_announcing(FrameType::request, 1, 100, "\x00\x00\x00tenbytes"));
  EXPECT_EQ(closed_within(conns, seconds(kDeadline.handshake) + slack()), conns.size());
  env.expect_count("hms_handshake_timeouts_total", 20);
}

// The same after the handshake: the read deadline for a started frame
// closes it (the clients answer pings, so the ping deadline cannot be what
// closed them).
HMS_ATTACK(Transport, HeaderWithoutBodyAfterHandshake, {}) {
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 20; ++i)
    if (auto c = RawConn::client(env.port())) conns.push_back(std::move(c));
  ASSERT_EQ(conns.size(), 20u);
  const double pings_before = env.delta("hms_ping_timeouts_total");
  for (auto& c : conns) c->send(frame_announcing(FrameType::request, 1, 1000, std::string("\x04\x00\x00", 3)));
  const auto t0 = Clock::now();
  EXPECT_EQ(closed_within(conns, seconds(kDeadline.read) + slack()), conns.size())
      << "half-sent frames still open after " << ms_since(t0) << " ms";
  env.expect_count("hms_read_timeouts_total", 20);
  EXPECT_EQ(env.delta("hms_ping_timeouts_total"), pings_before) << "closed by the ping deadline, not the read one";
}

// A frame trickled one byte every 50 ms (10 s for 200 bytes) by a client
// that answers pings: the read deadline ends it.
HMS_ATTACK(Transport, SlowFrameTrickle, {}) {
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 10; ++i)
    if (auto c = RawConn::client(env.port())) conns.push_back(std::move(c));
  ASSERT_EQ(conns.size(), 10u);
  const std::string f = request(2, Opcode::add, "trickle", R"({"start":")" + std::string(160, 'x') + "\"}");
  const auto t0 = Clock::now();
  const auto limit = seconds(kDeadline.read) + slack();
  std::size_t at = 0;
  bool all_closed = false;
  while (!all_closed && Clock::now() - t0 < limit && at < f.size()) {
    all_closed = true;
    for (auto& c : conns) {
      if (c->closed()) continue;
      c->send_some(std::string_view(f).substr(at, 1));
      c->pump();  // answers the hub's pings
      all_closed = all_closed && c->closed();
    }
    ++at;
    std::this_thread::sleep_for(50ms);  // the attack: one byte per 50 ms
  }
  EXPECT_TRUE(all_closed) << "trickled frames kept " << conns.size() << " connections open for " << ms_since(t0)
                          << " ms (" << at << " bytes sent)";
  env.expect_count("hms_read_timeouts_total", 10);
}

// Every byte in its own write (TCP_NODELAY): a slow but honest client is
// served normally, HTTP head included.
HMS_ATTACK(Transport, OneByteWrites, {}) {
  auto c = RawConn::open(env.port(), RawConn::Options{.connect_head = false});
  ASSERT_TRUE(c);
  const std::string all = kConnectHead + client_handshake(1) +
                          request(2, Opcode::add, "onebyte", R"({"start":"x"})") + request(3, Opcode::get, "onebyte") +
                          request(4, Opcode::remove, "onebyte");
  for (char ch : all) ASSERT_TRUE(c->send(std::string_view(&ch, 1)));
  ASSERT_TRUE(c->read_upgrade()) << printable(c->raw());
  // Replies may come in any order (an add is answered once it is on disk);
  // each is matched by its request id.
  std::map<std::uint16_t, RawFrame> got;
  while (got.size() < 4) {
    auto f = c->next();
    if (!f) break;
    if (f->type == FrameType::reply || f->type == FrameType::error) got.emplace(f->rid, *f);
  }
  for (std::uint16_t rid : {1, 2, 4}) {
    ASSERT_TRUE(got.count(rid)) << "no answer to request " << rid;
    EXPECT_EQ(got[rid].type, FrameType::reply) << describe(got[rid]);
  }
  ASSERT_TRUE(got.count(3)) << "no answer to the get";
  EXPECT_NE(got[3].body.find(R"("id":"onebyte")"), std::string::npos) << describe(got[3]);
}

// Adds pipelined, then shutdown(SHUT_WR): every request read before the
// half-close is answered, then the hub closes; all were stored. Four
// clients at once, so that some sit on another shard than the registry.
HMS_ATTACK(Transport, HalfCloseAnswersEverything, {}) {
  constexpr int kClients = 4, kAdds = 100;
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int k = 0; k < kClients; ++k) {
    auto c = RawConn::client(env.port());
    ASSERT_TRUE(c);
    conns.push_back(std::move(c));
  }
  std::vector<std::string> bursts(kClients);
  for (int k = 0; k < kClients; ++k) {
    for (int i = 0; i < kAdds; ++i)
      bursts[k] += request(static_cast<std::uint16_t>(100 + i), Opcode::add,
                           "half-" + std::to_string(k) + "-" + std::to_string(i), R"({"start":"x"})");
    bursts[k] += request(400, Opcode::list, "");
  }
  for (int k = 0; k < kClients; ++k) {
    ASSERT_TRUE(conns[k]->send(bursts[k]));
    conns[k]->shutdown_write();
  }
  for (int k = 0; k < kClients; ++k) {
    RawConn& c = *conns[k];
    int oks = 0;
    std::string list;
    for (;;) {
      auto f = c.next(seconds(5) + slack());
      if (!f) break;
      if (f->rid >= 100 && f->rid < 100 + kAdds && f->type == FrameType::reply) ++oks;
      if (f->rid == 400) list = f->body;
    }
    EXPECT_EQ(oks, kAdds) << "client " << k << ": adds answered before the hub closed";
    const std::string last = "\"id\":\"half-" + std::to_string(k) + "-" + std::to_string(kAdds - 1) + "\"";
    EXPECT_NE(list.find(last), std::string::npos) << "client " << k << ": the list after its adds";
    EXPECT_TRUE(c.closed()) << "client " << k << ": the hub did not close after answering";
  }
  auto check = RawConn::client(env.port());
  ASSERT_TRUE(check);
  auto all = check->call(1, Opcode::list, "");
  ASSERT_TRUE(all);
  int stored = 0;
  for (int k = 0; k < kClients; ++k)
    for (int i = 0; i < kAdds; ++i)
      if (all->body.find("\"id\":\"half-" + std::to_string(k) + "-" + std::to_string(i) + "\"") != std::string::npos)
        ++stored;
  EXPECT_EQ(stored, kClients * kAdds);
  std::string removes;
  for (int k = 0; k < kClients; ++k)
    for (int i = 0; i < kAdds; ++i) removes += request(2, Opcode::remove, "half-" + std::to_string(k) + "-" + std::to_string(i));
  check->send(removes);
  EXPECT_TRUE(check->call(3, Opcode::list, "", {}, 20s));
}

// Clients that subscribe to everything and never read, while a dock floods:
// cut off at the output limit, with nothing queued left behind; the
// reference client (subscribed to its own service) never notices.
HMS_ATTACK(Transport, NeverReadingClients,
           {.config = {.flags = {{"--max-frame-mb", "1"},  // the hub refuses frames its limits cannot deliver
                                 {"--client-hard-limit-mb", "2"},
                                 {"--client-soft-limit-mb", "1"},
                                 {"--client-soft-seconds", "1"}}},
            .shared = false}) {
  std::vector<std::unique_ptr<RawConn>> sinks;
  for (int i = 0; i < 20; ++i) {
    auto c = RawConn::client(env.port(), RawConn::Options{.rcvbuf = 4096});
    ASSERT_TRUE(c);
    auto r = c->call(2, Opcode::subscribe, "*");
    ASSERT_TRUE(r && r->type == FrameType::reply);
    sinks.push_back(std::move(c));
  }
  auto dock = RawConn::dock(env.port(), "flood-dock");
  ASSERT_TRUE(dock);
  const std::string f = message(FrameType::message, 0, Opcode::stdout_, "flood@flood-dock", std::string(65000, 'f'));
  std::string burst;
  for (int i = 0; i < 16; ++i) burst += f;
  const auto t0 = Clock::now();
  // 1 MB per round, until every sink is gone (bounded).
  while (env.delta("hms_slow_client_disconnects_total") < 20 && Clock::now() - t0 < 20s) {
    ASSERT_TRUE(dock->send(burst, 10s));
    dock->next(1ms);
  }
  EXPECT_GE(env.delta("hms_slow_client_disconnects_total"), 20) << "after " << ms_since(t0) << " ms of flooding";
  EXPECT_EQ(closed_within(sinks, slack()), sinks.size());
}

// Connect, handshake, subscribe, leave, 2,000 times: nothing stays behind.
HMS_ATTACK(Transport, ConnectionChurn, {}) {
  int ok = 0;
  for (int i = 0; i < 2000; ++i) {
    auto c = RawConn::client(env.port());
    if (!c) continue;
    if (i % 2 == 0) c->send(request(2, Opcode::subscribe, "*"));
    if (i % 3 == 0) c->send(request(3, Opcode::list, ""));
    ++ok;
  }
  EXPECT_EQ(ok, 2000);
  EXPECT_TRUE(connections_settle(env.hub, "client", 1, slack())) << "the reference client only\n" << env.hub.metrics();
  EXPECT_TRUE(connections_settle(env.hub, "handshaking", 0, slack())) << env.hub.metrics();
}

}  // namespace
}  // namespace hms::attack
