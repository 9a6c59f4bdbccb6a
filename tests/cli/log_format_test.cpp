// apps/cli/log_format: log lines as the reference's lib/log-stream.js
// prints them (tests/cli/data/log_lines.json), and the flags it ignored.
#include "log_format.hpp"

#include <gtest/gtest.h>

#include "data_file.hpp"

namespace hms::cli {
namespace {

std::string base64_decode(const std::string& in) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    const auto pos = chars.find(c);
    if (pos == std::string::npos) break;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

std::string replay(const JsValue& events, LogStyle style) {
  LogFormatter f(style);
  OutBuf out;
  for (const JsValue& e : events.items()) {
    const std::string type = e.items()[0].as_string();
    const std::string svc = e.items()[1].as_string(), origin = e.items()[2].as_string();
    const std::string id = svc + "@" + origin;
    const std::string payload = e.items()[3].as_string();
    if (type == "spawn") f.spawn(id, svc, origin, payload, out);
    else if (type == "exit") f.exit(id, svc, origin, payload, out);
    else f.output(id, svc, origin, base64_decode(payload), out);
  }
  return std::string(out.view());
}

TEST(LogFormat, AsTheReferencePrintsIt) {
  const JsValue data = data_file("log_lines.json");
  EXPECT_EQ(replay(*data.get("events"), LogStyle{false, true, true, true}), data.get("plain")->as_string());
  EXPECT_EQ(replay(*data.get("events"), LogStyle{true, true, true, true}), data.get("color")->as_string());
}

TEST(LogFormat, FlagsWork) {
  LogFormatter f(LogStyle{false, false, true, true});
  OutBuf out;
  f.output("web@dock-a", "web", "dock-a", "x\n", out);
  f.spawn("web@dock-a", "web", "dock-a", "7", out);
  EXPECT_EQ(out.view(), "dock-a x\ndock-a Process spawned with pid 7\n");

  LogFormatter g(LogStyle{false, true, false, false});
  OutBuf out2;
  g.output("web@dock-a", "web", "dock-a", "x\n", out2);
  g.spawn("web@dock-a", "web", "dock-a", "7", out2);
  g.exit("web@dock-a", "web", "dock-a", "0", out2);
  EXPECT_EQ(out2.view(), "web x\n");

  LogFormatter h(LogStyle{true, false, false, true});
  OutBuf out3;
  h.output("web@dock-a", "web", "dock-a", "bare\n", out3);
  EXPECT_EQ(out3.view(), "bare\n");
}

TEST(LogFormat, OddPayloads) {
  LogFormatter f(LogStyle{false, true, true, true});
  OutBuf out;
  f.spawn("a@b", "a", "b", "", out);             // not JSON: shown as is
  f.exit("a@b", "a", "b", "{\"x\":1}", out);     // an object, as JS shows it
  f.exit("a@b", "a", "b", "[1,2]", out);
  // The text is trimmed like any chunk: no space is left after "pid".
  EXPECT_EQ(out.view(), "a b Process spawned with pid\na b Process exited with code [object Object]\n"
                        "a b Process exited with code 1,2\n");
}

TEST(LogFormat, ManyIdsStayBounded) {
  LogFormatter f(LogStyle{false, true, true, true});
  OutBuf out;
  for (int i = 0; i < 10000; ++i) {
    std::string s = "s";  // (built in steps: GCC 12 -O3 warns falsely on "s" + ...)
    s += std::to_string(i);
    f.output(s + "@o", s, "o", "x", out);
    out.clear();
  }
  f.output("s1@o", "s1", "o", "y", out);
  EXPECT_EQ(out.view(), "s1    o y\n");  // the width stays at the longest seen ("s9999") + 1
}

}  // namespace
}  // namespace hms::cli
