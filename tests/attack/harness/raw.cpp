#include "harness/raw.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <stdexcept>

namespace hms::attack {

namespace {

void put_u16(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void put_u32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

int connect_to(std::uint16_t port, int rcvbuf, int sndbuf, bool nonblocking) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int ms_left(Clock::time_point end) {
  const auto left = std::chrono::duration_cast<Ms>(end - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

std::string frame(FrameType t, std::uint16_t rid, std::string_view body) {
  return frame_announcing(t, rid, static_cast<std::uint32_t>(body.size()), body);
}

std::string frame_announcing(FrameType t, std::uint16_t rid, std::uint32_t length, std::string_view body) {
  std::string s;
  s.reserve(kHeaderSize + body.size());
  s.push_back(static_cast<char>(t));
  put_u16(s, rid);
  put_u32(s, length);
  s.append(body);
  return s;
}

std::string message(FrameType t, std::uint16_t rid, Opcode op, std::string_view id, std::string_view payload) {
  std::string body;
  body.reserve(kMessagePrefix + id.size() + payload.size());
  body.push_back(static_cast<char>(op));
  put_u16(body, static_cast<std::uint16_t>(id.size()));
  body.append(id);
  body.append(payload);
  return frame(t, rid, body);
}

std::string client_handshake(std::uint16_t rid) {
  return request(rid, Opcode::handshake, "", R"({"type":"client","version":"attack","protocol":1})");
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out.push_back(ch);
    }
  }
  return out + "\"";
}

std::string dock_handshake(std::string_view id, std::string_view tags_json, std::uint16_t rid) {
  std::string j = R"({"type":"dock","version":"attack","id":)";
  j += json_string(id);
  j += R"(,"hostname":"host","tags":)";
  j.append(tags_json);
  j += R"(,"default":false,"protocol":1})";
  return request(rid, Opcode::handshake, "", j);
}

std::string describe(const RawFrame& f) {
  static const char* names[] = {"message", "request", "reply", "error", "ping"};
  std::string out = static_cast<unsigned>(f.type) <= 4 ? names[static_cast<unsigned>(f.type)] : "type?";
  out += " rid=" + std::to_string(f.rid);
  if (f.type == FrameType::message || f.type == FrameType::request)
    out += std::string(" op=") + to_string(static_cast<Opcode>(f.opcode)) + " id='" + printable(f.id, 60) + "'";
  out += " body='" + printable(f.body, 200) + "'";
  return out;
}

std::string ps_entry(std::string_view dock_id) {
  return R"([{"id":")" + std::string(dock_id) + R"(","hostname":"host","tags":[],"list":[]}])";
}

// ---------------------------------------------------------------- RawConn

std::unique_ptr<RawConn> RawConn::open(std::uint16_t port, Options o, Ms timeout) {
  const int fd = connect_to(port, o.rcvbuf, o.sndbuf, false);
  if (fd < 0) return nullptr;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::unique_ptr<RawConn> c(new RawConn(fd));
  if (!o.connect_head) return c;
  if (!c->send(kConnectHead, timeout) || !c->read_upgrade(timeout)) return nullptr;
  return c;
}

bool RawConn::read_upgrade(Ms timeout) {
  const auto end = Clock::now() + timeout;
  while (buf_.find("\r\n\r\n") == std::string::npos) {
    if (Clock::now() >= end || !read_some(Ms(std::min(ms_left(end), 100)))) return false;
  }
  if (buf_.compare(0, 12, "HTTP/1.1 101") != 0) return false;
  buf_.erase(0, buf_.find("\r\n\r\n") + 4);
  framed = true;
  return true;
}

std::unique_ptr<RawConn> RawConn::client(std::uint16_t port, Options o) {
  auto c = open(port, o);
  if (!c) return nullptr;
  if (!c->send(client_handshake(7))) return nullptr;
  auto r = c->reply_to(7);
  if (!r || r->type != FrameType::reply) return nullptr;
  return c;
}

std::unique_ptr<RawConn> RawConn::dock(std::uint16_t port, std::string_view id, std::string_view tags_json) {
  auto c = open(port);
  if (!c) return nullptr;
  if (!c->send(dock_handshake(id, tags_json, 7))) return nullptr;
  auto r = c->reply_to(7);
  if (!r || r->type != FrameType::reply) return nullptr;
  return c;
}

RawConn::~RawConn() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConn::send(std::string_view data, Ms timeout) {
  std::lock_guard<std::mutex> lock(send_mu_);
  const auto end = Clock::now() + timeout;
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    pollfd p{fd_, POLLOUT, 0};
    if (Clock::now() >= end) return false;
    ::poll(&p, 1, std::min(ms_left(end), 100));
    if (p.revents & (POLLERR | POLLHUP)) return false;
  }
  return true;
}

std::size_t RawConn::send_some(std::string_view data) {
  const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

void RawConn::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool RawConn::read_some(Ms timeout) {
  if (closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (r <= 0) return true;
  char tmp[65536];
  const ssize_t n = ::recv(fd_, tmp, sizeof tmp, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    closed_ = true;
    return false;
  }
  if (n > 0) buf_.append(tmp, static_cast<std::size_t>(n));
  return true;
}

std::optional<RawFrame> RawConn::next(Ms timeout) {
  const auto end = Clock::now() + timeout;
  DecodeLimits lim;
  lim.max_body = 0xFFFFFFFFu;
  for (;;) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(buf_.data());
    const DecodeResult r = decode_frame(p, buf_.size(), lim);
    if (r.status == DecodeStatus::error) {
      bad_bytes_ = true;
      return std::nullopt;
    }
    if (r.status == DecodeStatus::frame) {
      RawFrame f;
      f.type = r.frame.header.type;
      f.rid = r.frame.header.request_id;
      f.size = r.size;
      if (r.frame.is_message()) {
        f.opcode = r.frame.message.opcode;
        f.id = std::string(r.frame.message.id);
        f.body = std::string(r.frame.message.payload_text());
      } else {
        f.body = std::string(r.frame.body_text());
      }
      buf_.erase(0, r.size);
      if (f.type == FrameType::ping) {
        ++pings_;
        if (answer_pings) send(frame(FrameType::reply, f.rid, {}));
        continue;
      }
      return f;
    }
    // At least one look at the socket, even with no time left.
    const std::size_t had = buf_.size();
    if (!read_some(Ms(std::min(ms_left(end), 200)))) return std::nullopt;
    if (buf_.size() == had && Clock::now() >= end) return std::nullopt;
  }
}

std::optional<RawFrame> RawConn::reply_to(std::uint16_t rid, Ms timeout) {
  const auto end = Clock::now() + timeout;
  for (;;) {
    auto f = next(Ms(ms_left(end)));
    if (!f) return std::nullopt;
    if ((f->type == FrameType::reply || f->type == FrameType::error) && f->rid == rid) return f;
  }
}

std::optional<RawFrame> RawConn::call(std::uint16_t rid, Opcode op, std::string_view id, std::string_view payload,
                                      Ms timeout) {
  if (!send(request(rid, op, id, payload), timeout)) return std::nullopt;
  return reply_to(rid, timeout);
}

bool RawConn::pump() {
  if (closed_) return false;
  if (framed && !bad_bytes_) {
    while (next(0ms)) ++dropped_;
    return !closed_;
  }
  read_some(0ms);
  // Keep the buffer from growing without bound on a chatty hub.
  if (buf_.size() > (64u << 20)) buf_.erase(0, buf_.size() - (1u << 20));
  return !closed_;
}

bool RawConn::wait_closed(Ms timeout) {
  const auto end = Clock::now() + timeout;
  for (;;) {
    if (!pump()) return true;
    if (Clock::now() >= end) return false;
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, std::min(ms_left(end), 100));
  }
}

int open_silent(std::uint16_t port) { return connect_to(port, 0, 0, true); }

HttpAnswer http_request(std::uint16_t port, std::string_view req, Ms timeout) {
  HttpAnswer a;
  auto c = RawConn::open(port, RawConn::Options{.connect_head = false});
  if (!c || !c->send(req, timeout)) return a;
  const auto end = Clock::now() + timeout;
  std::size_t head_end = std::string::npos;
  std::size_t want = std::string::npos;
  for (;;) {
    const std::string& b = c->raw();
    if (head_end == std::string::npos && (head_end = b.find("\r\n\r\n")) != std::string::npos) {
      head_end += 4;
      a.head = b.substr(0, head_end);
      std::string lower = a.head;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (const std::size_t cl = lower.find("\r\ncontent-length:"); cl != std::string::npos)
        want = head_end + std::strtoull(lower.c_str() + cl + 17, nullptr, 10);
    }
    if (want != std::string::npos && b.size() >= want) break;
    if (Clock::now() >= end) break;
    if (!c->read_some(Ms(std::min(ms_left(end), 100)))) {
      a.closed = true;
      break;
    }
  }
  // Then the hub should close (it does after every plain HTTP answer).
  if (!a.closed) {
    const int left = ms_left(end);
    a.closed = c->wait_closed(Ms(left < 2000 ? std::max(left, 1) : 2000));
  }
  const std::string& b = c->raw();
  a.status = b.substr(0, b.find("\r\n"));
  if (head_end != std::string::npos) a.body = b.substr(head_end, want == std::string::npos ? std::string::npos : want - head_end);
  return a;
}

// ---------------------------------------------------------------- ScriptedDock

ScriptedDock::ScriptedDock(std::uint16_t port, std::string id, Script script, bool answer_pings,
                           std::string tags_json)
    : id_(std::move(id)), script_(std::move(script)) {
  conn_ = RawConn::dock(port, id_, tags_json);
  ok_ = conn_ != nullptr;
  if (!ok_) return;
  conn_->answer_pings = false;  // run() decides
  silent_.store(!answer_pings);
  thread_ = std::thread([this] { run(); });
}

ScriptedDock::~ScriptedDock() { stop(); }

void ScriptedDock::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> ScriptedDock::calls() {
  std::lock_guard l(mu_);
  return calls_;
}

std::size_t ScriptedDock::count(Opcode op) {
  const std::string prefix = std::string(to_string(op)) + ":";
  std::size_t n = 0;
  for (const auto& c : calls())
    if (c.compare(0, prefix.size(), prefix) == 0) ++n;
  return n;
}

bool ScriptedDock::send(std::string_view bytes) {
  std::lock_guard l(io_);
  return conn_ && !conn_->closed() && conn_->send(bytes);
}

void ScriptedDock::run() {
  while (!stop_.load()) {
    std::optional<RawFrame> f;
    {
      // One writer at a time: next() may answer a ping.
      std::lock_guard l(io_);
      conn_->answer_pings = !silent_.load();
      f = conn_->next(20ms);
    }
    if (!f) {
      if (conn_->closed()) {
        hub_closed_.store(true);
        return;
      }
      continue;
    }
    if (f->type != FrameType::request) continue;
    {
      std::lock_guard l(mu_);
      calls_.push_back(std::string(to_string(static_cast<Opcode>(f->opcode))) + ":" + f->id);
    }
    const Answer a = script_(*f);
    std::lock_guard l(io_);
    switch (a.act) {
      case Act::ok: conn_->send(frame(FrameType::reply, f->rid, a.body)); break;
      case Act::error: conn_->send(frame(FrameType::error, f->rid, a.body)); break;
      case Act::none: break;
      case Act::close:
        conn_->shutdown_write();
        hub_closed_.store(true);
        return;
    }
  }
}

}  // namespace hms::attack
