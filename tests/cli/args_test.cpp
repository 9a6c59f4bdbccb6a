// apps/cli/args: the reference's command lines parse to what it meant.
#include "args.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "service_fields.hpp"

namespace hms::cli {
namespace {

Parsed parse(std::vector<std::string> words) {
  std::vector<char*> argv;
  static std::string name = "hms";
  argv.push_back(name.data());
  for (auto& w : words) argv.push_back(w.data());
  return parse_args(static_cast<int>(argv.size()), argv.data());
}

TEST(Args, RootHelpAndVersion) {
  EXPECT_EQ(parse({}).action, Parsed::Action::help);
  EXPECT_EQ(parse({"--help"}).action, Parsed::Action::help);
  EXPECT_EQ(parse({"frob"}).action, Parsed::Action::help);
  EXPECT_EQ(parse({"--version"}).action, Parsed::Action::version);
  EXPECT_EQ(parse({"-v"}).action, Parsed::Action::version);
  const Parsed h = parse({"add", "--help"});
  EXPECT_EQ(h.action, Parsed::Action::printed);
  EXPECT_NE(h.output.find("--start"), std::string::npos);
  EXPECT_EQ(h.output.find('\x01'), std::string::npos);  // the editor marker stays hidden
}

TEST(Args, AddAsTyped) {
  const Parsed p = parse({"add", "local", "web", "--start", "node app.js", "-b", "sh build.sh", "--tag", "web", "-t",
                          "1", "--limit", "2", "--env", "A=1", "-e", "B=2", "--color"});
  ASSERT_EQ(p.action, Parsed::Action::run) << p.error;
  const Args& a = p.args;
  EXPECT_EQ(a.command, "add");
  EXPECT_EQ(a.pos, (std::vector<std::string>{"local", "web"}));
  EXPECT_EQ(a.start.value(), "node app.js");
  EXPECT_EQ(a.build.value(), "sh build.sh");
  EXPECT_EQ(a.tags, (std::vector<std::string>{"web", "1"}));  // "1" stays text
  EXPECT_EQ(a.limit.value(), "2");
  EXPECT_EQ(a.env, (std::vector<std::string>{"A=1", "B=2"}));
}

TEST(Args, OptionsAnywhereAndEqualsForm) {
  const Parsed p = parse({"update", "--tag=x", "local", "--untag", "y", "web", "--restart", "--no-log"});
  ASSERT_EQ(p.action, Parsed::Action::run) << p.error;
  EXPECT_EQ(p.args.pos, (std::vector<std::string>{"local", "web"}));
  EXPECT_EQ(p.args.tags, std::vector<std::string>{"x"});
  EXPECT_EQ(p.args.untags, std::vector<std::string>{"y"});
  EXPECT_TRUE(p.args.restart);
  EXPECT_TRUE(p.args.no_log);
}

TEST(Args, FlagsWithoutValueAskTheEditor) {
  Parsed p = parse({"update", "local", "web", "--start", "--env"});
  ASSERT_EQ(p.action, Parsed::Action::run) << p.error;
  EXPECT_EQ(p.args.start.value(), kAskEditor);
  EXPECT_TRUE(p.args.env_editor);
  EXPECT_TRUE(p.args.env.empty());
  p = parse({"update", "local", "web", "--start", ""});
  EXPECT_EQ(p.args.start.value(), "");  // an empty value is not the editor
}

TEST(Args, PerCommandShortFlags) {
  EXPECT_TRUE(parse({"ps", "local", "-e"}).args.ps_env);
  EXPECT_EQ(parse({"tarball", "local", "web", "-o", "x.tgz"}).args.out.value(), "x.tgz");
  EXPECT_EQ(parse({"deploy", "local", "web", "-r", "123"}).args.revision.value(), "123");
  EXPECT_EQ(parse({"list", "127.0.0.1", "-p", "22020"}).args.port.value(), 22020);
  EXPECT_EQ(parse({"list", "local", "-k", "/key"}).args.key.value(), "/key");
  const Parsed d = parse({"dock", "127.0.0.1:10002", "-i", "dock-a", "-p", "10003", "--default"});
  EXPECT_EQ(d.args.id.value(), "dock-a");
  EXPECT_EQ(d.args.serve_port.value(), 10003);
  EXPECT_TRUE(d.args.is_default);
}

TEST(Args, MistakesAreErrors) {
  Parsed p = parse({"start", "local", "web", "--nolog"});
  EXPECT_EQ(p.action, Parsed::Action::error);
  EXPECT_EQ(p.error, "The following argument was not expected: --nolog");
  EXPECT_EQ(parse({"list", "local", "--port", "x"}).action, Parsed::Action::error);
  EXPECT_EQ(parse({"list", "local", "--timeout", "0"}).action, Parsed::Action::error);
}

}  // namespace
}  // namespace hms::cli
