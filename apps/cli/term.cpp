#include "term.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace hms::cli {

Term::Setup Term::detect(int argc, char** argv) {
  Setup s;
  s.tty = isatty(STDOUT_FILENO) == 1;
  // has-color 0.1.7, in its order: argv flags first (anywhere, even after
  // "--"), then the terminal checks.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-color") == 0) return s;  // color stays false
  }
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--color") == 0) {
      s.color = true;
      return s;
    }
  }
  if (!s.tty) return s;
  if (std::getenv("COLORTERM")) {
    s.color = true;
    return s;
  }
  const char* term = std::getenv("TERM");
  const std::string t = term ? term : "";
  if (t == "dumb") return s;
  // /^screen|^xterm|^vt100|color|ansi|cygwin|linux/i
  std::string lower;
  for (char c : t) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  const auto starts = [&](std::string_view p) { return lower.compare(0, p.size(), p) == 0; };
  const auto has = [&](std::string_view p) { return lower.find(p) != std::string::npos; };
  s.color = starts("screen") || starts("xterm") || starts("vt100") || has("color") || has("ansi") ||
            has("cygwin") || has("linux");
  return s;
}

void Term::paint_into(std::string& out, Color c, std::string_view text) const {
  if (!s_.color || text.empty()) {
    out += text;
    return;
  }
  out += "\x1b[";
  out += std::to_string(static_cast<int>(c));
  out += 'm';
  out += text;
  out += "\x1b[39m";
}

std::string Term::paint(Color c, std::string_view text) const {
  std::string out;
  paint_into(out, c, text);
  return out;
}

std::string Term::error_mark() const {
  return paint(Color::grey, "[") + paint(Color::red, s_.tty ? "\u2718" : "!") + paint(Color::grey, "]");
}
std::string Term::success_mark() const {
  return paint(Color::grey, "[") + paint(Color::green, s_.tty ? "\u2713" : "+") + paint(Color::grey, "]");
}
std::string Term::progress_mark() const { return paint(Color::grey, "[-]"); }
std::string Term::indent_mark() const { return paint(Color::grey, " # "); }

bool Term::write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      // A non-blocking stdout inherited from the shell: wait until it
      // takes more (a terminal that is being read).
      pollfd pfd{fd, POLLOUT, 0};
      ::poll(&pfd, 1, 1000);
      continue;
    }
    return false;
  }
  return true;
}

void Term::raw_out(std::string_view text) {
  if (live_pending_) {
    live_pending_ = false;
    write_all(STDOUT_FILENO, "\n", 1);
  }
  write_all(STDOUT_FILENO, text.data(), text.size());
}

void Term::out(std::string_view text) { raw_out(text); }

void Term::line(std::string_view text) {
  std::string s(text);
  s += '\n';
  raw_out(s);
}

void Term::live(std::string_view text) {
  std::string s;
  for (int i = 0; i < live_lines_; ++i) {
    s += "\x1b[1000D\x1b[0K";
    if (i < live_lines_ - 1) s += "\x1b[1A";
  }
  s += text;
  // The write itself is not "another" write: it goes out without the
  // newline, and becomes the pending live line.
  write_all(STDOUT_FILENO, s.data(), s.size());
  live_pending_ = !s.empty();
  live_lines_ = 1;
  for (char c : text)
    if (c == '\n') ++live_lines_;
}

void Term::live_clear() { raw_out({}); }

void Term::err_line(std::string_view text) {
  std::string s(text);
  s += '\n';
  write_all(STDERR_FILENO, s.data(), s.size());
}

int Term::fail(std::string_view message) {
  std::string s = error_mark();
  s += ' ';
  for (char c : message) {
    s += c;
    if (c == '\n') s += "    ";
  }
  err_line(s);
  return 1;
}

void Term::finish() { live_clear(); }

}  // namespace hms::cli
