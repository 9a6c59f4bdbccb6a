// Hub test harness, part 1: the basics every hub test uses (a private
// database directory, an in-process hub, metrics, frame builders, waits).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/loop.hpp"
#include "hms/frame.hpp"
#include "hms/peer.hpp"
#include "hub.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// From the sanitizer runtime (sanitizer/allocator_interface.h, which not
// every toolchain installs).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif


namespace hms::hubtest {

using namespace std::chrono_literals;
using hms::test::LoopThread;
using hms::test::Waiter;

// Generous: a loaded CI box may be slow, but a hung wait must still end.
inline constexpr std::chrono::milliseconds kWait = 10s;

inline const std::string kTerminalReply =
    std::string(R"({"type":"terminal","version":")") + hub::kHubVersion + "\"}";

// ------------------------------------------------------------------ basics

// A private directory under /tmp, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hms-hub-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Options for an in-process hub: loopback only, any free port, a database in
// `dir`.
inline hub::HubOptions hub_options(const TempDir& dir, unsigned threads = 1) {
  hub::HubOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.db = dir.file("hub.db");
  o.threads = threads;
  return o;
}

// An in-process hub, started. Declare it before the LoopThread and the
// peers of a test, so that they go first and the hub stops last.
struct RunningHub {
  explicit RunningHub(hub::HubOptions o) : opts(std::move(o)), hub(std::make_unique<hub::Hub>(opts)) {
    hub->start();
    port = hub->port();
  }
  hub::HubOptions opts;
  std::unique_ptr<hub::Hub> hub;
  std::uint16_t port = 0;
};

// Memory this process (the in-process hub included) holds: its resident
// set size. Under ASan/TSan the allocator keeps freed blocks in quarantine
// and RSS says little about live memory, so there it is the sanitizer's
// count of allocated heap bytes instead.
inline std::size_t memory_in_use() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return __sanitizer_get_current_allocated_bytes();
#else
  std::ifstream in("/proc/self/statm");
  std::size_t pages_total = 0, pages_resident = 0;
  in >> pages_total >> pages_resident;
  return pages_resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
#endif
}

// The value of the first sample of `series` (a metric name with its labels,
// if any, as written: `hms_connections{kind="dock"}`), or -1 when absent.
inline double metric(const std::string& text, std::string_view series) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (line.size() > series.size() && line.substr(0, series.size()) == series &&
        line[series.size()] == ' ')
      return std::strtod(std::string(line.substr(series.size() + 1)).c_str(), nullptr);
    pos = end + 1;
  }
  return -1;
}

// eventually(pred, limit): from engine/loop.hpp (yields between looks).
using hms::test::eventually;

// A helper's precondition: when it does not hold, the test stops here with
// the message (gtest reports the exception), rather than going on with a
// broken peer and failing later, somewhere less clear.
struct HarnessFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
inline void require(bool ok, const std::string& what) {
  if (!ok) throw HarnessFailure(what);
}

// The exact bytes of a one-way event frame as a reference dock sends it
// (and as the hub must relay it): id `service@origin`.
inline std::string event_bytes(Opcode op, std::string_view service, std::string_view origin,
                               std::string_view payload) {
  std::string out(message_head_size(service.size() + 1 + origin.size()), '\0');
  encode_event_head(reinterpret_cast<std::uint8_t*>(out.data()), op, service, origin, payload.size());
  out.append(payload);
  return out;
}

inline std::string plain_frame(FrameType t, std::uint16_t rid, std::string_view body) {
  std::string out(kHeaderSize, '\0');
  encode_header(reinterpret_cast<std::uint8_t*>(out.data()), t, rid, static_cast<std::uint32_t>(body.size()));
  out.append(body);
  return out;
}

inline std::string message_frame(FrameType t, std::uint16_t rid, Opcode op, std::string_view id,
                                 std::string_view payload) {
  std::string out(message_head_size(id.size()), '\0');
  encode_message_head(reinterpret_cast<std::uint8_t*>(out.data()), t, rid, op, id, payload.size());
  out.append(payload);
  return out;
}

// Every byte value once, then pseudo-random bytes (seeded): a payload that
// no text-only or NUL-terminated path would carry intact.
inline std::string binary_payload(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(i < 256 ? i : (x >> 24));
  }
  return s;
}

// All values of `"id":"..."` members in a JSON text, in order (service ids
// are plain alphanumericish, so no escapes to worry about).
inline std::vector<std::string> ids_in(const std::string& json) {
  std::vector<std::string> out;
  const std::string key = "\"id\":\"";
  for (std::size_t p = json.find(key); p != std::string::npos; p = json.find(key, p)) {
    p += key.size();
    const std::size_t e = json.find('"', p);
    if (e == std::string::npos) break;
    out.push_back(json.substr(p, e - p));
    p = e;
  }
  return out;
}

}  // namespace hms::hubtest
