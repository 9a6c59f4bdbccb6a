#include "spinner.hpp"

namespace hms::cli {

Spinner::Spinner(Term& term, std::string message) : term_(term), message_(std::move(message)) {
  if (!term_.tty()) {
    term_.line(term_.progress_mark() + " " + message_);
    return;
  }
  term_.live_clear();
  term_.live(term_.progress_mark() + " " + message_ + "     ");
}

void Spinner::tick() {
  if (!term_.tty() || done_) return;
  static const char* const states[] = {" .   ", " ..  ", " ... ", "     "};
  term_.live(term_.progress_mark() + " " + message_ + term_.paint(Color::cyan, states[state_]));
  state_ = (state_ + 1) % 4;
}

int Spinner::ok() {
  done_ = true;
  if (!term_.tty()) {
    term_.line(term_.success_mark() + " " + message_);
    return 0;
  }
  term_.live(term_.success_mark() + " " + message_);
  term_.live_clear();
  return 0;
}

int Spinner::fail(std::string_view error) {
  done_ = true;
  const std::string text = term_.error_mark() + " " + message_ + " (" + std::string(error) + ")";
  if (!term_.tty()) term_.line(text);
  else term_.live(text);
  return 1;
}

}  // namespace hms::cli
