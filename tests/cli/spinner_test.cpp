// apps/cli/spinner and term: ui.spin and single-line-log, byte for byte as
// captured from the reference on a terminal (reference notes, section 7.2).
#include "spinner.hpp"

#include <gtest/gtest.h>

#include "capture.hpp"

namespace hms::cli {
namespace {

const std::string kProgress = "\x1b[90m[-]\x1b[39m";
const std::string kOk = "\x1b[90m[\x1b[39m\x1b[32m\u2713\x1b[39m\x1b[90m]\x1b[39m";
const std::string kErr = "\x1b[90m[\x1b[39m\x1b[31m\u2718\x1b[39m\x1b[90m]\x1b[39m";
const std::string kBack = "\x1b[1000D\x1b[0K";

TEST(Spinner, OnATerminal) {
  Term term(Term::Setup{true, true});
  CaptureStdout cap;
  {
    Spinner s(term, "Stopping slowstop");
    s.tick();
    s.tick();
    s.tick();
    s.ok();
  }
  {
    Spinner s(term, "Starting nosuch");
    s.fail("Service not found");
  }
  term.finish();
  EXPECT_EQ(cap.text(), kProgress + " Stopping slowstop     " + kBack + kProgress + " Stopping slowstop\x1b[36m .   \x1b[39m" +
                            kBack + kProgress + " Stopping slowstop\x1b[36m ..  \x1b[39m" + kBack + kProgress +
                            " Stopping slowstop\x1b[36m ... \x1b[39m" + kBack + kOk + " Stopping slowstop\n" + kBack +
                            kProgress + " Starting nosuch     " + kBack + kErr + " Starting nosuch (Service not found)\n");
}

TEST(Spinner, Piped) {
  Term term(Term::Setup{false, false});
  CaptureStdout cap;
  Spinner a(term, "Adding web");
  a.tick();  // no animation when piped
  a.ok();
  Spinner b(term, "Adding web");
  b.fail("Service already exist");
  term.finish();
  EXPECT_EQ(cap.text(), "[-] Adding web\n[+] Adding web\n[-] Adding web\n[!] Adding web (Service already exist)\n");
}

TEST(Term, OtherOutputEndsTheLiveLine) {
  Term term(Term::Setup{true, false});  // a terminal without colours
  CaptureStdout cap;
  term.live("[-] Uploading web [>                   ] ");
  term.line("");
  term.line("\u2713 symbols, no colour codes");
  EXPECT_EQ(cap.text(), "[-] Uploading web [>                   ] \n\n\u2713 symbols, no colour codes\n");
  EXPECT_EQ(term.error_mark(), "[\u2718]");
  EXPECT_EQ(term.paint(Color::red, ""), "");
}

}  // namespace
}  // namespace hms::cli
