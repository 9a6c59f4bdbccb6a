#include "log_tail.hpp"

#include "term.hpp"

namespace hms::cli {

void LogTail::on_event(const Message& m) {
  if (mode_ == Mode::drop) return;
  if (mode_ == Mode::hold && buf_.size() >= kMaxHeld) {
    ++dropped_;
    return;
  }
  switch (static_cast<Opcode>(m.opcode)) {
    case Opcode::stdout_:
    case Opcode::stderr_: fmt_.output(m.id, m.service, m.origin, m.payload, buf_); break;
    case Opcode::spawn: fmt_.spawn(m.id, m.service, m.origin, m.payload, buf_); break;
    case Opcode::exit: fmt_.exit(m.id, m.service, m.origin, m.payload, buf_); break;
    default: return;
  }
  if (mode_ == Mode::stream && buf_.size() >= kBatch) flush();
}

void LogTail::flush() {
  if (mode_ != Mode::stream || buf_.empty()) return;
  Term::write_all(fd_, buf_.data(), buf_.size());
  buf_.clear();
}

void LogTail::set_mode(Mode m) {
  if (m == Mode::hold && mode_ == Mode::drop) buf_.clear();
  mode_ = m;
  flush();
}

}  // namespace hms::cli
