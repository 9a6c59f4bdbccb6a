// apps/cli/ignore: which files a deploy leaves out (gitignore rules).
#include "ignore.hpp"

#include <gtest/gtest.h>

namespace hms::cli {
namespace {

TEST(Glob, Patterns) {
  EXPECT_TRUE(glob_match("*.log", "debug.log"));
  EXPECT_FALSE(glob_match("*.log", "a/debug.log"));  // * stops at /
  EXPECT_TRUE(glob_match("?b", "ab"));
  EXPECT_FALSE(glob_match("?b", "/b"));
  EXPECT_TRUE(glob_match("[Bb]in", "bin"));
  EXPECT_TRUE(glob_match("[!a-c]x", "dx"));
  EXPECT_FALSE(glob_match("[!a-c]x", "bx"));
  EXPECT_TRUE(glob_match("**/x", "x"));
  EXPECT_TRUE(glob_match("**/x", "a/b/x"));
  EXPECT_TRUE(glob_match("a/**", "a/b/c"));
  EXPECT_TRUE(glob_match("a/**/b", "a/b"));
  EXPECT_TRUE(glob_match("a/**/b", "a/x/y/b"));
  EXPECT_FALSE(glob_match("a/**/b", "ab"));
  EXPECT_TRUE(glob_match("\\*x", "*x"));
  EXPECT_FALSE(glob_match("\\*x", "ax"));
  EXPECT_TRUE(glob_match("[unclosed", "[unclosed"));
}

TEST(Ignore, FixedOnes) {
  const IgnoreRules r = IgnoreRules::from_text("");
  EXPECT_TRUE(r.ignored(".git", true));
  EXPECT_TRUE(r.ignored("sub/.hg", true));
  EXPECT_TRUE(r.ignored(".main.cpp.swp", false));
  EXPECT_FALSE(r.ignored("main.cpp", false));
  EXPECT_FALSE(IgnoreRules::none().ignored(".git", true));
}

TEST(Ignore, GitignoreSemantics) {
  const IgnoreRules r = IgnoreRules::from_text(
      "# comment\n"
      "\n"
      "node_modules/\n"
      "/build\n"
      "*.log\n"
      "!keep.log\n"
      "docs/*.md\n"
      "trailing   \n"
      "\\#hash\n");
  EXPECT_TRUE(r.ignored("node_modules", true));
  EXPECT_TRUE(r.ignored("lib/node_modules", true));
  EXPECT_FALSE(r.ignored("node_modules", false));  // dir-only
  EXPECT_TRUE(r.ignored("build", true));
  EXPECT_FALSE(r.ignored("src/build", true));  // anchored at the root
  EXPECT_TRUE(r.ignored("a/b/x.log", false));
  EXPECT_FALSE(r.ignored("keep.log", false));  // re-included
  EXPECT_FALSE(r.ignored("main.js", false));   // a negation does not exclude the rest
  EXPECT_TRUE(r.ignored("docs/a.md", false));
  EXPECT_FALSE(r.ignored("docs/sub/a.md", false));
  EXPECT_FALSE(r.ignored("a.md", false));
  EXPECT_TRUE(r.ignored("trailing", false));
  EXPECT_TRUE(r.ignored("#hash", false));
  EXPECT_FALSE(r.ignored("comment", false));
}

TEST(Ignore, CrLfFiles) {
  const IgnoreRules r = IgnoreRules::from_text("*.tmp\r\ndist/\r\n");
  EXPECT_TRUE(r.ignored("x.tmp", false));
  EXPECT_TRUE(r.ignored("dist", true));
}

}  // namespace
}  // namespace hms::cli
