// Interop: large and pipelined traffic, request-id reuse as the reference
// does it, and connections that end while requests wait.
#include "interop/interop_fixture.hpp"

namespace hms::interop_test {
namespace {

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
}  // namespace hms::interop_test
