// JSON control messages: the reference vectors, round trips, unknown
// members, escaping and number layout. Malformed input lives in
// control_error_test.cpp.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "hms/control.hpp"
#include "codec/control_helpers.hpp"
#include "support/guarded.hpp"

namespace {

using namespace hms::controltest;
using hms::DockProcesses;
using hms::Handshake;
using hms::JsonError;
using hms::JsonParser;
using hms::PaddedText;
using hms::Service;

// ---- the reference vectors

struct VectorPayload {
  std::string name;
  std::int64_t type = -1;
  std::int64_t opcode = -1;  // -1: a reply (no hms message)
  std::string bytes;
};

std::string from_hex(std::string_view hex) {
  std::string out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
  }
  return out;
}

std::vector<VectorPayload> load_vectors() {
  std::vector<VectorPayload> out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const std::string path = std::string(HMS_TEST_DATA) + "/hms-protocol-1.2.3.json";
  if (auto e = parser.load(path).get(root)) {
    ADD_FAILURE() << "cannot load " << path << ": " << simdjson::error_message(e);
    return out;
  }
  simdjson::dom::array cases;
  if (root["cases"].get(cases)) return out;
  for (auto c : cases) {
    std::string_view name;
    simdjson::dom::array frames;
    if (c["name"].get(name) || c["frames"].get(frames)) continue;
    for (auto f : frames) {
      VectorPayload p;
      p.name = std::string(name);
      if (f["type"].get(p.type)) continue;
      std::int64_t opcode = -1;
      if (!f["opcode"].get(opcode)) p.opcode = opcode;
      std::string_view hex;
      if (f["payloadHex"].get(hex) && f["bodyHex"].get(hex)) continue;
      p.bytes = from_hex(hex);
      out.push_back(std::move(p));
    }
  }
  return out;
}

// Which parser each JSON payload of the vectors goes through.
enum class Kind { none, handshake, service, service_or_null, list, ps, scalar };

Kind kind_of(const VectorPayload& p) {
  if (p.type == 0 || p.type == 1) {
    switch (p.opcode) {
      case 0: return Kind::handshake;
      case 1: case 2: return Kind::service;
      case 9: return Kind::service_or_null;
      case 14: case 15: return Kind::scalar;
      default: return Kind::none;  // no payload, or raw log bytes
    }
  }
  if (p.type == 2 && !p.bytes.empty()) {
    if (p.name == "reply-handshake") return Kind::handshake;
    if (p.name == "reply-get") return Kind::service;
    if (p.name == "reply-list") return Kind::list;
    if (p.name == "reply-ps") return Kind::ps;
  }
  return Kind::none;
}

TEST(ControlVectors, EveryJsonPayloadParsesAndRoundTrips) {
  const auto vectors = load_vectors();
  ASSERT_GE(vectors.size(), 30u);
  int parsed = 0;
  for (const auto& p : vectors) {
    SCOPED_TRACE(p.name);
    switch (kind_of(p)) {
      case Kind::none:
        // Only empty payloads, log bytes and error strings are not JSON.
        if (p.type == 2) {
          EXPECT_TRUE(p.bytes.empty());
        }
        continue;
      case Kind::handshake: {
        auto r = handshake(p.bytes);
        ASSERT_TRUE(r) << describe(r);
        auto again = handshake(hms::to_json(*r.value));
        ASSERT_TRUE(again) << hms::to_json(*r.value);
        EXPECT_EQ(*again.value, *r.value);
        break;
      }
      case Kind::service: {
        auto r = service(p.bytes);
        ASSERT_TRUE(r) << describe(r);
        // The reference's own bytes come back byte for byte.
        EXPECT_EQ(hms::to_json(*r.value), p.bytes);
        break;
      }
      case Kind::service_or_null: {
        auto r = service_or_null(p.bytes);
        ASSERT_TRUE(r) << describe(r);
        if (*r.value) {
          EXPECT_EQ(hms::to_json(**r.value), p.bytes);
        } else {
          EXPECT_EQ(p.bytes, "null");
        }
        break;
      }
      case Kind::list: {
        auto r = service_list(p.bytes);
        ASSERT_TRUE(r) << describe(r);
        EXPECT_EQ(hms::to_json(*r.value), p.bytes);
        break;
      }
      case Kind::ps: {
        auto r = ps(p.bytes);
        ASSERT_TRUE(r) << describe(r);
        EXPECT_EQ(hms::to_json(*r.value), p.bytes);
        break;
      }
      case Kind::scalar: {
        auto r = scalar(p.bytes);
        ASSERT_TRUE(r) << describe(r);
        EXPECT_EQ(*r.value, p.bytes);
        break;
      }
    }
    ++parsed;
  }
  // handshake, add, update, sync, sync-null, spawn, exit x2, 4 replies.
  EXPECT_EQ(parsed, 12);
}

TEST(ControlVectors, DockHandshakeFields) {
  const auto r = handshake(
      R"({"type":"dock","id":"dock-1","hostname":"host-a","tags":["web","eu"],)"
      R"("default":false,"version":"3.3.0","protocol":1})");
  ASSERT_TRUE(r) << describe(r);
  const Handshake& h = *r.value;
  EXPECT_EQ(h.protocol, 1.0);
  EXPECT_EQ(h.type, "dock");
  EXPECT_EQ(h.id, "dock-1");
  EXPECT_EQ(h.hostname, "host-a");
  EXPECT_EQ(h.tags, (std::vector<std::string>{"web", "eu"}));
  EXPECT_FALSE(h.is_default);
  EXPECT_EQ(h.version, "3.3.0");
  EXPECT_FALSE(h.route);
  EXPECT_TRUE(h.extra.empty());
  // default:false is not written (it reads back the same); the rest keeps
  // the reference's order with protocol last.
  EXPECT_EQ(hms::to_json(h),
            R"({"type":"dock","id":"dock-1","hostname":"host-a","tags":["web","eu"],)"
            R"("version":"3.3.0","protocol":1})");
}

TEST(ControlVectors, HubReplyAndClientHandshake) {
  auto reply = handshake(R"({"type":"terminal","version":"3.3.0"})");
  ASSERT_TRUE(reply);
  EXPECT_FALSE(reply.value->protocol);
  EXPECT_EQ(hms::to_json(*reply.value), R"({"type":"terminal","version":"3.3.0"})");

  auto client = handshake(R"({"type":"client","route":"eu","default":true,"protocol":1})");
  ASSERT_TRUE(client);
  EXPECT_EQ(client.value->route, "eu");
  EXPECT_TRUE(client.value->is_default);
  EXPECT_EQ(hms::to_json(*client.value), R"({"type":"client","default":true,"route":"eu","protocol":1})");
}

TEST(ControlVectors, ServiceFields) {
  auto r = service(R"({"start":"node .","build":"npm install","docks":["dock-1"],"env":{"FOO":"bar"}})");
  ASSERT_TRUE(r);
  const Service& s = *r.value;
  EXPECT_EQ(s.id, "");
  EXPECT_EQ(s.start, "node .");
  EXPECT_EQ(s.build, "npm install");
  EXPECT_EQ(s.docks, (std::vector<std::string>{"dock-1"}));
  EXPECT_FALSE(s.tags);
  EXPECT_FALSE(s.limit);
  ASSERT_TRUE(s.env);
  EXPECT_EQ(s.env->size(), 1u);
  EXPECT_EQ((*s.env)[0], (std::pair<std::string, std::string>{"FOO", "bar"}));
}

TEST(ControlVectors, PsKeepsProcessesVerbatim) {
  auto r = ps(R"([{"id":"dock-1","hostname":"host-a","tags":["web"],"list":[{"id":"web","pid":900,)"
              R"("status":"running","started":"2026-11-24T00:00:00.000Z"}]}])");
  ASSERT_TRUE(r);
  ASSERT_EQ(r.value->size(), 1u);
  const DockProcesses& d = (*r.value)[0];
  EXPECT_EQ(d.id, "dock-1");
  EXPECT_EQ(d.hostname, "host-a");
  EXPECT_EQ(d.tags, std::vector<std::string>{"web"});
  ASSERT_EQ(d.list.size(), 1u);
  EXPECT_EQ(d.list[0],
            R"({"id":"web","pid":900,"status":"running","started":"2026-11-24T00:00:00.000Z"})");
}

// ---- services

TEST(ControlService, EveryFieldRoundTripsInReferenceOrder) {
  // Members deliberately out of order: to_json writes the stored order.
  const std::string in =
      R"({"stopped":true,"cwd":"builds/web@2026","deployed":"2026-11-24T00:00:00.000Z",)"
      R"("env":{"A":"1","B":"two"},"revision":"abc123","tags":["eu","web"],"docks":["d1","d2"],)"
      R"("limit":2,"build":"make","start":"node server.js","id":"web","x-extra":{"k":[1,2]}})";
  auto r = service(in);
  ASSERT_TRUE(r) << describe(r);
  const std::string out = hms::to_json(*r.value);
  EXPECT_EQ(out,
            R"({"id":"web","start":"node server.js","build":"make","limit":2,"docks":["d1","d2"],)"
            R"("tags":["eu","web"],"revision":"abc123","env":{"A":"1","B":"two"},)"
            R"("deployed":"2026-11-24T00:00:00.000Z","cwd":"builds/web@2026","stopped":true,)"
            R"("x-extra":{"k":[1,2]}})");
  auto again = service(out);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again.value, *r.value);
}

TEST(ControlService, OnlyPresentFieldsAreWritten) {
  EXPECT_EQ(hms::to_json(Service{}), "{}");
  Service s;
  s.id = "a";
  s.stopped = false;
  s.docks.emplace();
  EXPECT_EQ(hms::to_json(s), R"({"id":"a","docks":[],"stopped":false})");
}

TEST(ControlService, UnknownMembersAreKept) {
  const std::string in =
      "{ \"id\" : \"web\" , \"a\" : { \"x\" : [ 1 , 2.50 , -0 , 1e400 , true , false , null ] } ,"
      " \"b\\u0041\" : \"q\\\"\\u00e9\\n\" , \"c\":[], \"d\":{}, \"e\":123456789012345678901234567890 }";
  auto r = service(in);
  ASSERT_TRUE(r) << describe(r);
  const auto& extra = r.value->extra;
  ASSERT_EQ(extra.size(), 5u);
  // Whitespace goes, every scalar token stays as it was written.
  EXPECT_EQ(extra[0], (hms::RawMember{"a", R"({"x":[1,2.50,-0,1e400,true,false,null]})"}));
  // The raw key keeps its escape; it is not a known member.
  EXPECT_EQ(extra[1], (hms::RawMember{R"(b\u0041)", R"("q\"\u00e9\n")"}));
  EXPECT_EQ(extra[2], (hms::RawMember{"c", "[]"}));
  EXPECT_EQ(extra[3], (hms::RawMember{"d", "{}"}));
  EXPECT_EQ(extra[4], (hms::RawMember{"e", "123456789012345678901234567890"}));
  const std::string out = hms::to_json(*r.value);
  EXPECT_EQ(out,
            R"({"id":"web","a":{"x":[1,2.50,-0,1e400,true,false,null]},"b\u0041":"q\"\u00e9\n",)"
            R"("c":[],"d":{},"e":123456789012345678901234567890})");
  auto again = service(out);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again.value, *r.value);
}

TEST(ControlService, EscapedKeysMatchKnownMembers) {
  auto r = service(R"({"st\u0061rt":"a","\u0069d":"x\/y"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value->start, "a");
  EXPECT_EQ(r.value->id, "x/y");
  EXPECT_TRUE(r.value->extra.empty());
}

TEST(ControlService, UnicodeEscapesDecodeToUtf8) {
  // Known members are unescaped (a surrogate pair becomes one 4-byte
  // sequence) and written back as raw utf-8, as JSON.stringify does.
  auto r = service(R"({"start":"\u00e9\u20ac\ud83d\ude00\u0041\u0000\u001f\u007f"})");
  ASSERT_TRUE(r) << describe(r);
  EXPECT_EQ(*r.value->start, std::string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                                         "A\0\x1f\x7f", 13));
  EXPECT_EQ(hms::to_json(*r.value),
            "{\"start\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "A\\u0000\\u001f\x7f\"}");
}

TEST(ControlService, DuplicateKeysLastValueFirstPosition) {
  auto r = service(R"({"x":1,"start":"a","y":2,"x":3,"start":"b","env":{"K":"1","L":"2","K":"3"}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value->start, "b");
  EXPECT_EQ(r.value->extra,
            (std::vector<hms::RawMember>{{"x", "3"}, {"y", "2"}}));
  ASSERT_TRUE(r.value->env);
  EXPECT_EQ(*r.value->env,
            (std::vector<std::pair<std::string, std::string>>{{"K", "3"}, {"L", "2"}}));
}

TEST(ControlService, ManyDuplicateKeysStayLinear) {
  // Beyond the small-list scan: the hash path. 3000 keys, each twice.
  std::string in = "{";
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3000; ++i) {
      in += "\"k" + std::to_string(i) + "\":" + std::to_string(round * 10000 + i) + ",";
    }
  }
  in += "\"env\":{";
  for (int i = 0; i < 40; ++i) in += "\"E" + std::to_string(i % 20) + "\":\"" + std::to_string(i) + "\",";
  in.back() = '}';
  in += "}";
  auto r = service(in);
  ASSERT_TRUE(r) << describe(r);
  ASSERT_EQ(r.value->extra.size(), 3000u);
  EXPECT_EQ(r.value->extra[0], (hms::RawMember{"k0", "10000"}));
  EXPECT_EQ(r.value->extra[2999], (hms::RawMember{"k2999", "12999"}));
  ASSERT_EQ(r.value->env->size(), 20u);
  EXPECT_EQ((*r.value->env)[5], (std::pair<std::string, std::string>{"E5", "25"}));
}

TEST(ControlService, DocksAndTagsMayBeOneString) {
  auto r = service(R"({"docks":"dock-1","tags":""})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value->docks, std::vector<std::string>{"dock-1"});
  EXPECT_EQ(r.value->tags, std::vector<std::string>{""});
  EXPECT_EQ(hms::to_json(*r.value), R"({"docks":["dock-1"],"tags":[""]})");
}

TEST(ControlService, NullMeansAbsent) {
  auto r = service(R"({"id":null,"start":null,"docks":null,"limit":null,"env":null,"stopped":null})");
  ASSERT_TRUE(r) << describe(r);
  EXPECT_EQ(*r.value, Service{});
  // The last member wins, null included.
  auto later = service(R"({"start":"a","start":null,"limit":3,"limit":null})");
  ASSERT_TRUE(later);
  EXPECT_FALSE(later.value->start);
  EXPECT_FALSE(later.value->limit);
  EXPECT_FALSE(later.value->limit_raw);
}

TEST(ControlService, LimitOnlyCountsWhenANumber) {
  struct Case {
    const char* in;
    std::optional<double> limit;
    std::optional<std::string> raw;
    const char* out;
  };
  const Case cases[] = {
      {R"({"limit":3})", 3.0, std::nullopt, R"({"limit":3})"},
      {R"({"limit":2.5})", 2.5, std::nullopt, R"({"limit":2.5})"},
      {R"({"limit":1E1})", 10.0, std::nullopt, R"({"limit":10})"},
      {R"({"limit":"2"})", std::nullopt, R"("2")", R"({"limit":"2"})"},
      {R"({"limit":true})", std::nullopt, "true", R"({"limit":true})"},
      {R"({"limit":{ "n" : 1 }})", std::nullopt, R"({"n":1})", R"({"limit":{"n":1}})"},
      {R"({"limit":[1]})", std::nullopt, "[1]", R"({"limit":[1]})"},
      // Valid JSON, but no finite double: kept as text, not a limit.
      {R"({"limit":1e400})", std::nullopt, "1e400", R"({"limit":1e400})"},
      // A number again after a non-number: the last wins.
      {R"({"limit":"x","limit":4})", 4.0, std::nullopt, R"({"limit":4})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto r = service(c.in);
    ASSERT_TRUE(r) << describe(r);
    EXPECT_EQ(r.value->limit, c.limit);
    EXPECT_EQ(r.value->limit_raw, c.raw);
    EXPECT_EQ(hms::to_json(*r.value), c.out);
  }
}

TEST(ControlService, EnvNonStringValuesBecomeTheirJsonText) {
  auto r = service(R"({"env":{"N":5,"B":true,"Z":null,"O":{ "a" : 1 },"S":"x\ty","E":"\u00e9"}})");
  ASSERT_TRUE(r) << describe(r);
  EXPECT_EQ(*r.value->env, (std::vector<std::pair<std::string, std::string>>{
                               {"N", "5"}, {"B", "true"}, {"Z", "null"},
                               {"O", R"({"a":1})"}, {"S", "x\ty"}, {"E", "\xc3\xa9"}}));
  const std::string out = hms::to_json(*r.value);
  EXPECT_EQ(out,
            R"({"env":{"N":"5","B":"true","Z":"null","O":"{\"a\":1}","S":"x\ty","E":"é"}})");
  // A fixed point from here on.
  auto again = service(out);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again.value, *r.value);
}

TEST(ControlService, EnvKeysAreUnescapedAndReescaped) {
  auto r = service(R"({"env":{"A\"B":"1","\u0043":"2"}})");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r.value->env)[0].first, "A\"B");
  EXPECT_EQ((*r.value->env)[1].first, "C");
  EXPECT_EQ(hms::to_json(*r.value), R"({"env":{"A\"B":"1","C":"2"}})");
}

TEST(ControlService, SyncNull) {
  for (const char* in : {"null", " null", "null\n", "\t null \r\n"}) {
    auto r = service_or_null(in);
    ASSERT_TRUE(r) << in << ": " << describe(r);
    EXPECT_FALSE(*r.value);
  }
  auto s = service_or_null(R"({"id":"web"})");
  ASSERT_TRUE(s);
  ASSERT_TRUE(*s.value);
  EXPECT_EQ((*s.value)->id, "web");
}

TEST(ControlService, ListRoundTrip) {
  std::vector<Service> list(3);
  list[0].id = "a";
  list[1].id = "b";
  list[1].limit = 1;
  list[1].tags = std::vector<std::string>{"x"};
  list[2].id = "c";
  list[2].extra.push_back({"meta", R"({"v":[1,"2"]})"});
  const std::string json = hms::to_json(list);
  EXPECT_EQ(json, R"([{"id":"a"},{"id":"b","limit":1,"tags":["x"]},{"id":"c","meta":{"v":[1,"2"]}}])");
  auto r = service_list(json);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r.value, list);
  auto empty = service_list(" [ ] ");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty.value->empty());
  EXPECT_EQ(hms::to_json(std::vector<Service>{}), "[]");
}

TEST(ControlPs, DefaultsAndRoundTrip) {
  auto r = ps(R"([{"id":"d1","list":[]},{"id":"d2","tags":"eu","list":[1,"x",{"a" : null}],"up":3}])");
  ASSERT_TRUE(r) << describe(r);
  ASSERT_EQ(r.value->size(), 2u);
  EXPECT_EQ((*r.value)[0].hostname, "");
  EXPECT_EQ((*r.value)[1].tags, std::vector<std::string>{"eu"});
  EXPECT_EQ((*r.value)[1].list, (std::vector<std::string>{"1", R"("x")", R"({"a":null})"}));
  const std::string out = hms::to_json(*r.value);
  EXPECT_EQ(out, R"([{"id":"d1","hostname":"","tags":[],"list":[]},)"
                 R"({"id":"d2","hostname":"","tags":["eu"],"list":[1,"x",{"a":null}],"up":3}])");
  auto again = ps(out);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again.value, *r.value);
}

// ---- handshake

TEST(ControlHandshake, UnknownMembersAndProtocolKinds) {
  auto r = handshake(R"({"protocol":"1","type":"dock","x":[{}],"tags":"solo"})");
  ASSERT_TRUE(r) << describe(r);
  EXPECT_FALSE(r.value->protocol);  // a string is not protocol 1
  EXPECT_EQ(r.value->tags, std::vector<std::string>{"solo"});
  EXPECT_EQ(r.value->extra,
            (std::vector<hms::RawMember>{{"x", "[{}]"}, {"protocol", R"("1")"}}));
  const std::string out = hms::to_json(*r.value);
  EXPECT_EQ(out, R"({"type":"dock","tags":["solo"],"x":[{}],"protocol":"1"})");
  auto again = handshake(out);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again.value, *r.value);

  auto two = handshake(R"({"protocol":2.0})");
  ASSERT_TRUE(two);
  EXPECT_EQ(two.value->protocol, 2.0);
  auto later = handshake(R"({"protocol":"x","protocol":1})");
  ASSERT_TRUE(later);
  EXPECT_EQ(later.value->protocol, 1.0);
  EXPECT_TRUE(later.value->extra.empty());
  auto nulled = handshake(R"({"protocol":1,"protocol":null,"default":null,"tags":null})");
  ASSERT_TRUE(nulled);
  EXPECT_EQ(*nulled.value, Handshake{});
}

// ---- scalars (spawn pid, exit code or signal)

TEST(ControlScalar, NumbersAndStringsVerbatim) {
  const std::pair<const char*, const char*> cases[] = {
      {"900", "900"},         {" -1 ", "-1"},      {"1.5e3", "1.5e3"},
      {"\"SIGTERM\"", "\"SIGTERM\""}, {"\n\"a\\u0062\" ", "\"a\\u0062\""},
      {"0", "0"},             {"1e400", "1e400"},
  };
  for (const auto& [in, want] : cases) {
    auto r = scalar(in);
    ASSERT_TRUE(r) << in << ": " << describe(r);
    EXPECT_EQ(*r.value, want);
  }
}

}  // namespace
