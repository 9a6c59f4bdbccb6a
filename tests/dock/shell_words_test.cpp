// split_command against the reference's shell-quote table (reference.md
// 3.7), and the start texts we refuse where the reference ran garbage or
// crashed.
#include <gtest/gtest.h>

#include "dock/shell_words.hpp"

namespace hms::dock {
namespace {

const EnvList kEnv{{"SERVICE_NAME", "myapp"}, {"PORT", "8080"}, {"EMPTY", ""}, {"SP", "a b"}};

std::vector<std::string> words(std::string_view s) {
  Words w = split_command(s, kEnv);
  EXPECT_EQ(w.error, "") << s;
  return w.argv;
}
using V = std::vector<std::string>;

TEST(ShellWordsTest, TheReferenceTable) {
  EXPECT_EQ(words("node server.js"), (V{"node", "server.js"}));
  EXPECT_EQ(words("node   server.js  --port 80"), (V{"node", "server.js", "--port", "80"}));
  EXPECT_EQ(words("node -e 'console.log(1)'"), (V{"node", "-e", "console.log(1)"}));
  EXPECT_EQ(words("node -e \"console.log(\\\"x\\\")\""), (V{"node", "-e", "console.log(\"x\")"}));
  EXPECT_EQ(words("echo $PORT"), (V{"echo", "8080"}));
  EXPECT_EQ(words("echo ${PORT}x"), (V{"echo", "8080x"}));
  EXPECT_EQ(words("echo $PORTx"), (V{"echo", ""}));
  EXPECT_EQ(words("echo $UNSET end"), (V{"echo", "", "end"}));
  EXPECT_EQ(words("echo \"$UNSET\""), (V{"echo", ""}));
  EXPECT_EQ(words("echo $HOME"), (V{"echo", ""}));
  EXPECT_EQ(words("echo \"$SERVICE_NAME-$PORT\""), (V{"echo", "myapp-8080"}));
  EXPECT_EQ(words("echo '$PORT'"), (V{"echo", "$PORT"}));
  EXPECT_EQ(words("echo \\$PORT"), (V{"echo", "$PORT"}));
  EXPECT_EQ(words("echo a\\ b"), (V{"echo", "a b"}));
  EXPECT_EQ(words("echo \"a\\nb\""), (V{"echo", "a\\nb"}));
  EXPECT_EQ(words("echo 'a\\nb'"), (V{"echo", "a\\nb"}));
  EXPECT_EQ(words("echo $SP"), (V{"echo", "a b"}));
  EXPECT_EQ(words("echo \"\""), (V{"echo", ""}));
  EXPECT_EQ(words("echo ''"), (V{"echo", ""}));
  EXPECT_EQ(words("echo $EMPTY x"), (V{"echo", "", "x"}));
  EXPECT_EQ(words("a'b'\"c\"d"), (V{"abcd"}));
  EXPECT_EQ(words("echo $'a\\tb'"), (V{"echo", "a\tb"}));
  EXPECT_EQ(words("echo $$"), (V{"echo", ""}));
  EXPECT_EQ(words("echo $"), (V{"echo", "$"}));
  EXPECT_EQ(words("echo ~/x"), (V{"echo", "~/x"}));
  EXPECT_EQ(words("PORT=1 node x"), (V{"PORT=1", "node", "x"}));
  // A glob is passed as written (the reference passed "[object Object]").
  EXPECT_EQ(words("echo *.js"), (V{"echo", "*.js"}));
  EXPECT_EQ(words("echo \"*.js\""), (V{"echo", "*.js"}));
  // A comment runs to the end.
  EXPECT_EQ(words("echo a # comment"), (V{"echo", "a"}));
  EXPECT_EQ(words("echo a#b"), (V{"echo", "a"}));
}

TEST(ShellWordsTest, AnsiCQuoting) {
  EXPECT_EQ(words("x $'\\x41\\101\\u00e9\\e\\c?'"), (V{"x", "AA\xc3\xa9\x1b\x7f"}));
  EXPECT_EQ(words("x $'a\\0b'"), (V{"x", "a"}));  // a NUL ends it, as in bash
  EXPECT_EQ(words("x $'it\\'s'"), (V{"x", "it's"}));
}

TEST(ShellWordsTest, ServiceEnvOverridesInOrder) {
  const EnvList env{{"SERVICE_NAME", "a"}, {"X", "1"}, {"X", "2"}};
  EXPECT_EQ(split_command("echo $X $SERVICE_NAME", env).argv, (V{"echo", "2", "a"}));
}

TEST(ShellWordsTest, WhatCannotRunIsAnError) {
  for (const char* s : {"a && b", "a | b", "a; b", "a > out.log", "a 2>&1", "a &", "(a)"}) {
    const Words w = split_command(s, kEnv);
    EXPECT_TRUE(w.argv.empty()) << s;
    EXPECT_NE(w.error.find("shell operator"), std::string::npos) << s << ": " << w.error;
  }
  EXPECT_NE(split_command("a && b", kEnv).error.find("'&&'"), std::string::npos);
  EXPECT_EQ(split_command("echo ${", kEnv).error, "bad substitution '${' in the start command");
  EXPECT_EQ(split_command("echo ${}", kEnv).error, "bad substitution '${}' in the start command");
  EXPECT_EQ(split_command("echo 'open", kEnv).error, "unterminated ' in the start command");
  EXPECT_EQ(split_command("echo \"open", kEnv).error, "unterminated \" in the start command");
  EXPECT_EQ(split_command("", kEnv).error, "empty start command");
  EXPECT_EQ(split_command("   ", kEnv).error, "empty start command");
  EXPECT_EQ(split_command("# only a comment", kEnv).error, "empty start command");
}

}  // namespace
}  // namespace hms::dock
