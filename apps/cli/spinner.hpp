// ui.spin(words...): a step that is in progress, then done or failed.
//
// Piped: "[-] <message>" at once, then "[+] <message>" or
// "[!] <message> (<error>)" -- on stdout, both, as the reference prints them.
// On a terminal the line is redrawn in place (single-line-log): first
// "[-] <message>     ", every 500 ms the message with " .   ", " ..  ",
// " ... ", "     " (cyan) after it, and finally the ✓ or ✘ line.
#pragma once

#include <string>
#include <string_view>

#include "term.hpp"

namespace hms::cli {

class Spinner {
 public:
  Spinner(Term& term, std::string message);
  // Redraws the next animation frame (terminal only); call every 500 ms.
  void tick();
  // Success. Returns 0.
  int ok();
  // Failure: prints the error line. Returns 1 (the exit code).
  int fail(std::string_view error);
  // ok() or fail(error) by `good`.
  int finish(bool good, std::string_view error) { return good ? ok() : fail(error); }
  const std::string& message() const noexcept { return message_; }

 private:
  Term& term_;
  std::string message_;
  int state_ = 0;
  bool done_ = false;
};

}  // namespace hms::cli
