// Where the CLI's output goes, and how it looks: the reference's lib/ui.js,
// chalk 0.4 and single-line-log 0.3, byte for byte.
//
// Two independent switches, as in the reference:
// - `tty`: stdout is a terminal. It picks the symbols (✘ ✓ instead of ! +)
//   and makes spinners redraw one line in place.
// - `color`: chalk's has-color: `--no-color` anywhere in argv turns it off,
//   `--color` on; otherwise stdout must be a terminal and COLORTERM set or
//   TERM match screen*, xterm*, vt100*, *color*, *ansi*, cygwin or linux.
//   Colours are `\e[<n>m ... \e[39m`; an empty text gets no codes.
//
// single-line-log: live(text) rewrites the current line (`\e[1000D\e[0K`
// once per line the previous live text had, `\e[1A` between them) without
// a newline; the next *other* write to stdout first ends the line with
// '\n'. finish() does that at exit, as the reference's exit hook does.
//
// Writes are write(2) calls, retried on EINTR/partial writes; a closed
// stdout (EPIPE) is ignored: there is no one left to tell.
#pragma once

#include <string>
#include <string_view>

namespace hms::cli {

enum class Color : unsigned char { red = 31, green = 32, yellow = 33, cyan = 36, grey = 90 };

class Term {
 public:
  struct Setup {
    bool tty = false;
    bool color = false;
  };
  // From the real environment: isatty(1), TERM, COLORTERM, argv flags.
  static Setup detect(int argc, char** argv);

  explicit Term(Setup s) : s_(s) {}
  Term(const Term&) = delete;
  Term& operator=(const Term&) = delete;

  bool tty() const noexcept { return s_.tty; }
  bool color() const noexcept { return s_.color; }

  // chalk.<color>(text).
  std::string paint(Color c, std::string_view text) const;
  void paint_into(std::string& out, Color c, std::string_view text) const;

  // ui.js symbols: "[!]" "[+]" "[-]" " # " (coloured, and ✘ ✓ on a tty).
  std::string error_mark() const;
  std::string success_mark() const;
  std::string progress_mark() const;
  std::string indent_mark() const;

  // console.log(text): text + '\n' to stdout.
  void line(std::string_view text);
  // process.stdout.write(text).
  void out(std::string_view text);
  // single-line-log's log(text) and log.clear().
  void live(std::string_view text);
  void live_clear();
  // console.error(text).
  void err_line(std::string_view text);
  // ui.error(message): "<mark> message" on stderr, every "\n" indented by
  // four spaces. Returns the exit code, 1.
  int fail(std::string_view message);
  // At exit: ends a pending live line.
  void finish();

  // Raw stdout write, bypassing the live-line logic (the log tail's batches,
  // after the live line was ended).
  static bool write_all(int fd, const char* p, std::size_t n);

 private:
  void raw_out(std::string_view text);

  Setup s_;
  bool live_pending_ = false;  // single-line-log's `str` is set and non-empty
  int live_lines_ = 0;         // its prevLineCount
};

}  // namespace hms::cli
