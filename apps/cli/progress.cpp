#include "progress.hpp"

#include <cmath>

#include "text.hpp"

namespace hms::cli {

using namespace std::chrono_literals;

UploadProgress::UploadProgress(Term& term, std::string id, std::uint64_t total)
    : term_(term), id_(std::move(id)), total_(total), start_(std::chrono::steady_clock::now()), next_(start_ + 250ms) {
  if (term_.tty()) {
    term_.live(term_.progress_mark() + " Uploading " + id_ + " " + term_.paint(Color::cyan, "[>                   ] "));
  } else {
    term_.line(term_.progress_mark() + " Uploading " + id_);
  }
}

std::string UploadProgress::bar(double pct) {
  // Array(floor(20 * pct / 100)).join('=') + '>', padded to 20 columns.
  const int n = static_cast<int>(std::floor(20 * pct / 100));
  std::string arrow(n > 1 ? static_cast<std::size_t>(n - 1) : 0, '=');
  arrow += '>';
  std::string b = "[" + arrow;
  if (arrow.size() < 20) b.append(20 - arrow.size(), ' ');
  return b + "]";
}

void UploadProgress::draw(double pct, bool done) {
  if (done_) return;
  done_ = done;
  if (!term_.tty()) {
    if (done) term_.line(term_.success_mark() + " Uploading " + id_);
    return;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start_;
  // speedometer: the bytes so far while under a second, then bytes per
  // second over the 250 ms ticks seen.
  const double ticks = std::floor(std::chrono::duration<double>(elapsed).count() * 4) + 1;
  const double speed = ticks < 4 ? static_cast<double>(sent_) : static_cast<double>(sent_) * 4 / ticks;
  term_.live((done ? term_.success_mark() : term_.progress_mark()) + " Uploading " + id_ + " " +
             term_.paint(Color::cyan, bar(pct)) + " " + pretty_size(static_cast<double>(sent_)) + " (" +
             pretty_size(speed) + "/s) ");
}

void UploadProgress::update(std::uint64_t sent) {
  sent_ = sent;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_) return;
  while (next_ <= now) next_ += 250ms;
  // The reference calls it done when a progress event says 100 %.
  draw(total_ ? static_cast<double>(sent_) / static_cast<double>(total_) * 100 : 0, total_ && sent_ >= total_);
}

void UploadProgress::finish() {
  sent_ = std::max(sent_, total_);
  draw(100, true);
}

}  // namespace hms::cli
