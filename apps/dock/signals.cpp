#include "dock/signals.hpp"

#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "hms/reactor.hpp"

namespace hms::dock {

namespace {
sigset_t watched() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGCHLD);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  return s;
}
}  // namespace

void SignalWatch::block() {
  const sigset_t s = watched();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

SignalWatch::SignalWatch(Reactor& reactor, std::function<void(int)> on_signal) : on_signal_(std::move(on_signal)) {
  const sigset_t s = watched();
  const int fd = ::signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
  reactor.adopt_stream(fd, this);
}

void SignalWatch::on_bytes(Connection&, const std::uint8_t* data, std::size_t len, const BufRef&) {
  // A signalfd read returns whole records.
  for (std::size_t off = 0; off + sizeof(signalfd_siginfo) <= len; off += sizeof(signalfd_siginfo)) {
    signalfd_siginfo si;
    std::memcpy(&si, data + off, sizeof si);
    on_signal_(static_cast<int>(si.ssi_signo));
  }
}

}  // namespace hms::dock
