// hms-log-feeder: the log_tail benchmark's docks. Measures how many
// log lines a tailing CLI (ours or the reference's) prints per second.
//
//   hms-log-feeder --hub 127.0.0.1:10002 --cli-pid PID [--docks 4]
//       [--payload 64] [--warmup 1] [--duration 3] [--window 200000]
//
// `docks` connections handshake as docks (dock-00, ...) and, once the hub
// has subscribed them (a client tails '*' or web), write stdout frames for
// service `web`, each payload one line of `payload` bytes ('\n' included).
// What the CLI printed is read from /proc/PID/io (wchar: bytes it wrote,
// /dev/null included), so its stdout can go to /dev/null as in real use.
// The length of one formatted line is measured first (one line sent, the
// wchar step it causes); all docks' ids have the same length, so every line
// has that length.
//
// Closed loop, never unbounded: at most `window` lines are in flight (sent,
// not yet printed), so the hub's output queue to the CLI stays far below its
// limits however slow the CLI is. The rate is lines printed during
// `duration` seconds after `warmup`. Prints `metric lines_per_s <value>`
// (and the line length). Exits 1 when the CLI printed nothing.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "hms/frame.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "log_feeder: %s\n", msg.c_str());
  std::exit(2);
}

long long wchar_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  long long v;
  while (in >> key >> v)
    if (key == "wchar:") return v;
  return -1;
}

std::string frame(hms::FrameType t, std::uint16_t rid, hms::Opcode op, const std::string& id, const std::string& body) {
  std::string out(hms::message_head_size(id.size()), '\0');
  hms::encode_message_head(reinterpret_cast<std::uint8_t*>(out.data()), t, rid, op, id, body.size());
  return out + body;
}

std::string reply(std::uint16_t rid, const std::string& body) {
  std::string out(hms::kHeaderSize, '\0');
  hms::encode_header(reinterpret_cast<std::uint8_t*>(out.data()), hms::FrameType::reply, rid,
                     static_cast<std::uint32_t>(body.size()));
  return out + body;
}

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t w = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    if (w <= 0) die("write to the hub failed");
    off += static_cast<std::size_t>(w);
  }
}

struct Dock {
  int fd = -1;
  std::string id;
  std::string in;  // received, not yet decoded
  bool subscribed = false;
};

// Answers whatever the hub asked (subscribe, ping, ps...).
void serve(Dock& d) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(d.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) die("the hub closed " + d.id);
    if (n < 0) break;
    d.in.append(buf, static_cast<std::size_t>(n));
  }
  std::size_t pos = 0;
  for (;;) {
    const auto r = hms::decode_frame(reinterpret_cast<const std::uint8_t*>(d.in.data()) + pos, d.in.size() - pos,
                                     hms::DecodeLimits{});
    if (r.status != hms::DecodeStatus::frame) break;
    pos += r.size;
    const auto& f = r.frame;
    if (f.header.type == hms::FrameType::ping) {
      write_all(d.fd, reply(f.header.request_id, ""));
    } else if (f.header.type == hms::FrameType::request) {
      const auto op = static_cast<hms::Opcode>(f.message.opcode);
      if (op == hms::Opcode::subscribe) d.subscribed = true;
      if (op == hms::Opcode::unsubscribe) d.subscribed = false;
      write_all(d.fd, reply(f.header.request_id, op == hms::Opcode::ps ? "[{\"id\":\"" + d.id + "\",\"list\":[]}]"
                                                 : op == hms::Opcode::list ? "[]" : ""));
    }
  }
  d.in.erase(0, pos);
}

int connect_dock(const std::string& host, int port, const std::string& id) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) die("--hub wants ipv4:port");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("cannot connect to the hub");
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // The CONNECT upgrade first: the reference terminal takes nothing else.
  write_all(fd, "CONNECT / HTTP/1.1\r\norigin: " + id + "\r\nHost: " + host + "\r\nConnection: keep-alive\r\n\r\n");
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (::recv(fd, &c, 1, 0) != 1) die("no answer to CONNECT");
    head += c;
  }
  write_all(fd, frame(hms::FrameType::request, 0, hms::Opcode::handshake, "",
                      R"({"type":"dock","id":")" + id + R"(","tags":[],"default":false,"version":"bench","protocol":1})"));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  std::string hub = "127.0.0.1:10002";
  int cli_pid = 0;
  unsigned docks = 4;
  std::size_t payload = 64;
  double warmup = 1, duration = 3;
  long long window = 200000;
  CLI::App app{"Feeds log lines to a tailing hms CLI through a hub and measures the lines it prints per second"};
  app.add_option("--hub", hub, "Hub host:port (IPv4)")->capture_default_str();
  app.add_option("--cli-pid", cli_pid, "The tailing CLI's pid (its /proc/PID/io)")->required();
  app.add_option("--docks", docks, "Docks sending")->capture_default_str();
  app.add_option("--payload", payload, "Bytes per line, newline included")->capture_default_str();
  app.add_option("--warmup", warmup, "Seconds before measuring")->capture_default_str();
  app.add_option("--duration", duration, "Seconds measured")->capture_default_str();
  app.add_option("--window", window, "Lines in flight at most")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const std::size_t colon = hub.rfind(':');
  const std::string host = hub.substr(0, colon);
  const int port = std::stoi(hub.substr(colon + 1));

  std::vector<Dock> ds(docks);
  for (unsigned i = 0; i < docks; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "dock-%02u", i);
    ds[i].id = name;
    ds[i].fd = connect_dock(host, port, name);
  }
  // Wait for the hub to subscribe every dock (the CLI subscribed).
  const auto up_by = Clock::now() + 20s;
  for (;;) {
    bool all = true;
    for (auto& d : ds) {
      serve(d);
      all = all && d.subscribed;
    }
    if (all) break;
    if (Clock::now() > up_by) die("the docks were never subscribed (is the CLI tailing?)");
    std::this_thread::sleep_for(2ms);
  }

  // One line, to learn what one printed line costs in wchar.
  const std::string line = std::string(payload - 1, 'x') + "\n";
  const long long base0 = wchar_of(cli_pid);
  if (base0 < 0) die("cannot read /proc/" + std::to_string(cli_pid) + "/io");
  std::vector<std::string> one(docks);
  for (unsigned i = 0; i < docks; ++i) {
    one[i].resize(hms::message_head_size(3 + 1 + ds[i].id.size()));
    hms::encode_event_head(reinterpret_cast<std::uint8_t*>(one[i].data()), hms::Opcode::stdout_, "web", ds[i].id,
                           line.size());
    one[i] += line;
  }
  write_all(ds[0].fd, one[0]);
  long long base = base0;
  const auto cal_by = Clock::now() + 10s;
  while ((base = wchar_of(cli_pid)) == base0) {
    if (Clock::now() > cal_by) die("the CLI printed nothing");
    serve(ds[0]);
    std::this_thread::sleep_for(1ms);
  }
  const long long line_len = base - base0;

  // Batches of frames per dock, written whole.
  constexpr int kBatch = 512;
  std::vector<std::string> batch(docks);
  for (unsigned i = 0; i < docks; ++i)
    for (int k = 0; k < kBatch; ++k) batch[i] += one[i];

  long long sent = 1;
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  const auto measure_to = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
  long long w_from = -1, w_to = -1;
  unsigned next = 0;
  while (Clock::now() < measure_to) {
    const long long w = wchar_of(cli_pid);
    if (w < 0) die("the CLI is gone");
    if (w_from < 0 && Clock::now() >= measure_from) w_from = w;
    const long long printed = (w - base) / line_len + 1;
    if (sent - printed + kBatch <= window) {
      Dock& d = ds[next++ % docks];
      write_all(d.fd, batch[&d - ds.data()]);
      sent += kBatch;
    } else {
      std::this_thread::sleep_for(100us);
    }
    for (auto& d : ds) serve(d);
  }
  w_to = wchar_of(cli_pid);
  const double lines = static_cast<double>(w_to - w_from) / static_cast<double>(line_len);
  std::printf("line_bytes %lld\nmetric lines_per_s %.0f\n", line_len, lines / duration);
  for (auto& d : ds) ::close(d.fd);
  return lines > 0 ? 0 : 1;
}
