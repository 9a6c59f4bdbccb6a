// JSON control message benchmarks (Google Benchmark); BENCHMARK_MAIN is in
// codec_bench.cpp, this file adds to the same binary.
//
// BM_ParseHandshake: the reference dock's handshake (from the vectors), in
//   place from a padded buffer, as the hub parses the first message of every
//   dock connection. Target: >= 2M/s on one core.
// BM_ParseHandshakeCopy: the same through the copying path (unpadded text).
// BM_ParseServiceList: a list reply of 100 services shaped like the
//   vectors' service (what a client's `list` returns); items = services.
// BM_WriteServiceList: to_json of the same 100 services (the hub's side of
//   `list`); items = services.
// Every iteration checks what it parsed or wrote, so a parser that skipped
// work fails the run (SkipWithError) instead of looking fast.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "hms/control.hpp"

namespace {

// vectors: case "handshake", payloadHex.
constexpr std::string_view kDockHandshake =
    R"({"type":"dock","id":"dock-1","hostname":"host-a","tags":["web","eu"],)"
    R"("default":false,"version":"3.3.0","protocol":1})";

constexpr int kServices = 100;

// JSON text followed by the padding the in-place parser may read.
struct Padded {
  explicit Padded(std::string_view text) : bytes(text.size() + hms::kJsonPadding, '\0') {
    bytes.replace(0, text.size(), text);
    size = text.size();
  }
  hms::PaddedText text() const { return {bytes.data(), size}; }
  std::string bytes;
  std::size_t size = 0;
};

// 100 services like the vectors' reply-get one, with distinct ids and a few
// members more, as a real registry has.
std::vector<hms::Service> make_services() {
  std::vector<hms::Service> list(kServices);
  for (int i = 0; i < kServices; ++i) {
    hms::Service& s = list[static_cast<std::size_t>(i)];
    s.id = "web-" + std::to_string(i);
    s.start = "node .";
    s.build = "npm install";
    s.docks = std::vector<std::string>{"dock-1"};
    s.tags = std::vector<std::string>{"web", "eu"};
    s.env = std::vector<std::pair<std::string, std::string>>{{"FOO", "bar"},
                                                             {"PORT", std::to_string(8000 + i)}};
    s.revision = "3f2a9c1";
    s.deployed = "2026-11-24T00:00:00.000Z";
  }
  return list;
}

bool handshake_ok(const hms::Parsed<hms::Handshake>& r) {
  return r && r.value->protocol == 1.0 && r.value->type == "dock" && r.value->id == "dock-1" &&
         r.value->tags.size() == 2 && r.value->version == "3.3.0";
}

void BM_ParseHandshake(benchmark::State& state) {
  hms::JsonParser parser;
  const Padded input(kDockHandshake);
  for (auto _ : state) {
    auto r = hms::parse_handshake(parser, input.text());
    if (!handshake_ok(r)) {
      state.SkipWithError("handshake did not parse as expected");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kDockHandshake.size()));
}
BENCHMARK(BM_ParseHandshake);

void BM_ParseHandshakeCopy(benchmark::State& state) {
  hms::JsonParser parser;
  const std::string input(kDockHandshake);
  for (auto _ : state) {
    auto r = hms::parse_handshake_copy(parser, input);
    if (!handshake_ok(r)) {
      state.SkipWithError("handshake did not parse as expected");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kDockHandshake.size()));
}
BENCHMARK(BM_ParseHandshakeCopy);

void BM_ParseServiceList(benchmark::State& state) {
  const auto services = make_services();
  const std::string json = hms::to_json(services);
  const Padded input(json);
  hms::JsonParser parser;
  for (auto _ : state) {
    auto r = hms::parse_service_list(parser, input.text());
    if (!r || r.value->size() != services.size() || r.value->back().id != services.back().id ||
        r.value->back().env->size() != 2) {
      state.SkipWithError("service list did not parse as expected");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * kServices);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(json.size()));
  state.counters["bytes/list"] = static_cast<double>(json.size());
}
BENCHMARK(BM_ParseServiceList);

void BM_WriteServiceList(benchmark::State& state) {
  const auto services = make_services();
  const std::string expected = hms::to_json(services);
  for (auto _ : state) {
    const std::string json = hms::to_json(services);
    if (json.size() != expected.size() || json.back() != ']') {
      state.SkipWithError("service list did not serialize as expected");
      break;
    }
    benchmark::DoNotOptimize(json.data());
  }
  state.SetItemsProcessed(state.iterations() * kServices);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(expected.size()));
}
BENCHMARK(BM_WriteServiceList);

}  // namespace
