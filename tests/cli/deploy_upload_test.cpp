// apps/cli/deploy_upload: the build output as the reference shows it (split
// at \r?\n, leading blanks dropped, its blank-line folding, " #  ").
#include <gtest/gtest.h>

#include "capture.hpp"
#include "deploy_steps.hpp"
#include "progress.hpp"

namespace hms::cli {
namespace {

std::string show(const std::vector<std::string>& pieces, bool color = false) {
  Term term(Term::Setup{color, color});
  CaptureStdout cap;
  BuildOutput out(term);
  for (const auto& p : pieces) out.feed(p);
  out.end();
  return cap.text();
}

TEST(BuildOutput, AsTheReference) {
  // Captured: `echo "building"; echo; echo; echo "line after blanks"`.
  EXPECT_EQ(show({"building  ($0=build.sh)\n\n\nline after blanks\nto stderr\n"}),
            "\n #  building  ($0=build.sh)\n #  \n #  line after blanks\n #  to stderr\n\n");
  EXPECT_EQ(show({"\n\n  \nfirst\n"}), "\n #  first\n\n");  // leading blank lines go
  EXPECT_EQ(show({"a\n\nb\n"}), "\n #  a\n #  b\n\n");      // one blank line is folded away
  EXPECT_EQ(show({"a\n\n\nb\n"}), "\n #  a\n #  \n #  b\n\n");      // two: one shown
  EXPECT_EQ(show({"a\n\n\n\nb\n"}), "\n #  a\n #  \n #  b\n\n");    // three: still one
  EXPECT_EQ(show({"a\n\n\n\n\nb\n"}), "\n #  a\n #  \n #  \n #  b\n\n");  // four: two
  EXPECT_EQ(show({""}), "");                                 // nothing at all: no blank lines
  EXPECT_EQ(show({"\x1b[32m\x1b[0m\nx\r\ny"}), "\n #  x\n #  y\n\n");  // colour codes alone are blank
}

TEST(BuildOutput, LinesSplitAcrossPieces) {
  EXPECT_EQ(show({"hel", "lo\r", "\nwor", "ld"}), "\n #  hello\n #  world\n\n");
}

TEST(BuildOutput, Colour) {
  EXPECT_EQ(show({"step\n"}, true), "\n\x1b[90m # \x1b[39m step\n\n");
}

TEST(UploadProgress, Bar) {
  EXPECT_EQ(UploadProgress::bar(0), "[>                   ]");
  EXPECT_EQ(UploadProgress::bar(4), "[>                   ]");
  EXPECT_EQ(UploadProgress::bar(50), "[=========>          ]");
  EXPECT_EQ(UploadProgress::bar(100), "[===================>]");
}

TEST(UploadProgress, PipedPrintsStartAndEnd) {
  Term term(Term::Setup{false, false});
  CaptureStdout cap;
  {
    UploadProgress p(term, "web", 1000);
    p.update(500);
    p.update(1000);
    p.finish();
  }
  EXPECT_EQ(cap.text(), "[-] Uploading web\n[+] Uploading web\n");
}

}  // namespace
}  // namespace hms::cli
