// apps/cli/remote: addresses as lib/parse-remote.js reads them, and the
// ~/.hms.json file as lib/remotes.js writes it.
#include "remote.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hms::cli {
namespace {

TEST(Remote, Addresses) {
  auto r = parse_remote("127.0.0.1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->host, "127.0.0.1");
  EXPECT_EQ(r->port, 10002);
  EXPECT_FALSE(r->ssh);
  EXPECT_EQ(parse_remote("127.0.0.1", 22020)->port, 22020);  // --port when the address has none
  EXPECT_EQ(parse_remote("host:9000", 22020)->port, 9000);
  r = parse_remote("host:22+9000");
  EXPECT_EQ(r->port, 9000);
  EXPECT_FALSE(r->ssh);  // the ssh port means nothing without user@
  r = parse_remote("deploy@example.com");
  ASSERT_TRUE(r->ssh);
  EXPECT_EQ(r->ssh->user, "deploy");
  EXPECT_EQ(r->ssh->host, "example.com");
  EXPECT_EQ(r->ssh->port, 22);
  EXPECT_EQ(r->host, "127.0.0.1");
  EXPECT_EQ(r->port, 10002);
  r = parse_remote("u@h:2222+9000");
  EXPECT_EQ(r->ssh->port, 2222);
  EXPECT_EQ(r->port, 9000);
  r = parse_remote("u@h:9000");
  EXPECT_EQ(r->ssh->port, 22);
  EXPECT_EQ(r->port, 9000);
  r = parse_remote("[::1]:9000");
  EXPECT_EQ(r->host, "::1");
  EXPECT_EQ(r->authority(), "[::1]:9000");
  EXPECT_EQ(parse_remote("a@b@c")->ssh->host, "b@c");
}

TEST(Remote, BadAddressesAreErrors) {
  for (const char* bad : {"http://x", "host:", "host:abc", ":9000", "@host", "host:1+", "host:99999", "host:0",
                          "[::1", "[]:1", "[::1]x"}) {
    EXPECT_FALSE(parse_remote(bad)) << bad;
  }
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hms-cli-config-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/.hms.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string read() {
    std::ifstream in(path_);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void write(const std::string& s) { std::ofstream(path_) << s; }
  std::string dir_, path_;
};

TEST_F(ConfigTest, WritesAsTheReference) {
  Config c = Config::load_from(path_);  // no file: empty
  EXPECT_TRUE(c.warning().empty());
  JsValue e = JsValue::object();
  e.set("url", JsValue::string("127.0.0.1:22002"));
  c.put("demo", e);
  ASSERT_TRUE(c.save());
  EXPECT_EQ(read(), "{\n  \"demo\": {\n    \"url\": \"127.0.0.1:22002\"\n  }\n}\n");
  Config again = Config::load_from(path_);
  again.drop_ids_cache("demo");  // what add/remove commands do
  ASSERT_TRUE(again.save());
  EXPECT_EQ(read(), "{\n  \"demo\": {\n    \"url\": \"127.0.0.1:22002\",\n    \"cache\": {}\n  }\n}\n");
  again.erase("demo");
  ASSERT_TRUE(again.save());
  EXPECT_EQ(read(), "{}\n");
}

TEST_F(ConfigTest, ResolvesNamesAndOverrides) {
  write(R"({"demo":{"url":"u@h:2222+9000","key":"/k","passphrase":"p"},"bad":{"url":5},"empty":null})");
  Config c = Config::load_from(path_);
  auto r = resolve_remote(c, "demo", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ssh->port, 2222);
  EXPECT_EQ(r->key.value(), "/k");
  RemoteOverrides o;
  o.key = "/other";
  EXPECT_EQ(resolve_remote(c, "demo", o)->key.value(), "/other");
  EXPECT_FALSE(resolve_remote(c, "bad", {}));  // an entry without a usable url
  EXPECT_EQ(resolve_remote(c, "empty", {})->host, "empty");  // null: not configured, an address
  EXPECT_EQ(resolve_remote(c, "10.0.0.1:1", {})->host, "10.0.0.1");
}

TEST_F(ConfigTest, BrokenFileIsReadAsEmptyAndNeverOverwritten) {
  write("{ not json");
  Config c = Config::load_from(path_);
  EXPECT_NE(c.warning().find("not a JSON object"), std::string::npos);
  EXPECT_TRUE(c.all().members().empty());
  c.put("x", JsValue::object());
  EXPECT_FALSE(c.save());
  EXPECT_EQ(read(), "{ not json");
  write("[1,2]");
  EXPECT_FALSE(Config::load_from(path_).warning().empty());
}

TEST_F(ConfigTest, SymlinkedFileIsWrittenAtItsTarget) {
  const std::string target = dir_ + "/real.json";
  std::ofstream(target) << "{}";
  ASSERT_EQ(symlink(target.c_str(), path_.c_str()), 0);
  Config c = Config::load_from(path_);
  c.put("a", JsValue::object());
  ASSERT_TRUE(c.save());
  EXPECT_TRUE(std::filesystem::is_symlink(path_));
  std::ifstream in(target);
  std::ostringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "{\n  \"a\": {}\n}\n");
}

}  // namespace
}  // namespace hms::cli
