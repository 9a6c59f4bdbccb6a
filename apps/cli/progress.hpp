// The upload progress line of deploy (the reference's progress-stream +
// speedometer + prettysize, drawn with single-line-log):
//
//   [-] Uploading web [=========>          ] 1.5 MB (3 MB/s)
//
// Piped, only "[-] Uploading <id>" at the start and "[+] Uploading <id>" at
// 100 %. On a terminal the bar is redrawn at most every 250 ms and once at
// the end; the speed is the average since the upload began (the
// reference's speedometer window is 5000 s: a unit mix-up that makes it
// exactly that).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "term.hpp"

namespace hms::cli {

class UploadProgress {
 public:
  UploadProgress(Term& term, std::string id, std::uint64_t total);
  // `sent` bytes so far (redraws when 250 ms have passed).
  void update(std::uint64_t sent);
  // 100 %.
  void finish();
  // The bar text for a percentage (tests).
  static std::string bar(double pct);

 private:
  void draw(double pct, bool done);
  Term& term_;
  std::string id_;
  std::uint64_t total_, sent_ = 0;
  std::chrono::steady_clock::time_point start_, next_;
  bool done_ = false;
};

}  // namespace hms::cli
