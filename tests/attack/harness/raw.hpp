// Raw sockets for attackers and scripted peers: the suite's own bytes on
// the wire, read back with the codec's decoder (the one the hub uses), so a
// test sees exactly what a reference peer would.
//
// Every call is bounded by a deadline; nothing here blocks for ever.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness/common.hpp"
#include "hms/frame.hpp"

namespace hms::attack {

// ---- frames, byte-exact with the reference's layout

std::string frame(FrameType t, std::uint16_t rid, std::string_view body);
// A frame whose header announces `length` bytes (whatever the body holds).
std::string frame_announcing(FrameType t, std::uint16_t rid, std::uint32_t length, std::string_view body = {});
std::string message(FrameType t, std::uint16_t rid, Opcode op, std::string_view id, std::string_view payload = {});
inline std::string request(std::uint16_t rid, Opcode op, std::string_view id, std::string_view payload = {}) {
  return message(FrameType::request, rid, op, id, payload);
}
std::string client_handshake(std::uint16_t rid = 0);
// `s` as a JSON string literal (quotes, backslashes and control bytes
// escaped; other bytes as they are).
std::string json_string(std::string_view s);
std::string dock_handshake(std::string_view id, std::string_view tags_json = "[]", std::uint16_t rid = 0);

inline const std::string kConnectHead = "CONNECT / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";

// One received frame, owning its bytes.
struct RawFrame {
  FrameType type = FrameType::message;
  std::uint16_t rid = 0;
  std::uint8_t opcode = 0;  // messages only
  std::string id;           // messages only
  std::string body;         // messages: the payload; others: the body
  std::size_t size = 0;     // header + body
  bool is_ok_reply() const { return type == FrameType::reply; }
  bool is_error(std::string_view text) const { return type == FrameType::error && body == text; }
};
std::string describe(const RawFrame& f);

// ---- a connection

struct RawOptions {
  bool connect_head = true;  // send CONNECT and read the 101 first
  int rcvbuf = 0;            // > 0: a small receive buffer (set before connect)
  int sndbuf = 0;
};

class RawConn {
 public:
  using Options = RawOptions;
  // Connects (and upgrades); nullptr when the hub refused or did not answer.
  static std::unique_ptr<RawConn> open(std::uint16_t port, Options o, Ms timeout = 5s);
  static std::unique_ptr<RawConn> open(std::uint16_t port) { return open(port, Options{}); }
  // Connected and handshaken as a client / a dock; nullptr when refused.
  static std::unique_ptr<RawConn> client(std::uint16_t port, Options o = {});
  static std::unique_ptr<RawConn> dock(std::uint16_t port, std::string_view id, std::string_view tags_json = "[]");
  ~RawConn();
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  int fd() const { return fd_; }
  // Writes all of `data` (false on error, or when the peer stops reading
  // for `timeout`).
  bool send(std::string_view data, Ms timeout = 5s);
  // Writes without blocking; returns the bytes taken (0 when full).
  std::size_t send_some(std::string_view data);
  void shutdown_write();

  // Pings the hub sends are answered (and not returned) unless this is off.
  bool answer_pings = true;
  // The hub speaks frames to us now (set after the upgrade or a handshake;
  // set it by hand on a raw connection that sends frames from byte one):
  // wait_closed() then decodes, answering pings, so that a test waiting
  // for one deadline is not ended by the ping deadline instead.
  bool framed = false;
  // What the hub sent was not frames (next() gave up).
  bool bad_bytes() const { return bad_bytes_; }
  // Frames wait_closed() read and dropped.
  std::size_t dropped() const { return dropped_; }
  std::size_t pings_seen() const { return pings_; }

  // The next frame within `timeout`; nullopt on timeout, close or bytes that
  // are not frames (closed() tells which).
  std::optional<RawFrame> next(Ms timeout = 5s);
  // The next frame with request id `rid` of type reply/error (others are
  // skipped).
  std::optional<RawFrame> reply_to(std::uint16_t rid, Ms timeout = 5s);
  // Sends a request and returns its answer.
  std::optional<RawFrame> call(std::uint16_t rid, Opcode op, std::string_view id, std::string_view payload = {},
                               Ms timeout = 5s);
  // Reads (and drops) until the hub closes; true when it did within
  // `timeout`. What was read is kept in raw() (frames are decoded and
  // dropped while `framed`).
  bool wait_closed(Ms timeout);
  // The same without waiting: takes what is there now; false once closed.
  bool pump();
  bool closed() const { return closed_; }
  // Bytes received and not yet decoded (after wait_closed: what came).
  const std::string& raw() const { return buf_; }
  // Reads the hub's answer to a CONNECT head sent by hand: true when it is
  // a 101 (the bytes after it stay, as frames; framed is set).
  bool read_upgrade(Ms timeout = 5s);
  // Appends what is readable now (waiting up to `timeout` for the first
  // byte); false once the connection has ended.
  bool read_some(Ms timeout);

 private:
  explicit RawConn(int fd) : fd_(fd) {}
  int fd_ = -1;
  // One send() at a time: a pong sent from the reading thread must not land
  // between two pieces of a storm another thread is sending.
  std::mutex send_mu_;
  std::string buf_;
  bool closed_ = false;
  bool bad_bytes_ = false;
  std::size_t pings_ = 0;
  std::size_t dropped_ = 0;
};

// A connection that is made and then left alone (no upgrade, no bytes):
// nonblocking connect, for floods. -1 when the kernel refused at once.
int open_silent(std::uint16_t port);

// A plain HTTP exchange: the status line, the head and the body as sent
// (the body is what came after the head until the hub closed, or
// Content-Length bytes).
struct HttpAnswer {
  std::string status;  // "HTTP/1.1 200 OK", "" when nothing came
  std::string head;
  std::string body;
  bool closed = false;  // the hub closed the connection afterwards
};
HttpAnswer http_request(std::uint16_t port, std::string_view request, Ms timeout = 5s);

// ---- a dock that follows a script

// A dock on a raw connection, run by a thread: every request the hub sends
// goes to `on_request`, which says how to answer it. Pings are answered or
// not (`answer_pings`), so a dock can be mute (answers pings, never a
// command) or dead (answers nothing).
class ScriptedDock {
 public:
  enum class Act { ok, error, none, close };
  struct Answer {
    Act act = Act::ok;
    std::string body;  // ok: reply body; error: the message
  };
  using Script = std::function<Answer(const RawFrame&)>;

  ScriptedDock(std::uint16_t port, std::string id, Script script, bool answer_pings = true,
               std::string tags_json = "[]");
  ~ScriptedDock();
  ScriptedDock(const ScriptedDock&) = delete;
  ScriptedDock& operator=(const ScriptedDock&) = delete;

  bool connected() const { return ok_; }
  const std::string& id() const { return id_; }
  // Requests seen so far, as "op:id".
  std::vector<std::string> calls();
  std::size_t count(Opcode op);
  bool closed_by_hub() const { return hub_closed_.load(); }
  // Stops answering pings from now on (a host that went away).
  void go_silent() { silent_.store(true); }
  // Sends raw bytes from the dock (e.g. a log frame); false when closed.
  bool send(std::string_view bytes);
  void stop();

 private:
  void run();
  std::string id_;
  Script script_;
  std::unique_ptr<RawConn> conn_;
  bool ok_ = false;
  std::atomic<bool> stop_{false}, silent_{false}, hub_closed_{false};
  std::mutex mu_;  // calls_
  std::mutex io_;  // conn_: the test thread sends too
  std::vector<std::string> calls_;
  std::thread thread_;
};

// A ps answer for a scripted dock: its own entry.
std::string ps_entry(std::string_view dock_id);

}  // namespace hms::attack
