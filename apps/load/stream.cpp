// Event streams of the hub's page: GET /api/logs/<subscribe>, then count
// the events that arrive. An event-stream client takes a slot of the
// in-flight credit like a protocol client (ClientTally, indexes after the
// protocol clients), so the docks never run further ahead of a stream than
// of a client, and a stream that keeps up is never cut off as slow.
//
// The event text carries the payload as a JSON string, so the binary stamp
// and sequence number are not read back: an event is counted, not checked
// (no latency, no gap check). Each event has exactly one "\ndata: " (its
// data line; the JSON text in it has no raw line break), which is what is
// counted; comments (":hb") and the opening "retry:" have none.
#include <cerrno>
#include <cstring>
#include <string_view>

#include "worker.hpp"

namespace hms::load {
namespace {

constexpr std::string_view kDataField = "\ndata: ";

}  // namespace

void Worker::stream_connected(Client& c) {
  const std::string get = "GET /api/logs/" + (sh_.opt.subscribe == "*" ? std::string("%2A") : sh_.opt.subscribe) +
                          " HTTP/1.1\r\nHost: " + sh_.hub.host_header + "\r\nAccept: text/event-stream\r\n\r\n";
  c.state = Conn::State::upgrading;  // until the answer's head is in
  if (!send_bytes(c, get.data(), get.size())) close_conn(c, std::string("send: ") + std::strerror(errno));
}

std::size_t Worker::stream_input(Client& c, const std::uint8_t* p, std::size_t n, std::int64_t now) {
  const std::string_view in(reinterpret_cast<const char*>(p), n);
  std::size_t off = 0;
  if (c.state == Conn::State::upgrading) {
    const std::size_t end = in.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (n > 16384) client_failed(c, "no end of the answer's head in 16 KiB");
      return 0;
    }
    if (!in.starts_with("HTTP/1.1 200 ")) {
      client_failed(c, "the hub answered the event stream with " + std::string(in.substr(0, in.find('\r'))));
      return 0;
    }
    c.state = Conn::State::open;
    c.done = true;
    sh_.tally[c.index].alive.store(true, std::memory_order_release);
    sh_.clients_up.fetch_add(1);
    off = end + 4;
  }
  std::uint64_t events = 0;
  // A field split between two reads: the last kDataField.size() - 1 bytes
  // stay for the next read (a match starting there is not complete yet).
  const std::size_t keep = kDataField.size() - 1;
  const std::size_t limit = n - off > keep ? n - keep : off;
  for (std::size_t at = in.find(kDataField, off); at != std::string_view::npos && at < limit;
       at = in.find(kDataField, at + kDataField.size()))
    ++events;
  if (events) {
    if (sh_.in_window(now)) counts_.stream_delivered += events;
    c.done_frames += events;
    sh_.tally[c.index].done.store(c.done_frames, std::memory_order_relaxed);
    if (sh_.parked.load(std::memory_order_relaxed)) kick_parked();
  }
  return limit;
}

}  // namespace hms::load
