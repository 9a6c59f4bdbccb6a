// Frame codec micro benchmarks (Google Benchmark). This file owns
// BENCHMARK_MAIN for hms_codec_bench; control_bench.cpp adds its benchmarks
// to the same binary.
//
// BM_DecodeStdout/<payload>: decode a buffer of back-to-back stdout frames
//   (id "web@dock-1") with every view a log relay uses: opcode, id, service,
//   origin, payload. The buffer is about one receive buffer's worth, so it
//   stays in cache as freshly received bytes would. The results are summed
//   and compared with what the buffer holds on every iteration, so a decoder
//   that skipped work would fail the run instead of looking fast.
// BM_EncodeStdout/<payload>: encode_event_head for the same frames into a
//   header arena (the payload goes out as its own iovec, never copied).
// BM_EncodeStdoutFrame/<payload>: head + payload copied into one contiguous
//   buffer, what a sender without scatter/gather (and the Node reference)
//   does; for comparison.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "hms/frame.hpp"

namespace {

constexpr std::string_view kService = "web";
constexpr std::string_view kOrigin = "dock-1";
constexpr std::size_t kIdLen = 3 + 1 + 6;

// Frames per buffer: ~64 KiB of small frames (a provided receive buffer),
// but at least 32 so large payloads still give a loop.
std::size_t frames_for(std::size_t payload) {
  const std::size_t frame = hms::message_head_size(kIdLen) + payload;
  const std::size_t n = (64u << 10) / frame;
  return n < 32 ? 32 : n;
}

std::vector<std::uint8_t> stdout_stream(std::size_t payload, std::size_t frames) {
  const std::size_t frame = hms::message_head_size(kIdLen) + payload;
  std::vector<std::uint8_t> buf(frame * frames);
  for (std::size_t i = 0; i < frames; ++i) {
    std::uint8_t* p = buf.data() + i * frame;
    const std::size_t n = hms::encode_event_head(p, hms::Opcode::stdout_, kService, kOrigin, payload);
    std::memset(p + n, 'a' + static_cast<int>(i % 26), payload);
  }
  return buf;
}

void BM_DecodeStdout(benchmark::State& state) {
  const auto payload = static_cast<std::size_t>(state.range(0));
  const std::size_t frames = frames_for(payload);
  const std::vector<std::uint8_t> buf = stdout_stream(payload, frames);
  const std::size_t want_bytes = frames * payload;
  const std::size_t want_names = frames * (kService.size() + kOrigin.size() + kIdLen);

  for (auto _ : state) {
    const std::uint8_t* p = buf.data();
    std::size_t left = buf.size();
    std::size_t count = 0, bytes = 0, names = 0, stdouts = 0;
    std::uintptr_t touch = 0;
    while (left) {
      const hms::DecodeResult r = hms::decode_frame(p, left);
      if (r.status != hms::DecodeStatus::frame) break;
      const hms::MessageView& m = r.frame.message;
      stdouts += m.opcode == static_cast<std::uint8_t>(hms::Opcode::stdout_);
      names += m.service.size() + m.origin.size() + m.id.size();
      bytes += m.payload_size;
      // Use the view pointers too, not just the sizes.
      touch += reinterpret_cast<std::uintptr_t>(m.payload) ^
               reinterpret_cast<std::uintptr_t>(m.origin.data());
      ++count;
      p += r.size;
      left -= r.size;
    }
    benchmark::DoNotOptimize(touch);
    if (left != 0 || count != frames || stdouts != frames || bytes != want_bytes ||
        names != want_names) {
      state.SkipWithError("decoded frames do not match the buffer");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * frames));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
  state.counters["frames_per_iter"] = static_cast<double>(frames);
}
BENCHMARK(BM_DecodeStdout)->Arg(64)->Arg(65536);

void BM_EncodeStdout(benchmark::State& state) {
  const auto payload = static_cast<std::size_t>(state.range(0));
  const std::size_t frames = frames_for(payload);
  const std::size_t head = hms::message_head_size(kIdLen);
  std::vector<std::uint8_t> arena(head * frames);
  const std::uint32_t want_length = static_cast<std::uint32_t>(hms::kMessagePrefix + kIdLen + payload);

  for (auto _ : state) {
    std::uint8_t* p = arena.data();
    for (std::size_t i = 0; i < frames; ++i)
      p += hms::encode_event_head(p, hms::Opcode::stdout_, kService, kOrigin, payload);
    benchmark::ClobberMemory();
    // Spot-check the first and last head: length field and the '@'.
    const std::uint8_t* last = arena.data() + head * (frames - 1);
    if (static_cast<std::size_t>(p - arena.data()) != arena.size() ||
        hms::load_u32(arena.data() + 3) != want_length || hms::load_u32(last + 3) != want_length ||
        last[hms::kHeaderSize + hms::kMessagePrefix + kService.size()] != '@') {
      state.SkipWithError("encoded heads are wrong");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * frames));
  // Bytes on the wire these heads stand for (head + payload).
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frames * (head + payload)));
}
BENCHMARK(BM_EncodeStdout)->Arg(64);

void BM_EncodeStdoutFrame(benchmark::State& state) {
  const auto payload_size = static_cast<std::size_t>(state.range(0));
  const std::size_t frames = frames_for(payload_size);
  const std::size_t frame = hms::message_head_size(kIdLen) + payload_size;
  const std::string payload(payload_size, 'x');
  std::vector<std::uint8_t> out(frame * frames);

  for (auto _ : state) {
    std::uint8_t* p = out.data();
    for (std::size_t i = 0; i < frames; ++i) {
      p += hms::encode_event_head(p, hms::Opcode::stdout_, kService, kOrigin, payload_size);
      std::memcpy(p, payload.data(), payload_size);
      p += payload_size;
    }
    benchmark::ClobberMemory();
    if (static_cast<std::size_t>(p - out.data()) != out.size() ||
        hms::load_u32(out.data() + out.size() - frame + 3) != frame - hms::kHeaderSize ||
        out.back() != 'x') {
      state.SkipWithError("encoded frames are wrong");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * frames));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_EncodeStdoutFrame)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
