// apps/cli/service_fields: --env parsing as lib/updateable.js, merging, and
// the editor flow.
#include "service_fields.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace hms::cli {
namespace {

std::string env_text(const JsValue& env) { return env.stringify(); }

TEST(Env, ParsesAsTheReference) {
  EXPECT_EQ(env_text(parse_env("GREETING=hi there")), R"({"GREETING":"hi there"})");
  EXPECT_EQ(env_text(parse_env("A=1,B=2;C=3\nD=4")), R"({"A":"1","B":"2","C":"3","D":"4"})");
  EXPECT_EQ(env_text(parse_env(R"(GREETING="hello world")")), R"({"GREETING":"hello world"})");
  EXPECT_EQ(env_text(parse_env("Q='x\"")), R"({"Q":"x"})");          // one quote off each end
  EXPECT_EQ(env_text(parse_env(" K = v = w ")), R"({"K":"v = w"})");  // first '=' splits
  EXPECT_EQ(env_text(parse_env("#A=1,noeq, B=2")), R"({"B":"2"})");
  // An empty value deletes: undefined, left out of the JSON.
  const JsValue del = parse_env("FOO=");
  ASSERT_TRUE(del.get("FOO"));
  EXPECT_TRUE(del.get("FOO")->is_undefined());
  EXPECT_EQ(env_text(del), "{}");
  EXPECT_EQ(env_text(parse_env("")), "{}");
  EXPECT_EQ(env_text(parse_env(";;,")), "{}");
}

TEST(Env, MergesOverTheCurrentEnv) {
  JsValue cur = parse_env("A=1,GREETING=hi");
  EXPECT_EQ(env_text(merge_objects(cur, parse_env("GREETING=,B=2"))), R"({"A":"1","B":"2"})");
  EXPECT_EQ(stringify_env(parse_env("A=1,B=x y")), "A=1\nB=x y\n");
}

TEST(Editor, RunsTheUsersEditorOnTheText) {
  // An "editor" that appends a line.
  char tmpl[] = "/tmp/hms-cli-editor-XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  const std::string script = "#!/bin/sh\necho edited >> \"$1\"\n";
  ASSERT_EQ(write(fd, script.data(), script.size()), static_cast<ssize_t>(script.size()));
  close(fd);
  chmod(tmpl, 0755);
  setenv("VISUAL", tmpl, 1);
  auto r = edit_text("old\n", "web-start.sh");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r.value(), "old\nedited\n");
  setenv("VISUAL", "false", 1);
  auto bad = edit_text("x", "web-env");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "non-zero exit code (1)");
  unsetenv("VISUAL");
  unlink(tmpl);
}

}  // namespace
}  // namespace hms::cli
