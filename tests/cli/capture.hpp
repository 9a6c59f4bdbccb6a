// Captures what the code under test writes to fd 1 (Term writes there).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace hms::cli {

class CaptureStdout {
 public:
  CaptureStdout() {
    std::fflush(stdout);
    saved_ = dup(1);
    char tmpl[] = "/tmp/hms-cli-capture-XXXXXX";
    fd_ = mkstemp(tmpl);
    unlink(tmpl);
    dup2(fd_, 1);
  }
  ~CaptureStdout() { restore(); }
  std::string text() {
    restore();
    std::string out;
    lseek(fd_, 0, SEEK_SET);
    char buf[4096];
    for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

 private:
  void restore() {
    if (saved_ >= 0) {
      dup2(saved_, 1);
      close(saved_);
      saved_ = -1;
    }
  }
  int saved_ = -1, fd_ = -1;
};

}  // namespace hms::cli
