#include "dock/shell_words.hpp"

#include <cstdint>

namespace hms::dock {

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }
// The characters shell-quote reads as control operators.
bool operator_char(char c) {
  return c == '|' || c == '&' || c == ';' || c == '(' || c == ')' || c == '<' || c == '>';
}
bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string lookup(const EnvList& env, std::string_view key) {
  // The last assignment wins, as a later xtend() key would.
  for (auto it = env.rbegin(); it != env.rend(); ++it)
    if (it->first == key) return it->second;
  return {};
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Splitter {
 public:
  Splitter(std::string_view s, const EnvList& env) : s_(s), env_(env) {}

  Words run() {
    Words w;
    while (i_ < s_.size() && error_.empty()) {
      if (blank(s_[i_])) {
        end_word(w);
        ++i_;
        continue;
      }
      const char c = s_[i_];
      if (operator_char(c)) {
        std::size_t n = 1;
        while (i_ + n < s_.size() && n < 3 && operator_char(s_[i_ + n])) ++n;
        error_ = "shell operator '" + std::string(s_.substr(i_, n)) +
                 "' in the start command: the dock runs one program, not a shell line "
                 "(use: sh -c '...')";
        break;
      }
      if (c == '#') break;  // a comment runs to the end
      in_word_ = true;
      if (c == '\'') {
        single_quoted();
      } else if (c == '"') {
        double_quoted();
      } else if (c == '\\') {
        if (i_ + 1 < s_.size()) word_.push_back(s_[i_ + 1]);
        i_ += 2;
      } else if (c == '$' && i_ + 1 < s_.size() && s_[i_ + 1] == '\'') {
        ansi_c();
      } else if (c == '$') {
        word_ += variable();
      } else {
        word_.push_back(c);
        ++i_;
      }
    }
    if (error_.empty()) end_word(w);
    if (error_.empty() && w.argv.empty()) error_ = "empty start command";
    if (!error_.empty()) w.argv.clear();
    w.error = std::move(error_);
    return w;
  }

 private:
  void end_word(Words& w) {
    if (in_word_) w.argv.push_back(std::move(word_));
    word_.clear();
    in_word_ = false;
  }

  void single_quoted() {
    const std::size_t close = s_.find('\'', i_ + 1);
    if (close == std::string_view::npos) {
      error_ = "unterminated ' in the start command";
      return;
    }
    word_.append(s_.substr(i_ + 1, close - i_ - 1));
    i_ = close + 1;
  }

  void double_quoted() {
    ++i_;
    while (i_ < s_.size() && error_.empty()) {
      const char c = s_[i_];
      if (c == '"') {
        ++i_;
        return;
      }
      if (c == '\\' && i_ + 1 < s_.size()) {
        const char n = s_[i_ + 1];
        // Inside "", a backslash escapes only ", \ and $ (bash and
        // shell-quote); before anything else it is kept.
        if (n != '"' && n != '\\' && n != '$') word_.push_back('\\');
        word_.push_back(n);
        i_ += 2;
      } else if (c == '$') {
        word_ += variable();
      } else {
        word_.push_back(c);
        ++i_;
      }
    }
    if (error_.empty()) error_ = "unterminated \" in the start command";
  }

  // At '$': the value of the variable that follows, i_ moved past it.
  std::string variable() {
    ++i_;
    if (i_ >= s_.size()) return "$";
    const char c = s_[i_];
    if (c == '{') {
      const std::size_t close = s_.find('}', i_ + 1);
      if (close == std::string_view::npos || close == i_ + 1) {
        error_ = "bad substitution '" + std::string(s_.substr(i_ - 1, close == std::string_view::npos
                                                                          ? s_.size() - i_ + 1
                                                                          : close - i_ + 2)) +
                 "' in the start command";
        return {};
      }
      const std::string_view name = s_.substr(i_ + 1, close - i_ - 1);
      i_ = close + 1;
      return lookup(env_, name);
    }
    if (c == '*' || c == '@' || c == '#' || c == '?' || c == '$' || c == '!' || c == '-') {
      ++i_;
      return lookup(env_, std::string_view(&s_[i_ - 1], 1));
    }
    std::size_t end = i_;
    while (end < s_.size() && name_char(s_[end])) ++end;
    if (end == i_) return "$";  // '$' before anything else is literal
    const std::string_view name = s_.substr(i_, end - i_);
    i_ = end;
    return lookup(env_, name);
  }

  // At "$'": bash ANSI-C quoting up to the closing quote.
  void ansi_c() {
    i_ += 2;
    std::string out;
    bool nul = false;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\'') {
        ++i_;
        word_ += out;
        return;
      }
      if (c != '\\' || i_ + 1 >= s_.size()) {
        if (!nul) out.push_back(c);
        ++i_;
        continue;
      }
      c = s_[++i_];
      ++i_;
      std::uint32_t cp = 0;
      bool have_cp = true;
      switch (c) {
        case 'a': cp = 7; break;
        case 'b': cp = 8; break;
        case 'e': case 'E': cp = 27; break;
        case 'f': cp = 12; break;
        case 'n': cp = 10; break;
        case 'r': cp = 13; break;
        case 't': cp = 9; break;
        case 'v': cp = 11; break;
        case 'c':
          if (i_ < s_.size()) cp = s_[i_] == '?' ? 0x7f : (static_cast<unsigned char>(s_[i_]) & 0x1f), ++i_;
          break;
        case 'x': case 'u': case 'U': {
          const int max = c == 'x' ? 2 : c == 'u' ? 4 : 8;
          int n = 0;
          while (n < max && i_ < s_.size() && hex_value(s_[i_]) >= 0) cp = cp * 16 + hex_value(s_[i_++]), ++n;
          if (n == 0 || cp > 0x10ffff) {
            out.push_back('\\');
            out.push_back(c);
            have_cp = false;
          }
          break;
        }
        default:
          if (c >= '0' && c <= '7') {
            cp = static_cast<std::uint32_t>(c - '0');
            for (int n = 1; n < 3 && i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '7'; ++n)
              cp = cp * 8 + static_cast<std::uint32_t>(s_[i_++] - '0');
            cp &= 0xff;
          } else {
            cp = static_cast<unsigned char>(c);  // \\ \' \" \? and unknown escapes: the character
          }
      }
      if (!have_cp || nul) continue;
      if (cp == 0) {
        nul = true;  // as bash: a NUL ends the string
        continue;
      }
      append_utf8(out, cp);
    }
    error_ = "unterminated $' in the start command";
  }

  std::string_view s_;
  const EnvList& env_;
  std::size_t i_ = 0;
  std::string word_;
  bool in_word_ = false;
  std::string error_;
};

}  // namespace

Words split_command(std::string_view start, const EnvList& env) { return Splitter(start, env).run(); }

}  // namespace hms::dock
