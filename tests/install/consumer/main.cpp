// Decodes a ping and starts a reactor: both libraries link and work.
#include <hms/frame.hpp>
#include <hms/reactor.hpp>

int main() {
  const std::uint8_t ping[] = {4, 1, 0, 0, 0, 0, 0};
  const auto r = hms::decode_frame(ping, sizeof ping);
  if (r.status != hms::DecodeStatus::frame || r.frame.header.request_id != 1) return 1;
  hms::Reactor reactor;
  return reactor.backend() == hms::Backend::automatic ? 1 : 0;
}
