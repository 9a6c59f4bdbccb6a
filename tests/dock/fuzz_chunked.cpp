// libFuzzer entry point for the chunked body decoder (ChunkedDecoder), the
// first thing a hub's tarball response goes through. The input is fed whole
// and split in two at a point taken from its first byte; the invariants
// trap on violation (so the corpus replay in ctest fails):
//   - a step consumes no more than it was given, and its body run lies
//     inside what it consumed;
//   - a step given input consumes something, unless the decoder is done or
//     failed (no busy loop);
//   - failed carries a reason; done and failed are final;
//   - splitting the input does not change the body, nor done/failed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dock/chunked.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Outcome {
  std::string body;
  bool done = false, failed = false;
};

Outcome run(const char* data, std::size_t size, std::size_t cut) {
  hms::dock::ChunkedDecoder d;
  Outcome o;
  for (auto [from, to] : {std::pair{std::size_t{0}, cut}, std::pair{cut, size}}) {
    std::size_t off = from;
    while (off < to && !d.done() && !d.failed()) {
      const auto st = d.step(data + off, to - off);
      check(st.used <= to - off);
      check(st.body_off + st.body_len <= st.used || st.body_len == 0);
      o.body.append(data + off + st.body_off, st.body_len);
      if (st.used == 0) {
        check(d.done() || d.failed());
        break;
      }
      off += st.used;
    }
  }
  o.done = d.done();
  o.failed = d.failed();
  check(!(o.done && o.failed));
  if (o.failed) check(d.error() && *d.error());
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  const Outcome whole = run(p, size, size);
  const std::size_t cut = size ? data[0] % (size + 1) : 0;
  const Outcome split = run(p, size, cut);
  check(whole.body == split.body);
  check(whole.done == split.done && whole.failed == split.failed);
  return 0;
}
